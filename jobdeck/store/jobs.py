"""Submitting jobs and reading one back: get, its subtasks, files and log. (Listing: store/listing.py.)"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from jobdeck import errors, model
from jobdeck.store import rows, schema
from jobdeck.store.database import Database, db_now

j = schema.jobs


@dataclasses.dataclass(frozen=True)
class NewJob:
    """What it takes to enqueue a job."""

    type: str
    tab: model.Tab = model.Tab.GENERAL
    description: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    run_by_id: int | None = None  #: None: started by the system
    run_at: str | None = None  #: relative path of the page it was started from
    queue: str = "default"
    priority: int = 0  #: lower runs first
    max_attempts: int = 1
    idempotency_key: str | None = None
    retry_of: int | None = None
    #: not claimed before this time (UTC when naive); a time in the past runs it as soon as a worker is free
    not_before: dt.datetime | None = None
    #: or not before this many seconds from now, by the database's clock (when not_before is None)
    delay_seconds: float | None = None


def _not_before(new: NewJob) -> dt.datetime | None:
    return rows.to_db_time(new.not_before) if new.not_before is not None else None


#: A delayed job's time: the absolute one given, or now plus the delay by the database's clock (NULL: none).
_NOT_BEFORE = sa.func.coalesce(
    sa.bindparam("not_before_at", type_=j.c.not_before.type),
    db_now(sa.bindparam("delay_seconds", type_=sa.Float)),
)


def _values(new: NewJob) -> dict[str, Any]:
    return {
        "type": new.type,
        "tab": new.tab.value,
        "description": new.description[:1000],
        "status": model.Status.QUEUED.value,
        "params": new.params,
        "run_by_id": new.run_by_id,
        "run_at": new.run_at,
        "queue": new.queue,
        "priority": new.priority,
        "attempt": 0,
        "max_attempts": new.max_attempts,
        "progress_done": 0,
        "cancel_requested": False,
        "retry_of": new.retry_of,
        "idempotency_key": new.idempotency_key,
        "not_before_at": _not_before(new),
        "delay_seconds": new.delay_seconds if new.not_before is None else None,
    }


def submit(db: Database, new: NewJob, conn: sa.Connection | None = None) -> int:
    """Enqueue one job and return its id; inside `conn`'s transaction when given, so it commits with the caller's rows.

    A job whose idempotency key is already in the ledger is not enqueued again: the existing id is returned.
    """
    return submit_many(db, [new], conn)[0]


def submit_many(db: Database, news: Sequence[NewJob], conn: sa.Connection | None = None) -> list[int]:
    """Enqueue several jobs in one statement; returns their ids in order."""
    if conn is None:
        with db.write() as own:
            return submit_many(db, news, own)
    ids: list[int | None] = [None] * len(news)
    keys = [n.idempotency_key for n in news if n.idempotency_key]
    if keys:
        existing = dict(conn.execute(sa.select(j.c.idempotency_key, j.c.id).where(j.c.idempotency_key.in_(keys))).all())
        for i, new in enumerate(news):
            if new.idempotency_key in existing:
                ids[i] = existing[new.idempotency_key]
    pending = [i for i, value in enumerate(ids) if value is None]
    if pending:
        values = [_values(news[i]) for i in pending]
        if db.is_postgresql and len(values) > 1:
            new_ids = _insert_unnest(conn, values)
        else:
            stmt = (
                sa.insert(j)
                .values(created_at=db_now(), not_before=_NOT_BEFORE)
                .returning(j.c.id, sort_by_parameter_order=True)
            )
            new_ids = list(conn.execute(stmt, values).scalars())
        for i, new_id in zip(pending, new_ids, strict=True):
            ids[i] = new_id
        db.notify_new_work(conn)
    return [value for value in ids if value is not None]


#: Column and array type for the PostgreSQL batch insert.
_UNNEST_COLUMNS = {
    "type": "varchar",
    "tab": "varchar",
    "description": "varchar",
    "status": "varchar",
    "params": "jsonb",
    "run_by_id": "bigint",
    "run_at": "varchar",
    "queue": "varchar",
    "priority": "integer",
    "attempt": "integer",
    "max_attempts": "integer",
    "progress_done": "bigint",
    "cancel_requested": "boolean",
    "retry_of": "bigint",
    "idempotency_key": "varchar",
}
#: Arrays that feed a computed column: not_before, from an absolute time or a delay by the database's clock.
_UNNEST_INPUTS = {**_UNNEST_COLUMNS, "not_before_at": "timestamptz", "delay_seconds": "float8"}
_UNNEST_SQL = (
    f"INSERT INTO jobs ({', '.join(_UNNEST_COLUMNS)}, created_at, not_before) "  # nosec B608
    f"SELECT {', '.join(f'v.{c}' for c in _UNNEST_COLUMNS)}, clock_timestamp(), "
    "coalesce(v.not_before_at, clock_timestamp() + make_interval(secs => v.delay_seconds)) "
    f"FROM unnest({', '.join(f'%({c})s::{t}[]' for c, t in _UNNEST_INPUTS.items())}) "
    f"WITH ORDINALITY AS v({', '.join(_UNNEST_INPUTS)}, ord) ORDER BY v.ord RETURNING id"
)


def _insert_unnest(conn: sa.Connection, values: list[dict[str, Any]]) -> list[int]:
    """Many rows as one array per column: psycopg sends a few arrays instead of a statement with a
    parameter per cell. Rows reach the sequence in input order, so the sorted ids are in input order."""
    arrays = {c: [v[c] for v in values] for c in _UNNEST_INPUTS}
    arrays["params"] = [json.dumps(p) for p in arrays["params"]]
    return sorted(conn.exec_driver_sql(_UNNEST_SQL, arrays).scalars())


def get(conn: sa.Connection, job_id: int) -> model.Job:
    """The job with this id; raises JobNotFound."""
    row = conn.execute(rows.job_select().where(j.c.id == job_id)).first()
    if row is None:
        raise errors.JobNotFound()
    return rows.job(row)


def subtasks(conn: sa.Connection, job_id: int, attempt: int | None = None) -> list[model.Subtask]:
    """The job's subtasks in order: every attempt's, or those one attempt wrote."""
    s = schema.subtasks
    stmt = sa.select(s).where(s.c.job_id == job_id)
    if attempt is not None:
        stmt = stmt.where(s.c.attempt == attempt)
    result = conn.execute(stmt.order_by(s.c.seq))
    return [rows.subtask(r) for r in result]


def files(conn: sa.Connection, job_id: int) -> list[model.JobFile]:
    f = schema.job_files
    result = conn.execute(sa.select(f).where(f.c.job_id == job_id).order_by(f.c.id))
    return [rows.job_file(r) for r in result]


def get_file(conn: sa.Connection, job_id: int, file_id: int) -> model.JobFile:
    """A file of this job; raises FileNotFound (also when the file belongs to another job)."""
    f = schema.job_files
    row = conn.execute(sa.select(f).where(f.c.id == file_id, f.c.job_id == job_id)).first()
    if row is None:
        raise errors.FileNotFound()
    return rows.job_file(row)


def log_lines(conn: sa.Connection, job_id: int, limit: int = 1000) -> list[model.LogLine]:
    log = schema.job_log
    result = conn.execute(sa.select(log).where(log.c.job_id == job_id).order_by(log.c.id).limit(limit))
    return [rows.log_line(r) for r in result]


def completed_subtask_names(conn: sa.Connection, job_id: int) -> set[str]:
    """Every attempt's completed subtasks: what a resumed job (an import) skips."""
    s = schema.subtasks
    stmt = sa.select(s.c.name).where(s.c.job_id == job_id, s.c.status == model.SubtaskStatus.COMPLETED.value)
    return set(conn.execute(stmt).scalars())
