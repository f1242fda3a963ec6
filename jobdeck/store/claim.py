"""Claiming queued jobs: one statement per batch, each batch under a fresh lease token."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import rows, schema
from jobdeck.store.database import Database, db_now

j = schema.jobs


def new_lease_token() -> str:
    return secrets.token_hex(16)


def claim(
    db: Database,
    conn: sa.Connection,
    worker_id: str,
    limit: int,
    lease_seconds: float,
    queues: Sequence[str] = ("default",),
) -> list[model.Claimed]:
    """Take up to `limit` queued jobs, most urgent first, for this worker.

    PostgreSQL locks the candidates with FOR UPDATE SKIP LOCKED so concurrent claimers never wait on
    each other or take the same row; SQLite serialises writers (the caller's BEGIN IMMEDIATE).
    Lease times come from the database clock.
    """
    if limit <= 0:
        return []
    candidates = (
        sa.select(j.c.id)
        .where(j.c.status == model.Status.QUEUED.value, j.c.queue.in_(list(queues)))
        .order_by(j.c.queue, j.c.priority, j.c.id)
        .limit(limit)
    )
    if db.is_postgresql:
        # A materialized CTE runs the locking SELECT exactly once; as a plain IN (subquery) the
        # planner may re-run it and lock, and claim, more rows than LIMIT.
        chosen = candidates.with_for_update(skip_locked=True).cte("candidates").prefix_with("MATERIALIZED")
        target = j.c.id.in_(sa.select(chosen.c.id))
    else:
        target = j.c.id.in_(candidates.scalar_subquery())
    token = new_lease_token()
    stmt = (
        sa.update(j)
        .where(target, j.c.status == model.Status.QUEUED.value)
        .values(
            status=model.Status.IN_PROGRESS.value,
            worker_id=worker_id,
            lease_token=token,
            lease_expires_at=db_now(lease_seconds),
            attempt=j.c.attempt + 1,
            started_at=sa.func.coalesce(j.c.started_at, db_now()),
        )
        .returning(*j.c, sa.null().label("run_by"))
    )
    claimed = [model.Claimed(job=rows.job(r), lease_token=token) for r in conn.execute(stmt)]
    claimed.sort(key=lambda c: (c.job.priority, c.job.id))
    return claimed
