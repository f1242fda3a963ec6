"""The ledger counted in one read: what `jobdeck jobs stats`, the service and /metrics report."""

from __future__ import annotations

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import jobs, schema, stats
from jobdeck.store.database import Database


def test_stats_count_jobs_by_status_and_find_the_oldest_queued(db: Database) -> None:
    jobs.submit_many(db, [jobs.NewJob(type="noop") for _ in range(3)])
    with db.read() as conn:
        found = stats.stats(conn, live_within_s=30)
    assert found.by_status["queued"] == 3 and found.by_status["completed"] == 0
    assert found.oldest_queued_at is not None and found.live_workers == 0


def test_the_census_counts_jobs_by_status_and_type_and_queued_jobs_by_queue(db: Database) -> None:
    jobs.submit_many(db, [jobs.NewJob(type="noop"), jobs.NewJob(type="noop"), jobs.NewJob(type="sleep", queue="slow")])
    with db.write() as conn:
        conn.execute(sa.update(schema.jobs).where(schema.jobs.c.type == "sleep").values(status="failed"))
    with db.read() as conn:
        found = stats.census(conn)
    assert found.jobs == {("queued", "noop"): 2, ("failed", "sleep"): 1}
    assert set(found.queues) == {"default"} and found.queues["default"].depth == 2
    assert found.by_status() == {s.value: {"queued": 2, "failed": 1}.get(s.value, 0) for s in model.Status}
