"""Scheduled system jobs: every period of a cron schedule runs once across all nodes, run by "system"."""

from __future__ import annotations

import datetime as dt
import logging

import croniter

from jobdeck.runner.registry import JobType, Registry
from jobdeck.store import jobs, schedules
from jobdeck.store.database import Database

log = logging.getLogger(__name__)


def latest_period(expression: str, now: dt.datetime) -> dt.datetime:
    """The most recent time at or before `now` that the cron expression names (UTC)."""
    return croniter.croniter(expression, now + dt.timedelta(microseconds=1)).get_prev(dt.datetime)  # type: ignore[no-any-return]


def tick(db: Database, registry: Registry) -> list[int]:
    """Enqueue the due period of every scheduled job type that no node has enqueued yet; returns job ids.

    Winning a period and enqueuing its job happen in one transaction, so a crash in between loses
    neither; a node that was down for several periods runs only the latest one (no backlog storm).
    """
    started: list[int] = []
    for job_type in registry.all():
        if job_type.schedule is None:
            continue
        job_id = _tick_one(db, job_type)
        if job_id is not None:
            started.append(job_id)
    return started


def _tick_one(db: Database, job_type: JobType) -> int | None:
    assert job_type.schedule is not None
    with db.read() as conn:  # the usual answer is "not due yet": find it out without a write lock
        last = schedules.last_period(conn, job_type.name)
        if last is not None and latest_period(job_type.schedule, schedules.database_now(conn)) <= last:
            return None
    with db.write() as conn:
        now = schedules.database_now(conn)
        period = latest_period(job_type.schedule, now)
        if schedules.last_period(conn, job_type.name) is None:
            schedules.start_tracking(conn, job_type.name, period)
            return None
        if not schedules.claim_period(conn, job_type.name, period):
            return None
        params = job_type.validate_params({})
        new = job_type.new_job(
            params,
            description=f"{job_type.description_for(params)} (scheduled {period:%Y-%m-%d %H:%M} UTC)",
            idempotency_key=f"schedule:{job_type.name}:{period.isoformat()}",
        )
        job_id = jobs.submit(db, new, conn)
    log.info("scheduled %s for %s as job %s", job_type.name, period.isoformat(), job_id)
    return job_id
