"""Imports: CSV and XLSX files into the tables that import targets declare."""
