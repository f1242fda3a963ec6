"""The audit trail: one row per cancel or retry of a job, written in the transaction of the action itself,
so an action is recorded exactly when it happened."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import cancelling, rows, schema
from jobdeck.store.database import db_now

e = schema.job_events
#: The name an action without a signed-in user is recorded under.
SYSTEM = "system"
DETAIL_MAX_CHARS = 1000


def record(
    conn: sa.Connection, job_id: int, actor: model.User | None, action: model.EventAction, detail: str = ""
) -> None:
    """Add an entry to a job's trail, timed by the database clock. The actor's id is kept only while it
    names a stored user (the console acts as a user that is not stored); their name is kept always."""
    record_many(conn, {job_id: detail}, actor, action)


def record_many(
    conn: sa.Connection, details: dict[int, str], actor: model.User | None, action: model.EventAction
) -> None:
    """One entry per job (job id -> its detail), by one actor, in one statement."""
    if not details:
        return
    actor_id = None
    if actor is not None:
        actor_id = (
            sa.select(schema.users.c.id).where(schema.users.c.id == actor.id).scalar_subquery()
        )  # NULL when no such user: the foreign key would refuse the number itself
    conn.execute(
        sa.insert(e).values(at=db_now(), actor_id=actor_id, actor=actor.username if actor is not None else SYSTEM),
        [
            {"job_id": job_id, "action": action, "detail": detail[:DETAIL_MAX_CHARS]}
            for job_id, detail in details.items()
        ],
    )


def cancel(
    conn: sa.Connection, job_id: int, actor: model.User | None, action: model.EventAction
) -> model.Status | None:
    """Cancel a job (cancelling.request_cancel) and record who did, in the caller's transaction: the status
    after, or None (and nothing recorded) when the job had already finished."""
    return cancel_many(conn, [job_id], actor, action).get(job_id)


def cancel_many(
    conn: sa.Connection, job_ids: Sequence[int], actor: model.User | None, action: model.EventAction
) -> dict[int, model.Status]:
    """cancel for several jobs, in a few statements: each one's status after; a finished job is left out."""
    after = cancelling.request_cancel_many(conn, job_ids)
    details = {job_id: "" if status is model.Status.CANCELLED else "asked to stop" for job_id, status in after.items()}
    record_many(conn, details, actor, action)
    return after


def events(conn: sa.Connection, job_id: int) -> list[model.JobEvent]:
    """A job's trail, oldest first."""
    found = conn.execute(sa.select(e).where(e.c.job_id == job_id).order_by(e.c.id)).all()
    return [_event(r._mapping) for r in found]


def _event(m: Any) -> model.JobEvent:
    at = rows.utc(m["at"])
    assert at is not None
    return model.JobEvent(
        id=m["id"],
        job_id=m["job_id"],
        at=at,
        actor_id=m["actor_id"],
        actor=m["actor"],
        action=cast(model.EventAction, m["action"]),
        detail=m["detail"],
    )
