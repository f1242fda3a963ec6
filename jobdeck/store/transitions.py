"""Writes to jobs a worker holds, each fenced by its lease: a stale worker's write changes nothing.

The fence is one predicate (`_fence`): a fenced UPDATE carries it in its WHERE clause; an INSERT
(a log line, a subtask, a file) first takes the job row under it (`hold`). Every fenced write says
whether the lease held; what a lost lease means is the caller's business."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from jobdeck import model
from jobdeck.store import attempts, direct, schema
from jobdeck.store.database import db_now

j = schema.jobs
s = schema.subtasks
ERROR_MAX_CHARS = 4000
IN_PROGRESS = model.Status.IN_PROGRESS.value


def _fence(ids: sa.ColumnElement[bool], token: sa.ColumnElement[str] | str) -> sa.ColumnElement[bool]:
    """The jobs matched by `ids` that are still In Progress under this lease token."""
    return sa.and_(ids, j.c.lease_token == token, j.c.status == IN_PROGRESS)


def _held(lease: model.Lease) -> sa.ColumnElement[bool]:
    return _fence(j.c.id == lease.job_id, lease.token)


def hold(conn: sa.Connection, lease: model.Lease) -> bool:
    """Whether the lease holds, for a transaction of the job's own writes; on PostgreSQL the row stays
    share-locked until commit, so the reaper (which skips locked rows) cannot take it from under them."""
    stmt = sa.select(j.c.id).where(_held(lease))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(read=True)
    return conn.execute(stmt).first() is not None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a run ended, as the worker reports it."""

    job_id: int
    lease_token: str
    status: model.Status  #: completed, failed or cancelled; queued: raised, to run again after `retry_in`
    error: str | None = None
    log: str | None = None  #: e.g. the traceback, for the job log (never for the page)
    retry_in: float = 0.0  #: seconds before a queued job's next attempt may be claimed

    @property
    def lease(self) -> model.Lease:
        return model.Lease(self.job_id, self.lease_token)


@functools.cache
def _finish_update(status: model.Status, postgresql: bool) -> sa.Update:
    """Built once per outcome and dialect: the hot path only binds the ids and the token. On PostgreSQL
    the ids travel as one array, so the SQL text (and its prepared plan) is the same for any batch size."""
    values: dict[str, object] = {"status": status.value, "ended_at": db_now(), "lease_expires_at": None}
    if status is model.Status.FAILED:
        values["failed_at"] = db_now()
        values["error"] = sa.bindparam("error", type_=sa.Text)
    elif status is model.Status.CANCELLED:
        values["error"] = sa.bindparam("error", type_=sa.Text)
    return (
        sa.update(j)
        .where(
            _fence(
                j.c.id == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.BigInteger)))
                if postgresql
                else j.c.id.in_(sa.bindparam("ids", expanding=True)),
                sa.bindparam("token", type_=sa.String),
            )
        )
        .values(**values)
        .returning(j.c.id)
    )


#: What a finish update is given at each execution.
FINISH_INPUTS = ("ids", "token", "error")


def _finish(conn: sa.Connection, status: model.Status, params: dict[str, object]) -> set[int]:
    """The ids the finish update changed. On PostgreSQL, where a finisher thread sends one per batch of
    runs, it goes straight to the driver (store/direct.py): its text is the same for any batch size."""
    if conn.dialect.name != "postgresql":
        return set(conn.execute(_finish_update(status, False), params).scalars())
    statement = direct.compiled(
        conn.dialect, f"finish.{status.value}", functools.partial(_finish_update, status, True), FINISH_INPUTS
    )
    return {int(row[0]) for row in direct.execute_on(conn, statement.sql, statement.parameters(params))}


def finish_many(conn: sa.Connection, outcomes: Sequence[Outcome]) -> set[int]:
    """Record the end of several runs; returns the ids whose write was accepted
    (lease still held)."""
    accepted = {o.job_id for o in outcomes if o.status is model.Status.QUEUED and _retry_later(conn, o)}
    groups: dict[tuple[str, model.Status, str | None], list[int]] = {}
    for o in outcomes:
        if o.status is not model.Status.QUEUED:
            groups.setdefault((o.lease_token, o.status, o.error), []).append(o.job_id)
    for (token, status, error), ids in groups.items():
        params: dict[str, object] = {"ids": ids, "token": token}
        text = None
        if status is not model.Status.COMPLETED:
            text = error or ("failed" if status is model.Status.FAILED else None)
            params["error"] = text[:ERROR_MAX_CHARS] if text else None
        # The attempt that ended stays in the job row (attempts.py reads it from there): no insert.
        changed = _finish(conn, status, params)
        accepted |= changed
        if changed and status is not model.Status.COMPLETED:  # a clean run closed its own subtasks
            close_open_subtasks(conn, changed, status, error)
    lines = [o for o in outcomes if o.log and o.job_id in accepted]
    if lines:
        conn.execute(
            sa.insert(schema.job_log).values(at=db_now()),
            [{"job_id": o.job_id, "level": "error", "message": o.log} for o in lines],
        )
    return accepted


