"""The attempts history: one row per run of a job that ended, written in the transaction that ends it.

The attempt running now has no row yet; it is read from the job row (its attempt, worker and
attempt_started_at), so the claim stays one statement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
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


def record_ended(conn: sa.Connection, ended: Sequence[sa.Row[Any]], status: model.Status, error: str | None) -> None:
    """Insert the attempts of jobs that just finished with `status`, one row each from what the finishing
    update returned (id, attempt, worker_id, attempt_started_at, ended_at): one statement for the batch."""
    outcome = ENDED_AS[status].value
    values = [
        {
            "job_id": r.id,
            "attempt": r.attempt,
            "worker_id": r.worker_id,
            "started_at": r.attempt_started_at,
            "ended_at": r.ended_at,
            "outcome": outcome,
            "error": _clip(error),
        }
        for r in ended
    ]
    if values:
        conn.execute(sa.insert(a), values)


def insert_ended(ended: sa.CTE, status: model.Status) -> sa.Insert:
    """The attempts of the jobs a finishing update (`ended`, a CTE returning what `record_ended` reads)
    ended with `status`, inserted by the same statement; returns their job ids. The error is the update's
    own `error` parameter (already clipped), none for a completed run."""
    error = sa.bindparam("error", type_=sa.Text) if status is not model.Status.COMPLETED else sa.null()
    columns = ["job_id", "attempt", "worker_id", "started_at", "ended_at", "outcome", "error"]
    source = sa.select(
        ended.c.id,
        ended.c.attempt,
        ended.c.worker_id,
        ended.c.attempt_started_at,
        ended.c.ended_at,
        sa.literal(ENDED_AS[status].value, sa.String),
        error,
    )
    return sa.insert(a).from_select(columns, source).returning(a.c.job_id)


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
    """Every attempt of the job, oldest first, the one running now last."""
    result = conn.execute(sa.select(a).where(a.c.job_id == job.id).order_by(a.c.attempt, a.c.id))
    history = [_attempt(r._mapping) for r in result]
    if job.status is model.Status.IN_PROGRESS:
        history.append(
            model.Attempt(
                job.id, job.attempt, job.worker_id, job.attempt_started_at or job.started_at, None, None, None
            )
        )
    return history


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
