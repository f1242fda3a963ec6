"""Claiming queued jobs: one statement per batch, each batch under a fresh lease token."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import rows, schema
from jobdeck.store.database import Database, db_now

j = schema.jobs


def new_lease_token() -> str:
    return secrets.token_hex(16)


@functools.cache
def _claim_statement(postgresql: bool) -> sa.Update:
    """Built once per dialect: the hot path only binds values (no statement construction per batch)."""
    candidates = (
        sa.select(j.c.id)
        .where(j.c.status == model.Status.QUEUED.value, j.c.queue.in_(sa.bindparam("queues", expanding=True)))
        .order_by(j.c.queue, j.c.priority, j.c.id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
    if postgresql:
        # A materialized CTE runs the locking SELECT exactly once; as a plain IN (subquery) the
        # planner may re-run it and lock, and claim, more rows than LIMIT.
        chosen = candidates.with_for_update(skip_locked=True).cte("candidates").prefix_with("MATERIALIZED")
        target = j.c.id.in_(sa.select(chosen.c.id))
    else:
        target = j.c.id.in_(candidates.scalar_subquery())
    return (
        sa.update(j)
        .where(target, j.c.status == model.Status.QUEUED.value)
        .values(
            status=model.Status.IN_PROGRESS.value,
            worker_id=sa.bindparam("worker_id", type_=sa.String),
            lease_token=sa.bindparam("token", type_=sa.String),
            lease_expires_at=db_now(sa.bindparam("lease_seconds", type_=sa.Float)),
            attempt=j.c.attempt + 1,
            started_at=sa.func.coalesce(j.c.started_at, db_now()),
        )
        .returning(*j.c, sa.null().label("run_by"))
    )


def claim(
    db: Database,
    conn: sa.Connection,
    worker_id: str,
    limit: int,
    lease_seconds: float,
    queues: Sequence[str] = ("default",),
) -> list[model.Claimed]:
    """Take up to `limit` queued jobs, most urgent first (lowest priority number, then oldest), for this worker.

    PostgreSQL locks the candidates with FOR UPDATE SKIP LOCKED so concurrent claimers never wait on
    each other or take the same row; SQLite serialises writers (the caller's BEGIN IMMEDIATE).
    Lease times come from the database clock.
    """
    if limit <= 0:
        return []
    token = new_lease_token()
    result = conn.execute(
        _claim_statement(db.is_postgresql),
        {
            "queues": list(queues),
            "limit": limit,
            "worker_id": worker_id,
            "token": token,
            "lease_seconds": lease_seconds,
        },
    )
    claimed = [model.Claimed(job=rows.job(r), lease_token=token) for r in result]
    claimed.sort(key=lambda c: (c.job.priority, c.job.id))
    return claimed
