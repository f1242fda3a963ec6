"""The database handle: jobdeck's own errors for failed statements, the connection a loop holds, autocommit."""

from __future__ import annotations

import pathlib

import pytest
import sqlalchemy as sa

from jobdeck import errors
from jobdeck.store.database import Database, HeldConnection, translated_errors
from tests.conftest import wait_for


def break_a_constraint(conn: sa.Connection) -> None:
    conn.execute(sa.text("INSERT INTO workers (id) VALUES (NULL)"))


def test_a_failed_statement_raises_jobdecks_error_with_the_original_as_cause(db: Database) -> None:
    with pytest.raises(errors.DatabaseFailed) as caught, translated_errors(), db.write() as conn:
        break_a_constraint(conn)
    assert not isinstance(caught.value, errors.DatabaseUnavailable)
    assert isinstance(caught.value.__cause__, sa.exc.SQLAlchemyError)


def test_an_unreachable_database_is_unavailable_which_is_worth_retrying() -> None:
    db = Database("postgresql://nobody@127.0.0.1:1/none", pre_ping=False)
    try:
        with pytest.raises(errors.DatabaseUnavailable), translated_errors(), db.read() as conn:
            conn.execute(sa.text("SELECT 1"))
    finally:
        db.dispose()


def test_a_held_connection_survives_a_failed_transaction(db: Database) -> None:
    held = HeldConnection(db)
    with pytest.raises(errors.DatabaseFailed), held.write() as conn:
        break_a_constraint(conn)
    with held.write() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    held.close()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_pooled_connection_the_server_ended_is_replaced_at_checkout(db: Database) -> None:
    with db.read() as conn:
        ended_pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    admin = Database(db.url)
    try:
        with admin.write() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({ended_pid})")
        gone = f"SELECT 1 FROM pg_stat_activity WHERE pid = {ended_pid}"

        def ended() -> bool:
            with admin.read() as other:
                return not other.exec_driver_sql(gone).all()

        wait_for(ended, timeout=30)
    finally:
        admin.dispose()
    with translated_errors(), db.read() as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != ended_pid


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_live_pooled_connection_is_kept_at_checkout(db: Database) -> None:
    with db.read() as conn:
        first = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() == first


def test_a_large_sqlite_commit_stays_in_the_wal_until_a_later_checkpoint(tmp_path: pathlib.Path) -> None:
    # An import chunk dirties thousands of its key index's pages; copying them into the database file at
    # every commit (SQLite's default after 1,000 pages) wrote and synced each page twice per chunk.
    path = tmp_path / "ledger.sqlite3"
    database = Database(f"sqlite:///{path}", pool_size=1)
    try:
        with database.write() as conn:
            conn.exec_driver_sql("CREATE TABLE pages (body BLOB)")
        before = path.stat().st_size
        pages = 2_000  # twice SQLite's default threshold, a fifth of jobdeck's
        with database.write() as conn:
            conn.exec_driver_sql(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
                "INSERT INTO pages SELECT zeroblob(4000) FROM n",
                (pages,),
            )
        assert path.stat().st_size == before  # still in the WAL: not checkpointed at that commit
        assert pathlib.Path(f"{path}-wal").stat().st_size > pages * 4096
    finally:
        database.dispose()
