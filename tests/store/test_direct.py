"""One statement straight on the driver, as a transaction of its own (the lone enqueue's path)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from jobdeck import errors
from jobdeck.store import direct, schema
from jobdeck.store.database import Database, translated_errors


def insert_worker_sql(dialect: sa.Dialect) -> str:
    """A worker row's insert in the driver's own parameter style."""
    mark = "?" if dialect.name == "sqlite" else "%s"
    return (
        "INSERT INTO workers (id, hostname, pid, concurrency, started_at, heartbeat_at) "
        f"VALUES ({mark}, 'h', 1, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id"
    )


def insert_worker(db: Database, worker_id: str) -> list[tuple[object, ...]]:
    return direct.execute_alone(db, insert_worker_sql(db.engine.dialect), (worker_id,))


def insert_worker_on(conn: sa.Connection, worker_id: str) -> list[tuple[object, ...]]:
    return direct.execute_on(conn, insert_worker_sql(conn.dialect), (worker_id,))


def worker_ids(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(sa.select(schema.workers.c.id).order_by(schema.workers.c.id)).scalars())


def test_a_statement_alone_is_committed_when_it_returns_with_its_rows(db: Database) -> None:
    assert insert_worker(db, "w1") == [("w1",)]
    assert worker_ids(db) == ["w1"]


def test_a_failed_statement_alone_raises_jobdecks_error_and_writes_nothing(db: Database) -> None:
    insert_worker(db, "w1")
    with pytest.raises(errors.DatabaseFailed) as caught, translated_errors():
        insert_worker(db, "w1")
    assert not isinstance(caught.value, errors.DatabaseUnavailable)
    assert isinstance(caught.value.__cause__, sa.exc.IntegrityError)
    assert worker_ids(db) == ["w1"]


def test_the_connection_goes_back_to_the_pool_in_transactions_that_roll_back(db: Database) -> None:
    insert_worker(db, "w1")
    with pytest.raises(RuntimeError), db.write() as conn:
        conn.execute(sa.delete(schema.workers))
        raise RuntimeError("roll back")
    assert worker_ids(db) == ["w1"]


def test_a_failed_statement_alone_leaves_the_connection_usable(db: Database) -> None:
    insert_worker(db, "w1")
    with pytest.raises(sa.exc.IntegrityError):
        insert_worker(db, "w1")
    assert insert_worker(db, "w2") == [("w2",)]
    assert worker_ids(db) == ["w1", "w2"]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_connection_lost_mid_statement_is_unavailable_and_not_pooled_again(db: Database) -> None:
    with db.read() as conn:
        lost_pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with pytest.raises(errors.DatabaseUnavailable) as caught, translated_errors():
        direct.execute_alone(db, "SELECT pg_terminate_backend(pg_backend_pid())", ())
    assert isinstance(caught.value.__cause__, sa.exc.DBAPIError)
    assert caught.value.__cause__.connection_invalidated, "the lost connection must be marked invalidated"
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != lost_pid


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_connection_lost_under_a_connection_invalidates_it(db: Database) -> None:
    with db.engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError) as caught:
            direct.execute_on(conn, "SELECT pg_terminate_backend(pg_backend_pid())", ())
        assert caught.value.connection_invalidated
        assert conn.invalidated


def test_a_statement_on_a_connections_driver_is_part_of_its_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as conn:
        assert insert_worker_on(conn, "w1") == [("w1",)]
        raise RuntimeError("roll back")
    assert worker_ids(db) == []
    with db.write() as conn:
        insert_worker_on(conn, "w2")
    assert worker_ids(db) == ["w2"]


def test_a_failed_statement_on_a_connections_driver_raises_jobdecks_error(db: Database) -> None:
    insert_worker(db, "w1")
    with pytest.raises(errors.DatabaseFailed) as caught, translated_errors(), db.write() as conn:
        insert_worker_on(conn, "w1")
    assert isinstance(caught.value.__cause__, sa.exc.IntegrityError)


def test_cursor_event_listeners_see_a_statement_on_a_connections_driver(db: Database) -> None:
    seen: list[str] = []
    with db.write() as conn:
        sa.event.listen(conn, "before_cursor_execute", lambda *args: seen.append(args[2]))
        sa.event.listen(conn, "after_cursor_execute", lambda *args: seen.append("after"))
        insert_worker_on(conn, "w1")
    assert len(seen) == 2 and seen[0].startswith("INSERT INTO workers") and seen[1] == "after"
