"""The attempts history: a job's row holds its latest attempt (its number, worker, attempt_started_at, and once
it ended its status, ended_at and error); a row here keeps an earlier attempt, written when the job row is
about to be reused for the next one (a retry, a lost worker's requeue, a hand-back) or when the way it ended
is not the job's own status (a lost worker's last attempt).

So the claim stays one statement, and a job that runs once, as most do, ends with one update and no
insert: its history is read from its row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import rows, schema
from jobdeck.store.database import db_now

a = schema.job_attempts
j = schema.jobs
ERROR_MAX_CHARS = 4000


#: A finished job's status, as its last attempt's outcome.
ENDED_AS = {
    model.Status.COMPLETED: model.AttemptOutcome.SUCCEEDED,
    model.Status.FAILED: model.AttemptOutcome.FAILED,
    model.Status.CANCELLED: model.AttemptOutcome.CANCELLED,
}


def record_held(
    conn: sa.Connection, held: sa.ColumnElement[bool], outcome: model.AttemptOutcome, error: str | None
) -> list[int]:
    """Record the attempt that the jobs matching `held` (a fence) are running now, as it stands in their rows,
    as ended with `outcome`; returns their ids. The rows stay locked until commit (on PostgreSQL; SQLite has
    one writer), so the caller's update under the same fence then changes exactly these."""
    locked = sa.select(j.c.id).where(held)
    if conn.dialect.name == "postgresql":
        locked = locked.with_for_update()
    ids = list(conn.execute(locked).scalars())
    if ids:
        source = sa.select(
            j.c.id,
            j.c.attempt,
            j.c.worker_id,
            j.c.attempt_started_at,
            db_now(),
            sa.literal(outcome.value, sa.String),
            sa.literal(_clip(error), sa.Text),
        ).where(j.c.id.in_(ids))
        columns = ["job_id", "attempt", "worker_id", "started_at", "ended_at", "outcome", "error"]
        conn.execute(sa.insert(a).from_select(columns, source))
    return ids


def _clip(error: str | None) -> str | None:
    return error[:ERROR_MAX_CHARS] if error else None


def ever_retried(conn: sa.Connection, job_id: int) -> bool:
    """Whether some attempt of this job raised and was retried (it did not only lose its workers)."""
    stmt = sa.select(a.c.id).where(a.c.job_id == job_id, a.c.outcome == model.AttemptOutcome.RETRYING.value)
    return conn.execute(stmt.limit(1)).first() is not None


def for_job(conn: sa.Connection, job: model.Job) -> list[model.Attempt]:
    """Every attempt of the job, oldest first, the one running now (or the one it ended with) last."""
    result = conn.execute(sa.select(a).where(a.c.job_id == job.id).order_by(a.c.attempt, a.c.id))
    history = [_attempt(r._mapping) for r in result]
    latest = _latest(job)
    if latest is not None and all(h.attempt != latest.attempt for h in history):
        history.append(latest)
    return history


def _latest(job: model.Job) -> model.Attempt | None:
    """The attempt the job's row holds: running now, or ended as the job did; None if it never ran, or if
    it is queued again (its last run then has its own row)."""
    started = job.attempt_started_at or job.started_at
    if job.attempt < 1 or started is None:
        return None
    if job.status is model.Status.IN_PROGRESS:
        return model.Attempt(job.id, job.attempt, job.worker_id, started, None, None, None)
    outcome = ENDED_AS.get(job.status)
    if outcome is None:
        return None
    error = None if job.status is model.Status.COMPLETED else job.error
    return model.Attempt(job.id, job.attempt, job.worker_id, started, job.ended_at, outcome, error)


def _attempt(m: Any) -> model.Attempt:
    ended_at: dt.datetime | None = rows.utc(m["ended_at"])
    return model.Attempt(
        job_id=m["job_id"],
        attempt=m["attempt"],
        worker_id=m["worker_id"],
        started_at=rows.utc(m["started_at"]),
        ended_at=ended_at,
        outcome=model.AttemptOutcome(m["outcome"]),
        error=m["error"],
    )
