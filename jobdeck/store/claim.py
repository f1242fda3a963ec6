"""Claiming queued jobs: one statement per batch, each batch under a fresh lease token."""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import Sequence

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import direct, rows, schema
from jobdeck.store.database import Database, HeldConnection, db_now

j, q = schema.jobs, schema.queues


def new_lease_token() -> str:
    return secrets.token_hex(16)


#: What a claim is given at each execution, beside one `queue_N` per queue it claims from.
INPUTS = ("limit", "worker_id", "token", "lease_seconds")


@functools.cache
def _queue_names(queues: int) -> tuple[str, ...]:
    return tuple(f"queue_{n}" for n in range(queues))


def _claim_statement(postgresql: bool, queues: int) -> sa.Update:
    """The claim from `queues` queues (one parameter each: `IN (…)` over a list the planner can read, so
    that one queue is an equality that walks ix_jobs_claimable in its order)."""
    candidates = (
        sa.select(j.c.id)
        .where(
            j.c.status == model.Status.QUEUED.value,
            j.c.queue.in_([sa.bindparam(name, type_=sa.String) for name in _queue_names(queues)]),
            # a delayed job (or a retry waiting out its backoff) is not due before its time, by the database clock
            sa.or_(j.c.not_before.is_(None), j.c.not_before <= db_now()),
            # a paused queue is left out in the same statement (no round trip of its own per claim): a
            # primary-key probe of a table of a few rows, for the candidates the LIMIT reads
            ~sa.exists().where(q.c.name == j.c.queue, q.c.paused.is_(True)),
        )
        .order_by(j.c.queue, j.c.priority, j.c.id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
    if postgresql:
        # The locked ids travel as one array, computed once (an InitPlan) before the update runs, and the
        # update finds them by primary key. Its plan cannot depend on what the statistics say about how
        # many jobs are queued: as `id IN (subquery)` on a ledger analysed while nothing was queued, the
        # planner joins every queued row against the batch (a nested-loop semi join: queued x batch per
        # claim) until the table is analysed again. The outer statement repeats no `status` test on
        # purpose: the candidates are locked rows re-checked as queued under their lock, and a status
        # test would let the planner walk the partial queued index again instead of the primary key.
        locked = candidates.with_for_update(skip_locked=True).scalar_subquery()
        target = j.c.id == sa.any_(sa.func.array(locked))
        return _claim_update(target)
    return _claim_update(sa.and_(j.c.id.in_(candidates.scalar_subquery()), j.c.status == model.Status.QUEUED.value))


def _claim_update(target: sa.ColumnElement[bool]) -> sa.Update:
    return (
        sa.update(j)
        .where(target)
        .values(
            status=model.Status.IN_PROGRESS.value,
            worker_id=sa.bindparam("worker_id", type_=sa.String),
            lease_token=sa.bindparam("token", type_=sa.String),
            lease_expires_at=db_now(sa.bindparam("lease_seconds", type_=sa.Float)),
            attempt=j.c.attempt + 1,
            started_at=sa.func.coalesce(j.c.started_at, db_now()),
            attempt_started_at=db_now(),
            # a new attempt starts clean: an earlier attempt's progress is not this one's
            progress_done=0,
            progress_total=None,
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
    Lease times come from the database clock. Jobs of paused queues are left out by the statement itself.
    """
    if limit <= 0 or not queues:
        return []
    token = new_lease_token()
    names = _queue_names(len(queues))
    statement = direct.compiled(
        conn.dialect,
        f"claim.{len(names)}",
        functools.partial(_claim_statement, db.is_postgresql, len(names)),
        (*INPUTS, *names),
    )
    values = {"limit": limit, "worker_id": worker_id, "token": token, "lease_seconds": lease_seconds}
    values.update(zip(names, queues, strict=True))
    returned = direct.execute_on(conn, statement.sql, statement.parameters(values))
    claimed = [model.Claimed(job=rows.job_of(statement.mapping(r)), lease_token=token) for r in returned]
    claimed.sort(key=lambda c: (c.job.priority, c.job.id))
    return claimed


class ClaimConnection(HeldConnection):
    """PostgreSQL: the connection a worker loop claims on when it has no finished run to record, kept
    across claims. The claim is one statement, so it runs alone, in autocommit: no BEGIN and no COMMIT
    round trip between a notification and the job's start. The session does not wait for the claim's
    WAL to reach the disk (`synchronous_commit = off`): a claim lost in a crash of the database server
    leaves its jobs queued with no lease, and at-least-once delivery already covers a job that runs
    again. Enqueues and finishes are written elsewhere and stay durable (docs/scaling.md).
    A broken connection is dropped and the next claim opens a fresh one."""

    def _open(self) -> sa.Connection:
        conn = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("SET synchronous_commit = off")
        conn.commit()  # ends SQLAlchemy's autobegun (logical) transaction
        return conn

    def claiming(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """A logical transaction only: autocommit sends no BEGIN."""
        return self.write()

    def close(self, broken: bool = True) -> None:
        """Always dropped rather than returned to the pool: its session's settings must not reach the
        enqueues and finishes that would check it out next."""
        super().close(broken=True)
