"""Submitting jobs and reading them back: get, keyset-paginated listing, details, stats."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from jobdeck import errors, model
from jobdeck.store import rows, schema, search
from jobdeck.store.database import Database, db_now

j = schema.jobs
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_PAGE = 500


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
            stmt = sa.insert(j).values(created_at=db_now()).returning(j.c.id, sort_by_parameter_order=True)
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
_UNNEST_SQL = (
    f"INSERT INTO jobs ({', '.join(_UNNEST_COLUMNS)}, created_at) "  # nosec B608
    f"SELECT {', '.join(f'v.{c}' for c in _UNNEST_COLUMNS)}, clock_timestamp() "
    f"FROM unnest({', '.join(f'%({c})s::{t}[]' for c, t in _UNNEST_COLUMNS.items())}) "
    f"WITH ORDINALITY AS v({', '.join(_UNNEST_COLUMNS)}, ord) ORDER BY v.ord RETURNING id"
)


def _insert_unnest(conn: sa.Connection, values: list[dict[str, Any]]) -> list[int]:
    """Many rows as one array per column: psycopg sends a few arrays instead of a statement with a
    parameter per cell. Rows reach the sequence in input order, so the sorted ids are in input order."""
    arrays = {c: [v[c] for v in values] for c in _UNNEST_COLUMNS}
    arrays["params"] = [json.dumps(p) for p in arrays["params"]]
    return sorted(conn.exec_driver_sql(_UNNEST_SQL, arrays).scalars())


def get(conn: sa.Connection, job_id: int) -> model.Job:
    """The job with this id; raises JobNotFound."""
    row = conn.execute(rows.job_select().where(j.c.id == job_id)).first()
    if row is None:
        raise errors.JobNotFound()
    return rows.job(row)


@dataclasses.dataclass(frozen=True)
class JobFilter:
    """What a listing shows; `visible_to` restricts it to one user's jobs (the visibility rule)."""

    tab: model.Tab | None = None
    statuses: tuple[model.Status, ...] = ()
    type: str | None = None
    run_by: str | None = None  #: username
    q: str | None = None  #: a job id or words of the description
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    visible_to: int | None = None  #: a user id; None lists everyone's jobs


def _nullable(column: sa.ColumnElement[Any], fallback: Any) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(column, sa.literal(fallback, column.type))


SORTS: dict[str, sa.ColumnElement[Any]] = {
    "id": j.c.id,
    "type": j.c.type,
    "description": j.c.description,
    "status": j.c.status,
    "created_at": j.c.created_at,
    # The same expressions as the sort indexes in schema.TIME_SORT_INDEXES.
    "started_at": schema.time_or_epoch(j.c.started_at),
    "ended_at": schema.time_or_epoch(j.c.ended_at),
    "failed_at": schema.time_or_epoch(j.c.failed_at),
    "run_by": _nullable(schema.users.c.username, ""),
}
TIME_SORTS = {"created_at", "started_at", "ended_at", "failed_at"}


