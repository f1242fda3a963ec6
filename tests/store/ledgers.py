"""Ledgers in a given state, for the store's tests: jobs marked finished in place (listing and search tests), and a
PostgreSQL ledger in the state a real one is in between bursts, many finished jobs analysed while nothing was
queued (the claim-plan tests and bench/burst.py)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from jobdeck.store import jobs, schema
from jobdeck.store.database import Database


def complete_in_place(conn: sa.Connection, ids: Sequence[int]) -> None:
    """Mark these jobs completed, started and ended when they were created: a ledger whose time sorts see
    both empty and filled times, without running a worker."""
    j = schema.jobs
    conn.execute(
        sa.update(j)
        .where(j.c.id.in_(list(ids)))
        .values(status="completed", started_at=j.c.created_at, ended_at=j.c.created_at)
    )


def analyze(db: Database) -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE jobs")


def truncate(db: Database) -> None:
    # TRUNCATE keeps the column statistics: the planner still believes what the last ANALYZE saw.
    with db.write() as conn:
        conn.exec_driver_sql("TRUNCATE jobs RESTART IDENTITY CASCADE")


def enqueue_burst(db: Database, count: int) -> None:
    new = jobs.NewJob(type="noop")
    for done in range(0, count, 5_000):
        jobs.submit_many(db, [new] * min(5_000, count - done))


def fill_with_finished_jobs(db: Database, count: int) -> None:
    """`count` completed jobs in one statement, then VACUUM ANALYZE: statistics that say nothing is queued."""
    with db.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO jobs (type, tab, description, status, params, queue, priority, attempt, max_attempts,"
            " created_at, started_at, ended_at, progress_done, cancel_requested)"
            " SELECT 'noop', 'general', 'finished job ' || g, 'completed', '{}', 'default', 0, 1, 1,"
            " now() - interval '1 day', now() - interval '1 day', now() - interval '1 day', 0, false"
            " FROM generate_series(1, %(count)s) AS g",
            {"count": count},
        )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE jobs")
