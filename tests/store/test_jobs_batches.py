"""How jobs reach the table: one job alone as one statement committed by itself, a batch as multi-row VALUES
(SQLite) or arrays and, from COPY_THRESHOLD jobs, COPY (PostgreSQL). Whatever the path, the rows are the same."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import inserts, jobs, schema, users
from jobdeck.store.database import NOTIFY_CHANNEL, Database

j = schema.jobs
#: Columns that differ between two enqueues of the same job by nature: the id and the times they were made.
PER_ENQUEUE = {"id", "created_at", "not_before"}
#: Large enough to go by COPY on PostgreSQL and to span several multi-row statements on SQLite.
LARGE = max(jobs.COPY_THRESHOLD, 3 * inserts.SQLITE_ROWS_PER_STATEMENT) + 7


def _rows(db: Database, ids: list[int]) -> list[dict[str, Any]]:
    with db.read() as conn:
        found = conn.execute(sa.select(j).where(j.c.id.in_(ids)).order_by(j.c.id)).mappings().all()
    return [dict(r) for r in found]


def _alike(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in PER_ENQUEUE}


def _new(i: int, run_by_id: int | None = None) -> jobs.NewJob:
    return jobs.NewJob(
        type="export_orders",
        tab=model.Tab.IMPORTS if i % 2 else model.Tab.GENERAL,
        description=f"Export the orders of region {i}",
        params={"region": i, "names": ["n", "ø"], "nested": {"x": None}},
        run_by_id=run_by_id,
        run_at="/jobs" if i % 3 else None,
        queue="exports",
        priority=i % 5,
        max_attempts=3,
    )


def _user(db: Database, name: str) -> int:
    with db.write() as conn:
        return users.create(conn, name, name.title(), "x", is_admin=False).id


def test_a_large_batch_stores_the_same_rows_as_jobs_enqueued_one_at_a_time(db: Database) -> None:
    owner = _user(db, "olivia")
    news = [_new(i, owner if i % 4 else None) for i in range(LARGE)]
    alone = [jobs.submit(db, new) for new in news[:10]]
    batch = jobs.submit_many(db, news)
    assert [_alike(r) for r in _rows(db, batch)[:10]] == [_alike(r) for r in _rows(db, alone)]
    stored = _rows(db, batch)
    assert [r["description"] for r in stored] == [n.description for n in news]
    assert {r["run_by_name"] for r in stored} == {"olivia", ""}
    assert all(r["status"] == model.Status.QUEUED.value and r["attempt"] == 0 for r in stored)


def test_a_large_batch_returns_ascending_ids_in_the_order_of_its_jobs(db: Database) -> None:
    jobs.submit(db, _new(-1))  # the table is not empty: ids continue from the last one
    news = [_new(i) for i in range(LARGE)]
    ids = jobs.submit_many(db, news)
    assert ids == sorted(ids) and len(set(ids)) == LARGE
    with db.read() as conn:
        found = dict(conn.execute(sa.select(j.c.id, j.c.description).where(j.c.id.in_(ids))).all())
    assert [found[i] for i in ids] == [n.description for n in news]


def test_a_large_batch_delays_its_jobs_by_the_databases_clock(db: Database) -> None:
    at = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    news = [dataclasses.replace(_new(i), delay_seconds=3600.0) for i in range(LARGE - 1)]
    news.append(dataclasses.replace(_new(LARGE), not_before=at))
    stored = _rows(db, jobs.submit_many(db, news))
    for row in stored[:-1]:
        assert row["not_before"] - row["created_at"] == dt.timedelta(hours=1)
    assert _utc(stored[-1]["not_before"]) == at


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite gives back the UTC time it stores without its zone."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def test_a_large_batch_holding_a_known_idempotency_key_returns_the_existing_job_in_its_place(db: Database) -> None:
    first = jobs.submit(db, jobs.NewJob(type="nightly", idempotency_key="2031-05-06"))
    news = [_new(i) for i in range(LARGE)]
    news[5] = jobs.NewJob(type="nightly", idempotency_key="2031-05-06")
    ids = jobs.submit_many(db, news)
    assert ids[5] == first
    assert len(set(ids)) == LARGE
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(j)).scalar_one() == LARGE


def test_a_large_batch_of_a_unique_type_adds_one_job_per_key(db: Database) -> None:
    news = [jobs.NewJob(type="refresh", unique_key=f"k{i % 3}") for i in range(LARGE)]
    ids = jobs.submit_many(db, news)
    assert len(set(ids)) == 3
    assert ids[:3] == sorted(set(ids)) and ids[3:6] == ids[:3]


def test_a_large_batch_inside_the_callers_transaction_rolls_back_with_it(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as conn:
        jobs.submit_many(db, [_new(i) for i in range(LARGE)], conn)
        raise RuntimeError("the caller's business write failed")
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(j)).scalar_one() == 0


def test_a_job_enqueued_alone_wakes_this_processs_workers(db: Database) -> None:
    woken = threading.Event()
    db.add_wake_listener(woken.set)
    jobs.submit(db, jobs.NewJob(type="noop"))
    assert woken.is_set()


def test_a_job_enqueued_alone_notifies_postgresql_listeners(db: Database) -> None:
    if not db.is_postgresql:
        pytest.skip("SQLite workers in other processes see the file change, not a notification")
    listen_url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(listen_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        jobs.submit(db, jobs.NewJob(type="noop"))
        received = list(listener.notifies(timeout=60, stop_after=1))
    assert [n.channel for n in received] == [NOTIFY_CHANNEL]


def test_a_connection_that_enqueued_a_job_alone_goes_back_to_the_pool_transactional(database_url: str) -> None:
    db = Database(database_url, pool_size=1)
    try:
        jobs.submit(db, jobs.NewJob(type="noop"))
        with pytest.raises(RuntimeError), db.write() as conn:
            jobs.submit(db, jobs.NewJob(type="noop", description="rolled back"), conn)
            raise RuntimeError("the caller's business write failed")
        with db.read() as conn:
            assert conn.execute(sa.select(j.c.description)).scalars().all() == [""]
    finally:
        db.dispose()