def _encode_cursor(sort: str, order: str, value: Any, last_id: int) -> str:
    if isinstance(value, dt.datetime):
        value = rows.utc(value).isoformat()  # type: ignore[union-attr]
    raw = json.dumps([sort, order, value, last_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str, order: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        c_sort, c_order, value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if (c_sort, c_order) != (sort, order) or not isinstance(last_id, int):
            raise ValueError("cursor of another listing")
        if sort in TIME_SORTS:
            value = rows.to_db_time(dt.datetime.fromisoformat(value))
        elif sort == "id" and not isinstance(value, int):
            raise ValueError("bad id")
        elif sort != "id" and not isinstance(value, str):
            raise ValueError("bad value")
        return value, last_id
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise errors.InvalidCursor() from exc


#: Ids follow creation order to within a statement's duration; bounds taken this far outside a date
#: range are safely outside it, so an id range can prune the grid's (tab, id) scan exactly.
ID_ORDER_SLACK = dt.timedelta(seconds=60)
NO_ID = 0
ALL_IDS = 2**62


def _id_before(start: dt.datetime) -> sa.ColumnElement[int]:
    """An id lower than every job created at or after `start`: one probe of the created_at index."""
    probe = (
        sa.select(j.c.id)
        .where(j.c.created_at < start - ID_ORDER_SLACK)
        .order_by(j.c.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    return sa.func.coalesce(probe, NO_ID)


def _id_after(end: dt.datetime) -> sa.ColumnElement[int]:
    """An id higher than every job created before `end`."""
    probe = (
        sa.select(j.c.id)
        .where(j.c.created_at >= end + ID_ORDER_SLACK)
        .order_by(j.c.created_at)
        .limit(1)
        .scalar_subquery()
    )
    return sa.func.coalesce(probe, ALL_IDS)


def _where(flt: JobFilter) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if flt.visible_to is not None:
        clauses.append(j.c.run_by_id == flt.visible_to)
    if flt.tab is not None:
        clauses.append(j.c.tab == flt.tab.value)
    if flt.statuses:
        clauses.append(j.c.status.in_([s.value for s in flt.statuses]))
    if flt.type:
        clauses.append(j.c.type == flt.type)
    if flt.run_by:
        clauses.append(schema.users.c.username == flt.run_by)
    if flt.created_from:
        start = rows.to_db_time(flt.created_from)
        clauses.append(j.c.created_at >= start)
        clauses.append(j.c.id > _id_before(start))
    if flt.created_to:
        end = rows.to_db_time(flt.created_to)
        clauses.append(j.c.created_at < end)
        clauses.append(j.c.id < _id_after(end))
    if flt.q:
        text = flt.q.strip()
        by_text = search.description_contains(text)
        if text.isdigit() and len(text) < 19:
            clauses.append(sa.or_(j.c.id == int(text), by_text))
        else:
            clauses.append(by_text)
    return clauses


def list_jobs(
    conn: sa.Connection,
    flt: JobFilter,
    *,
    sort: str = "id",
    order: str = "desc",
    limit: int = 50,
    cursor: str | None = None,
) -> model.Page:
    """One keyset page of jobs: stable while new jobs arrive (no row skipped or repeated)."""
    if sort not in SORTS:
        raise errors.InvalidSort(f"Unknown sort column {sort!r}; use one of {', '.join(SORTS)}.")
    if order not in ("asc", "desc"):
        raise errors.InvalidSort(f"Unknown sort order {order!r}; use asc or desc.")
    limit = max(1, min(limit, MAX_PAGE))
    key = SORTS[sort]
    stmt = rows.job_select().where(*_where(flt))
    if cursor:
        value, last_id = _decode_cursor(cursor, sort, order)
        if sort == "id":
            stmt = stmt.where(j.c.id < last_id if order == "desc" else j.c.id > last_id)
        else:
            bound = sa.literal(value, key.type)
            after = sa.tuple_(key, j.c.id) < sa.tuple_(bound, last_id)
            before = sa.tuple_(key, j.c.id) > sa.tuple_(bound, last_id)
            stmt = stmt.where(after if order == "desc" else before)
    if sort == "id":
        stmt = stmt.order_by(j.c.id.desc() if order == "desc" else j.c.id.asc())
    elif order == "desc":
        stmt = stmt.order_by(key.desc(), j.c.id.desc())
    else:
        stmt = stmt.order_by(key.asc(), j.c.id.asc())
    stmt = stmt.add_columns(key.label("_sort_key")).limit(limit + 1)
    fetched = conn.execute(stmt).all()
    items = [rows.job(r) for r in fetched[:limit]]
    next_cursor = None
    if len(fetched) > limit:
        last = fetched[limit - 1]
        next_cursor = _encode_cursor(sort, order, last._mapping["_sort_key"], last._mapping["id"])
    return model.Page(items=items, next_cursor=next_cursor)


def subtasks(conn: sa.Connection, job_id: int) -> list[model.Subtask]:
    s = schema.subtasks
    result = conn.execute(sa.select(s).where(s.c.job_id == job_id).order_by(s.c.seq))
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
    s = schema.subtasks
    stmt = sa.select(s.c.name).where(s.c.job_id == job_id, s.c.status == model.SubtaskStatus.COMPLETED.value)
    return set(conn.execute(stmt).scalars())


@dataclasses.dataclass(frozen=True)
class Stats:
    by_status: dict[str, int]
    oldest_queued_at: dt.datetime | None
    live_workers: int


def stats(conn: sa.Connection, live_within_s: float) -> Stats:
    """Jobs by status, the oldest queued job, and workers heard from recently."""
    counts: dict[str, int] = dict(conn.execute(sa.select(j.c.status, sa.func.count()).group_by(j.c.status)).all())
    oldest = conn.execute(
        sa.select(sa.func.min(j.c.created_at)).where(j.c.status == model.Status.QUEUED.value)
    ).scalar()
    w = schema.workers
    live = conn.execute(
        sa.select(sa.func.count()).select_from(w).where(w.c.heartbeat_at >= db_now(-live_within_s))
    ).scalar_one()
    by_status = {s.value: int(counts.get(s.value, 0)) for s in model.Status}
    return Stats(by_status=by_status, oldest_queued_at=rows.utc(oldest), live_workers=int(live))
