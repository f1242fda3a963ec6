"""The chunk writer on both databases: new keys inserted, known keys updated, the counts telling them apart."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from jobdeck.demo import imports as demo
from jobdeck.imports import targets, writer
from jobdeck.store.database import Database

COLUMNS = ["first_name", "last_name", "email", "phone", "company", "country", "created_on"]


def contact(n: int, first: str = "Ada") -> tuple[str | None, ...]:
    return (first, "Lovelace", f"ada.{n}@example.com", None, "Engines\tLtd", "GB", "2020-01-31")


@pytest.fixture
def contacts(db: Database) -> Iterator[writer.Writer]:
    """A writer of every contacts column into an empty contacts table."""
    targets.ensure_tables(db)
    with db.write() as conn:
        conn.execute(demo.contacts_table.delete())
    yield writer.Writer(targets.TARGETS.get("contacts"), COLUMNS, db.engine.dialect)


def stored(db: Database) -> list[tuple[str, str]]:
    table = demo.contacts_table
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(sa.select(table.c.email, table.c.first_name).order_by(table.c.email))]


def test_a_chunk_of_new_keys_is_counted_created(db: Database, contacts: writer.Writer) -> None:
    with db.write() as conn:
        assert contacts.write(conn, [contact(n) for n in range(3)]) == (3, 0)
    assert stored(db) == [(f"ada.{n}@example.com", "Ada") for n in range(3)]


def test_a_chunk_that_meets_known_keys_updates_them_and_inserts_the_rest(db: Database, contacts: writer.Writer) -> None:
    with db.write() as conn:
        contacts.write(conn, [contact(n) for n in range(2)])
    with db.write() as conn:
        # the known key comes last, so a plain insert of the chunk would fail only at its end
        assert contacts.write(conn, [contact(5, "Grace"), contact(1, "Grace")]) == (1, 1)
    assert stored(db) == [("ada.0@example.com", "Ada"), ("ada.1@example.com", "Grace"), ("ada.5@example.com", "Grace")]


def test_chunks_after_one_that_met_a_known_key_still_insert_new_keys(db: Database, contacts: writer.Writer) -> None:
    with db.write() as conn:
        contacts.write(conn, [contact(0)])
    with db.write() as conn:
        assert contacts.write(conn, [contact(0, "Grace")]) == (0, 1)
    with db.write() as conn:
        assert contacts.write(conn, [contact(1), contact(2)]) == (2, 0)
    assert [email for email, _ in stored(db)] == [f"ada.{n}@example.com" for n in range(3)]


def test_a_refused_chunk_writes_none_of_its_rows(db: Database, contacts: writer.Writer) -> None:
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.IntegrityError)), db.write() as conn:
        contacts.write(conn, [contact(0), (None, *contact(1)[1:])])  # first_name is NOT NULL
    assert stored(db) == []


def test_copy_text_escapes_tabs_and_backslashes_and_writes_nulls_as_backslash_n(contacts: writer.Writer) -> None:
    text = contacts.copy_text([("A\\b", "L", "a@x.io", None, "Co\tLtd", "GB", None)])
    assert text == "A\\\\b\tL\ta@x.io\t\\N\tCo\\tLtd\tGB\t\\N\n"


def test_a_chunk_of_several_statements_rows_is_written_and_counted_exactly(
    db: Database, contacts: writer.Writer
) -> None:
    known = [contact(n) for n in range(0, 3 * writer.ROWS_PER_STATEMENT, 7)]
    with db.write() as conn:
        contacts.write(conn, known)
    chunk = [contact(n, "Grace") for n in range(3 * writer.ROWS_PER_STATEMENT + 3)]  # whole statements and a rest
    with db.write() as conn:
        assert contacts.write(conn, chunk) == (len(chunk) - len(known), len(known))
    assert sorted(stored(db)) == sorted((f"ada.{n}@example.com", "Grace") for n in range(len(chunk)))


@pytest.mark.parametrize("backend", ["sqlite"])  # SQLite's limit on a statement's parameters
def test_sqlite_rows_per_statement_stay_within_the_connections_parameter_limit(
    db: Database, contacts: writer.Writer
) -> None:
    with db.write() as conn:
        driver = conn.connection.dbapi_connection
        assert isinstance(driver, sqlite3.Connection)
        before = driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 2 * len(COLUMNS))  # two rows' worth
        try:
            # more rows than one full statement holds, so a statement of ROWS_PER_STATEMENT rows would be refused
            count = writer.ROWS_PER_STATEMENT + 3
            assert contacts.write(conn, [contact(n) for n in range(count)]) == (count, 0)
        finally:
            driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, before)
    assert len(stored(db)) == writer.ROWS_PER_STATEMENT + 3
