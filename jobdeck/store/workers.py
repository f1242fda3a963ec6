"""Worker processes in the ledger: registration, the one-statement heartbeat, and reaping lost leases."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import attempts, schema
from jobdeck.store.database import Database, db_now
from jobdeck.store.transitions import close_open_subtasks

j = schema.jobs
w = schema.workers
IN_PROGRESS = model.Status.IN_PROGRESS.value
#: what the reaper knows of why a run ended: its worker went silent
NO_HEARTBEAT = "no heartbeat within its lease"


def register(conn: sa.Connection, worker_id: str, hostname: str, pid: int, concurrency: int) -> None:
    conn.execute(
        sa.insert(w).values(
            id=worker_id,
            hostname=hostname[:255],
            pid=pid,
            concurrency=concurrency,
            started_at=db_now(),
            heartbeat_at=db_now(),
        )
    )


def deregister(conn: sa.Connection, worker_id: str) -> None:
    conn.execute(sa.delete(w).where(w.c.id == worker_id))


@dataclasses.dataclass(frozen=True)
class Held:
    job_id: int
    lease_token: str
    cancel_requested: bool


def heartbeat(conn: sa.Connection, worker_id: str, lease_seconds: float) -> list[Held]:
    """Extend the leases of every job this worker still holds, in one statement; returns them, with
    their cancellation flags. A job missing from the answer was reclaimed: its run must be abandoned."""
    held_by_worker = sa.and_(j.c.worker_id == worker_id, j.c.status == IN_PROGRESS)
    if conn.dialect.name == "postgresql":
        # Lock the rows in id order, the order the finisher's batch update (id = ANY, by primary key) locks
        # them in: a plain update takes them in scan order, and the two can deadlock for a second until
        # PostgreSQL picks a loser.
        locked = sa.select(j.c.id).where(held_by_worker).order_by(j.c.id).with_for_update()
        held_by_worker = j.c.id.in_(locked.scalar_subquery())
    stmt = (
        sa.update(j)
        .where(held_by_worker)
        .values(lease_expires_at=db_now(lease_seconds))
        .returning(j.c.id, j.c.lease_token, j.c.cancel_requested)
    )
    held = [Held(r.id, r.lease_token, bool(r.cancel_requested)) for r in conn.execute(stmt)]
    conn.execute(sa.update(w).where(w.c.id == worker_id).values(heartbeat_at=db_now()))
    return held


@dataclasses.dataclass(frozen=True)
class Reaped:
    job_id: int
    requeued: bool
    message: str


def any_expired(conn: sa.Connection) -> bool:
    """Whether some lease has expired: a cheap read (the partial lease index) before taking a write lock."""
    stmt = sa.select(j.c.id).where(j.c.status == IN_PROGRESS, j.c.lease_expires_at < db_now()).limit(1)
    return conn.execute(stmt).first() is not None


def reap(db: Database, conn: sa.Connection, limit: int = 500) -> list[Reaped]:
    """Jobs whose lease expired: back to the queue while attempts remain, else Failed naming the lost worker."""
    stmt = (
        sa.select(j.c.id, j.c.lease_token, j.c.attempt, j.c.max_attempts, j.c.worker_id, w.c.hostname, w.c.pid)
        .select_from(j.outerjoin(w, w.c.id == j.c.worker_id))
        .where(j.c.status == IN_PROGRESS, j.c.lease_expires_at < db_now())
        .order_by(j.c.lease_expires_at)
        .limit(limit)
    )
    if db.is_postgresql:
        stmt = stmt.with_for_update(of=j, skip_locked=True)
    reaped: list[Reaped] = []
    for row in conn.execute(stmt).all():
        where = f"{row.hostname} pid {row.pid}" if row.hostname else f"worker {row.worker_id}"
        last = f"{row.hostname}, pid {row.pid}" if row.hostname else f"worker {row.worker_id}"
        held = sa.and_(j.c.id == row.id, j.c.lease_token == row.lease_token, j.c.status == IN_PROGRESS)
        if row.attempt < row.max_attempts:
            message = f"Worker lost ({where}); attempt {row.attempt} of {row.max_attempts}, requeued"
            attempts.record_held(conn, held, model.AttemptOutcome.LOST, message)
            changed = conn.execute(
                sa.update(j)
                .where(held)
                .values(status=model.Status.QUEUED.value, worker_id=None, lease_token=None, lease_expires_at=None)
            ).rowcount
        else:
            if attempts.ever_retried(conn, row.id):  # an attempt raised: not a job that only kills workers
                message = f"Worker lost ({where}) on attempt {row.attempt} of {row.max_attempts}; no attempts left"
            else:  # every counted run of it ended this way (a hand-back does not count)
                message = model.worker_stopped(row.attempt, last, NO_HEARTBEAT)
            attempts.record_held(conn, held, model.AttemptOutcome.LOST, message)
            changed = conn.execute(
                sa.update(j)
                .where(held)
                .values(
                    status=model.Status.FAILED.value,
                    ended_at=db_now(),
                    failed_at=db_now(),
                    lease_expires_at=None,
                    error=message,
                )
            ).rowcount
        if changed:
            close_open_subtasks(conn, [row.id], model.Status.FAILED, message)
            conn.execute(sa.insert(schema.job_log).values(job_id=row.id, at=db_now(), level="warning", message=message))
            reaped.append(Reaped(row.id, row.attempt < row.max_attempts, message))
    return reaped


def prune(conn: sa.Connection, silent_for_s: float) -> int:
    """Forget workers not heard from for a long time (their jobs are reaped by lease, not by this)."""
    return conn.execute(sa.delete(w).where(w.c.heartbeat_at < db_now(-silent_for_s))).rowcount


def live(conn: sa.Connection, within_s: float) -> list[sa.Row[tuple[str, str, int, int]]]:
    stmt = sa.select(w.c.id, w.c.hostname, w.c.pid, w.c.concurrency, w.c.started_at, w.c.heartbeat_at).where(
        w.c.heartbeat_at >= db_now(-within_s)
    )
    return list(conn.execute(stmt).all())  # type: ignore[arg-type]
