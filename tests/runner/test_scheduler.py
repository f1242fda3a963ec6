"""Scheduled jobs: each period runs exactly once across all workers, as a system job."""

from __future__ import annotations

import collections
import threading
import time

import pytest
import sqlalchemy as sa

from jobdeck import files, model, settings
from jobdeck.runner import scheduler
from jobdeck.runner.context import JobContext
from jobdeck.runner.options import WorkerOptions
from jobdeck.runner.registry import Registry
from jobdeck.runner.worker import Worker
from jobdeck.store import schema
from jobdeck.store.database import Database
from tests.conftest import wait_for


@pytest.fixture
def registry() -> Registry:
    reg = Registry()

    @reg.job_type("every_second", title="Tick", schedule="* * * * * */1")
    def every_second(ctx: JobContext) -> None:
        """Does nothing, every second."""

    return reg


def scheduled_rows(db: Database) -> list[sa.Row[tuple[str | None, int | None, str]]]:
    j = schema.jobs
    with db.read() as conn:
        return list(conn.execute(sa.select(j.c.idempotency_key, j.c.run_by_id, j.c.status)).all())  # type: ignore[arg-type]


def test_a_schedule_seen_for_the_first_time_starts_from_the_next_period(db: Database, registry: Registry) -> None:
    assert scheduler.tick(db, registry) == []
    assert scheduled_rows(db) == []


def test_the_next_period_is_enqueued_once_as_a_system_job(db: Database, registry: Registry) -> None:
    scheduler.tick(db, registry)
    time.sleep(1.1)
    first = scheduler.tick(db, registry)
    again = scheduler.tick(db, registry)
    assert len(first) == 1 and not set(again) & set(first)
    # The second tick usually falls in the same second and adds nothing; on a slow machine it may fall in
    # the next one and add that period: never the first period again.
    rows = scheduled_rows(db)
    assert len(rows) == 1 + len(again) and len({key for key, _, _ in rows}) == len(rows)
    for key, run_by, status in rows:
        assert key is not None and key.startswith("schedule:every_second:") and run_by is None and status == "queued"


def test_three_workers_run_each_period_exactly_once(db: Database, registry: Registry, tmp_path: object) -> None:
    store = files.LocalFileStore(tmp_path / "files")  # type: ignore[operator]
    options = WorkerOptions.from_settings(
        settings.load(), concurrency=1, schedule_seconds=0.05, heartbeat_seconds=0.2, poll_seconds=0.1
    )
    workers = [Worker(db, store, registry, options) for _ in range(3)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    done = model.Status.COMPLETED.value
    try:
        wait_for(lambda: sum(status == done for _, _, status in scheduled_rows(db)) >= 3, timeout=60)
    finally:
        for w in workers:
            w.stop(1)
        for t in threads:
            t.join()
    rows = scheduled_rows(db)
    per_period = collections.Counter(key for key, _, _ in rows)
    assert set(per_period.values()) == {1}
    # A period enqueued just as the workers stopped stays queued for the next worker: it is not lost.
    assert {status for _, _, status in rows} <= {done, model.Status.QUEUED.value}


def test_a_bad_cron_expression_is_refused_at_registration() -> None:
    reg = Registry()
    with pytest.raises(ValueError, match="cron"):
        reg.job_type("bad", schedule="every tuesday")(lambda ctx: None)
