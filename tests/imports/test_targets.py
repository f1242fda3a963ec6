"""Targets from an application's own tables: columns, types, required, lengths and key read from a Table,
declared or reflected from the database, and rows validated and written against it."""

from __future__ import annotations

import enum
from decimal import Decimal

import pytest
import sqlalchemy as sa

from jobdeck.imports import mapping, tables, validate, writer
from jobdeck.imports.targets import Column
from jobdeck.store.database import Database


class Tier(enum.Enum):
    gold = "gold"
    silver = "silver"


def suppliers(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "app_suppliers",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(20), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(254)),
        sa.Column("rating", sa.SmallInteger),
        sa.Column("credit", sa.Numeric(8, 2), nullable=False, server_default="0"),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("since", sa.Date),
        sa.Column("tier", sa.Enum(Tier)),
        sa.Column("notes", sa.Text),
    )


def columns_by_name(target: object) -> dict[str, Column]:
    return {c.name: c for c in target.columns}  # type: ignore[attr-defined]


def test_a_table_gives_each_column_its_type_required_length_and_bounds() -> None:
    target = tables.from_table(suppliers(sa.MetaData()), name="suppliers", title="Suppliers")
    cols = columns_by_name(target)
    assert list(cols) == ["code", "name", "contact_email", "rating", "credit", "active", "since", "tier", "notes"]
    assert (cols["code"].type, cols["code"].required, cols["code"].max_length) == ("text", True, 20)
    assert (cols["contact_email"].required, cols["contact_email"].max_length) == (False, 254)
    assert (cols["rating"].type, cols["rating"].minimum, cols["rating"].maximum) == ("int", -32768, 32767)
    assert (cols["credit"].type, cols["credit"].places, cols["credit"].required) == ("decimal", 2, False)
    assert Decimal(cols["credit"].maximum) >= Decimal("999999.99") > Decimal(cols["credit"].maximum) - Decimal("0.01")
    assert (cols["active"].type, cols["active"].required) == ("bool", True)
    assert cols["since"].type == "date"
    assert cols["tier"].allowed == ("gold", "silver")
    assert (cols["notes"].type, cols["notes"].max_length) == ("text", None)
    assert target.key == ("code",)


def test_aliases_and_overrides_are_added_to_what_the_table_says() -> None:
    target = tables.from_table(
        suppliers(sa.MetaData()),
        aliases={"code": ("Supplier Code", "Lieferantennummer")},
        overrides={"contact_email": {"type": "email", "normalize": ("trim", "lower")}},
        exclude=["notes"],
    )
    cols = columns_by_name(target)
    assert cols["code"].aliases == ("Supplier Code", "Lieferantennummer")
    assert cols["contact_email"].type == "email"
    assert "notes" not in cols
    assert target.name == "app_suppliers"
    found = mapping.match_columns(target, ["Lieferantennummer", "Name", "Active"])
    assert found.ok


def test_rows_are_validated_against_the_table() -> None:
    target = tables.from_table(suppliers(sa.MetaData()))
    found = mapping.match_columns(target, ["code", "name", "credit", "active", "rating", "tier"])
    columns, indexes = mapping.used_columns(target, found)
    pick = mapping.picker(indexes)
    checker = validate.RowChecker(target, columns)
    try:
        good, problems = checker.check(1, pick(["ACME", "Acme Ltd", "999999.99", "yes", "5", "gold"]))
        assert problems == []
        assert good == ("ACME", "Acme Ltd", 5, "999999.99", True, "gold")
        _, problems = checker.check(2, pick(["X" * 21, "", "1000000.00", "maybe", "40000", "bronze"]))
    finally:
        checker.close()
    assert [(p.column, p.code) for p in problems] == [
        ("code", "too_long"),
        ("name", "required"),
        ("rating", "too_large"),
        ("credit", "too_large"),
        ("active", "bad_bool"),
        ("tier", "not_allowed"),
    ]


def test_a_table_without_a_unique_key_among_the_imported_columns_needs_one_named() -> None:
    table = sa.Table(
        "app_notes", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("body", sa.Text)
    )
    with pytest.raises(ValueError, match="no unique constraint"):
        tables.from_table(table)
    assert tables.from_table(table, key=["body"]).key == ("body",)


def test_a_natural_primary_key_is_the_key() -> None:
    table = sa.Table(
        "app_countries",
        sa.MetaData(),
        sa.Column("iso", sa.String(2), primary_key=True),
        sa.Column("name", sa.String(80)),
    )
    target = tables.from_table(table)
    assert target.key == ("iso",)
    assert [c.name for c in target.columns] == ["iso", "name"]


def test_a_column_of_a_type_imports_do_not_read_must_be_left_out() -> None:
    table = suppliers(sa.MetaData())
    table.append_column(sa.Column("updated_at", sa.DateTime))
    with pytest.raises(ValueError, match=r"'updated_at'.*leave it out"):
        tables.from_table(table)
    assert "updated_at" not in columns_by_name(tables.from_table(table, exclude=["updated_at"]))


def test_a_strict_target_from_a_table_refuses_extra_file_columns() -> None:
    target = tables.from_table(suppliers(sa.MetaData()), strict=True)
    found = mapping.match_columns(target, ["code", "name", "active", "Comment"])
    assert found.errors and "'Comment'" in found.errors[0]


def test_a_table_reflected_from_the_database_imports_like_the_declared_one(db: Database) -> None:
    declared = suppliers(sa.MetaData())
    with db.write() as conn:
        declared.create(conn)
    try:
        reflected = tables.from_database(db, "app_suppliers", overrides={"tier": {"allowed": ("gold", "silver")}})
        expected = tables.from_table(declared)
        for mine, theirs in zip(reflected.columns[:-2], expected.columns[:-2], strict=True):  # not tier, notes
            assert (mine.name, mine.type, mine.required, mine.max_length, mine.places) == (
                theirs.name,
                theirs.type,
                theirs.required,
                theirs.max_length,
                theirs.places,
            )
        assert reflected.key == ("code",)
        found = mapping.match_columns(reflected, ["Code", "Name", "Active", "Credit", "Since"])
        columns, indexes = mapping.used_columns(reflected, found)
        pick = mapping.picker(indexes)
        checker = validate.RowChecker(reflected, columns)
        rows = [["ACME", "Acme", "yes", "12.50", "2020-01-31"], ["BOLT", "Bolt & Co", "no", "0", ""]]
        valid, rejected = checker.check_batch([(n, pick(r)) for n, r in enumerate(rows, start=1)])
        checker.close()
        assert rejected == []
        out = writer.Writer(reflected, [c.name for c in columns], db.engine.dialect)
        with db.write() as conn:
            assert out.write(conn, valid) == (2, 0)
        with db.read() as conn:
            stored = conn.execute(sa.select(declared.c.code, declared.c.credit, declared.c.active).order_by("code"))
            assert [tuple(r) for r in stored] == [("ACME", Decimal("12.50"), True), ("BOLT", Decimal("0.00"), False)]
    finally:
        with db.write() as conn:
            declared.drop(conn)
