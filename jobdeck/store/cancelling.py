"""Cancelling jobs: a queued job ends Cancelled at once; a running one is asked to stop (its worker sees the
flag at its next heartbeat or check and ends it); a finished job is left as it is."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import schema
from jobdeck.store.database import db_now

j = schema.jobs
IN_PROGRESS = model.Status.IN_PROGRESS.value


def request_cancel(conn: sa.Connection, job_id: int) -> model.Status | None:
    """Cancel a queued job now, or ask a running one to stop; returns the status after, or None if it was
    already finished."""
    return request_cancel_many(conn, [job_id]).get(job_id)


def request_cancel_many(conn: sa.Connection, job_ids: Sequence[int]) -> dict[int, model.Status]:
    """request_cancel for several jobs, two statements in all: each one's status after (CANCELLED for a job
    that was queued, IN_PROGRESS for a running one asked to stop); a job already finished is left out."""
    ids = list(job_ids)
    if not ids:
        return {}
    cancelled = conn.execute(
        sa.update(j)
        .where(j.c.id.in_(ids), j.c.status == model.Status.QUEUED.value)
        .values(status=model.Status.CANCELLED.value, ended_at=db_now(), cancel_requested=True)
        .returning(j.c.id)
    ).scalars()
    after = dict.fromkeys(cancelled, model.Status.CANCELLED)
    rest = [i for i in ids if i not in after]
    if not rest:
        return after
    asked = conn.execute(
        sa.update(j).where(j.c.id.in_(rest), j.c.status == IN_PROGRESS).values(cancel_requested=True).returning(j.c.id)
    ).scalars()
    after.update(dict.fromkeys(asked, model.Status.IN_PROGRESS))
    return after
