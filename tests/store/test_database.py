"""The database handle: jobdeck's own errors for failed statements, the connection a loop holds, autocommit."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from jobdeck import errors
from jobdeck.store import schema
from jobdeck.store.database import Database, HeldConnection, translated_errors


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


def test_a_statement_on_an_autocommit_connection_is_committed_when_it_returns(db: Database) -> None:
    now = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    row = {"id": "w1", "hostname": "h", "pid": 1, "concurrency": 1, "started_at": now, "heartbeat_at": now}
    with db.autocommit() as conn:
        conn.execute(sa.insert(schema.workers).values(row))
        with db.read() as other:
            assert other.execute(sa.select(schema.workers.c.id)).scalars().all() == ["w1"]
