"""A PostgreSQL ledger in the state a real one is in between bursts: many finished jobs, analysed while nothing
was queued. Shared by the claim-plan tests and bench/burst.py."""

from __future__ import annotations

from jobdeck.store import jobs
from jobdeck.store.database import Database


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