def _retry_later(conn: sa.Connection, o: Outcome) -> bool:
    """Queue a job whose run raised for its next attempt, not claimed before its backoff is over; the run's
    attempt is recorded as retrying, with its error. False if the lease was lost."""
    if not attempts.record_held(conn, _held(o.lease), model.AttemptOutcome.RETRYING, o.error):
        return False
    conn.execute(
        sa.update(j)
        .where(_held(o.lease))
        .values(
            status=model.Status.QUEUED.value,
            worker_id=None,
            lease_token=None,
            lease_expires_at=None,
            not_before=db_now(o.retry_in),
        )
    )
    close_open_subtasks(conn, [o.job_id], model.Status.FAILED, o.error)
    return True


def close_open_subtasks(conn: sa.Connection, job_ids: Iterable[int], status: model.Status, message: str | None) -> None:
    """A job that ends leaves no subtask running: they fail with it (or complete with it)."""
    sub_status = model.SubtaskStatus.COMPLETED if status is model.Status.COMPLETED else model.SubtaskStatus.FAILED
    conn.execute(
        sa.update(s)
        .where(s.c.job_id.in_(list(job_ids)), s.c.status == model.SubtaskStatus.IN_PROGRESS.value)
        .values(
            status=sub_status.value,
            ended_at=db_now(),
            message=sa.func.coalesce(s.c.message, (message or "")[:ERROR_MAX_CHARS] or None),
        )
    )


def release(conn: sa.Connection, job_ids: Sequence[int], token: str) -> set[int]:
    """Hand jobs back to the queue (graceful shutdown): the attempt does not count, so the job gets one more.
    Its number stays taken (the history and the subtasks keep the handed-back run apart from the next)."""
    held = _fence(j.c.id.in_(list(job_ids)), token)
    attempts.record_held(conn, held, model.AttemptOutcome.HANDED_BACK, "Worker stopped; the job was handed back")
    stmt = (
        sa.update(j)
        .where(held)
        .values(
            status=model.Status.QUEUED.value,
            worker_id=None,
            lease_token=None,
            lease_expires_at=None,
            max_attempts=j.c.max_attempts + 1,
        )
        .returning(j.c.id)
    )
    released = set(conn.execute(stmt).scalars())
    if released:
        close_open_subtasks(conn, released, model.Status.FAILED, "Worker stopped; the job was handed back")
    return released


def progress(conn: sa.Connection, lease: model.Lease, done: int, total: int | None) -> bool:
    result = conn.execute(sa.update(j).where(_held(lease)).values(progress_done=done, progress_total=total))
    return result.rowcount == 1


def describe(conn: sa.Connection, lease: model.Lease, description: str) -> bool:
    """Change a held job's description (say, to its final counts)."""
    result = conn.execute(sa.update(j).where(_held(lease)).values(description=description[:1000]))
    return result.rowcount == 1


def start_subtask(conn: sa.Connection, lease: model.Lease, name: str) -> int | None:
    """Open a subtask (the next seq) for a held job; None if the lease is gone."""
    if not hold(conn, lease):
        return None
    next_seq = (
        sa.select(sa.func.coalesce(sa.func.max(s.c.seq), 0) + 1).where(s.c.job_id == lease.job_id).scalar_subquery()
    )
    stmt = (
        sa.insert(s)
        .values(
            job_id=lease.job_id,
            attempt=sa.select(j.c.attempt).where(j.c.id == lease.job_id).scalar_subquery(),
            seq=next_seq,
            name=name[:300],
            status=model.SubtaskStatus.IN_PROGRESS.value,
            started_at=db_now(),
        )
        .returning(s.c.id)
    )
    return int(conn.execute(stmt).scalar_one())


def end_subtask(
    conn: sa.Connection,
    lease: model.Lease,
    subtask_id: int,
    status: model.SubtaskStatus,
    message: str | None = None,
) -> bool:
    if not hold(conn, lease):
        return False
    conn.execute(
        sa.update(s)
        .where(s.c.id == subtask_id, s.c.job_id == lease.job_id)
        .values(status=status.value, ended_at=db_now(), message=(message or None) and message[:ERROR_MAX_CHARS])
    )
    return True


def log(conn: sa.Connection, lease: model.Lease, level: str, message: str) -> bool:
    """A line in a held job's log."""
    if not hold(conn, lease):
        return False
    conn.execute(
        sa.insert(schema.job_log).values(job_id=lease.job_id, at=db_now(), level=level, message=message[:10_000])
    )
    return True


def attach_file(
    conn: sa.Connection,
    lease: model.Lease,
    kind: model.FileKind,
    name: str,
    content_type: str,
    size: int,
    sha256: str,
    storage_key: str,
) -> int | None:
    """List a stored file under a held job (an output, an error report); None if the lease is gone."""
    if not hold(conn, lease):
        return None
    return add_file(conn, lease.job_id, kind, name, content_type, size, sha256, storage_key)


def add_file(
    conn: sa.Connection,
    job_id: int,
    kind: model.FileKind,
    name: str,
    content_type: str,
    size: int,
    sha256: str,
    storage_key: str,
) -> int:
    """List a stored file under a job no worker holds yet (an upload, at submit time)."""
    stmt = (
        sa.insert(schema.job_files)
        .values(
            job_id=job_id,
            kind=kind.value,
            name=name[:255],
            content_type=content_type,
            size=size,
            sha256=sha256,
            storage_key=storage_key,
            created_at=db_now(),
        )
        .returning(schema.job_files.c.id)
    )
    return int(conn.execute(stmt).scalar_one())
