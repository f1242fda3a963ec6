"""The only package that speaks SQL."""

from jobdeck.store.database import Database, db_now

__all__ = ["Database", "db_now"]
