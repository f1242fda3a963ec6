"""Submitting jobs and reading one back: get, its subtasks, files and log. (Listing: store/listing.py.)"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.dialects import postgresql, sqlite

from jobdeck import errors, model
from jobdeck.store import inserts, rows, schema
from jobdeck.store.database import NOTIFY_CHANNEL, Database

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
    #: a unique type's key: while a job of this type with this key is queued or in progress, no other is added
    unique_key: str | None = None


def _not_before(new: NewJob) -> dt.datetime | None:
    return rows.to_db_time(new.not_before) if new.not_before is not None else None


def _values(new: NewJob) -> dict[str, Any]:
    return {
        "type": new.type,
        "tab": new.tab.value,
        "description": new.description[:1000],
        "status": model.Status.QUEUED.value,
        "params": new.params,
        "run_by_id": new.run_by_id,
        "run_by_user": new.run_by_id,
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
        "unique_key": new.unique_key,
    }


def submit(db: Database, new: NewJob, conn: sa.Connection | None = None) -> int:
    """Enqueue one job and return its id; inside `conn`'s transaction when given, so it commits with the caller's rows.

    A job whose idempotency key is already in the ledger is not enqueued again: the existing id is returned.
    """
    return submit_many(db, [new], conn)[0]


#: From this many jobs a PostgreSQL batch goes by COPY instead of one INSERT of arrays: measured on a loaded
#: 2-core machine, arrays win at 100 jobs (COPY's two extra round trips), COPY from 300 on (+15% at 1,000).
COPY_THRESHOLD = 500


def submit_many(db: Database | None, news: Sequence[NewJob], conn: sa.Connection | None = None) -> list[int]:
    """Enqueue several jobs, all or none; returns their ids in order. `db` may be None when `conn` is given
    (an application's own connection): then only other processes are woken."""
    if conn is None:
        if db is None:
            raise ValueError("submit_many needs a database or a connection")
        if len(news) == 1 and not _keyed(news[0]):
            return [_submit_alone(db, news[0])]
        with db.write() as own:
            return submit_many(db, news, own)
    if not news:
        return []
    if any(_keyed(n) for n in news):
        # One statement per job, in order: each may meet the job that already holds its key.
        outcomes = [_insert_keyed(conn, new) for new in news]
        if any(created for _, created in outcomes):
            _wake(db, conn)
        return [job_id for job_id, _ in outcomes]
    values = [_values(new) for new in news]
    if len(values) == 1:
        ids = [inserts.insert_one(conn, values[0])]
    elif conn.dialect.name != "postgresql":
        ids = inserts.insert_rows_sqlite(conn, values)
    elif len(values) >= COPY_THRESHOLD:
        ids = inserts.insert_rows_copy(conn, values)
    else:
        ids = inserts.insert_rows_unnest(conn, values)
    _wake(db, conn)
    return ids


def _keyed(new: NewJob) -> bool:
    return bool(new.unique_key or new.idempotency_key)


def _submit_alone(db: Database, new: NewJob) -> int:
    """One job in a transaction of its own: one statement, committed by itself (durably, as any commit),
    which on PostgreSQL also sends the workers' NOTIFY: one round trip instead of four."""
    job_id = inserts.insert_alone(db, _values(new))
    db.wake_listeners()
    return job_id


#: The statuses among which a unique key is unique (the partial index ux_jobs_unique_key).
ACTIVE = (model.Status.QUEUED.value, model.Status.IN_PROGRESS.value)
#: Inserts a keyed job tries before giving up: each miss means the job it met finished in between.
KEYED_TRIES = 5


def _insert_keyed(conn: sa.Connection, new: NewJob) -> tuple[int, bool]:
    """Insert a job with an idempotency or unique key, or find the job that already holds the key: (id, created).

    ON CONFLICT DO NOTHING lets concurrent enqueues of the same key race safely: on PostgreSQL the loser waits
    for the winner's transaction and then inserts nothing, and its next statement (a new snapshot) sees the
    winner's row; SQLite has one writer at a time."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(j).values(**inserts.computed()).on_conflict_do_nothing().returning(j.c.id)
    values = _values(new)
    for _ in range(KEYED_TRIES):
        new_id = conn.execute(stmt, values).scalar()
        if new_id is not None:
            return int(new_id), True
        existing = _holder(conn, new)
        if existing is not None:
            return existing, False
    raise errors.DatabaseFailed(f"Could not enqueue {new.type}: its key kept being taken and released.")


def _holder(conn: sa.Connection, new: NewJob) -> int | None:
    """The job that holds `new`'s idempotency key (any status) or its unique key (queued or in progress)."""
    if new.idempotency_key:
        found = conn.execute(sa.select(j.c.id).where(j.c.idempotency_key == new.idempotency_key)).scalar()
        if found is not None:
            return int(found)
    if new.unique_key:
        held = j.c.type == new.type, j.c.unique_key == new.unique_key, j.c.status.in_(ACTIVE)
        found = conn.execute(sa.select(j.c.id).where(*held).order_by(j.c.id).limit(1)).scalar()
        if found is not None:
            return int(found)
    return None


def _wake(db: Database | None, conn: sa.Connection) -> None:
    """Wake workers for new jobs: through the Database when there is one (it also wakes this process's
    workers), else by NOTIFY alone on PostgreSQL (SQLite workers elsewhere see the file change)."""
    if db is not None:
        db.notify_new_work(conn)
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"NOTIFY {NOTIFY_CHANNEL}")


#: What the application API takes as "the caller's transaction": a Connection or an ORM Session.
Transactional = sa.Connection | sqlalchemy.orm.Session


def connection_of(transactional: Transactional) -> sa.Connection:
    """The Connection of a caller's Connection or Session, in the transaction the caller is in (a Session
    begins one if it had none, as any of its statements would)."""
    if isinstance(transactional, sa.Connection):
        return transactional
    if isinstance(transactional, sqlalchemy.orm.Session):
        return transactional.connection()
    raise TypeError(f"connection= takes a SQLAlchemy Connection or Session, not {type(transactional).__name__}")


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
