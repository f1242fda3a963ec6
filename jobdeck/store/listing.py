"""Listing jobs: one keyset page at a time for a JobQuery, stable while new jobs arrive."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from jobdeck import errors, model
from jobdeck.query import MAX_PAGE, JobFilter, JobQuery
from jobdeck.store import expressions, rows, schema, search

j = schema.jobs
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
BIGINT = range(-(2**63), 2**63)


SORTS: dict[str, sa.ColumnElement[Any]] = {
    "id": j.c.id,
    "type": j.c.type,
    "description": expressions.description_prefix(j.c.description),
    "status": j.c.status,
    "created_at": j.c.created_at,
    # The same expressions as the sort indexes in schema.TIME_SORT_INDEXES.
    "started_at": expressions.time_or_epoch(j.c.started_at),
    "ended_at": expressions.time_or_epoch(j.c.ended_at),
    "failed_at": expressions.time_or_epoch(j.c.failed_at),
    # The username copied at enqueue: an index serves it, where the joined users.username needs a sort.
    "run_by": j.c.run_by_name,
}
TIME_SORTS = {"created_at", "started_at", "ended_at", "failed_at"}


def _listing_select() -> sa.Select[Any]:
    """The job columns a listing shows: params stay in the database (they can be large, and no listing
    shows them), so listed jobs carry empty params."""
    columns = [c for c in rows.JOB_COLUMNS if c.name != "params"]
    return sa.select(*columns, sa.null().label("params")).select_from(
        j.outerjoin(schema.users, schema.users.c.id == j.c.run_by_id)
    )


def _encode_cursor(sort: str, order: str, value: Any, last_id: int) -> str:
    if isinstance(value, dt.datetime):
        value = rows.utc(value).isoformat()  # type: ignore[union-attr]
    raw = json.dumps([sort, order, value, last_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _is_id(value: Any) -> bool:
    """An id a query can compare with: an int (not a bool, which JSON also decodes) within a BIGINT."""
    return type(value) is int and value in BIGINT


def _decode_cursor(cursor: str, sort: str, order: str) -> tuple[Any, int]:
    """The position a cursor holds; InvalidCursor for anything this listing did not hand out, before a value
    that the database would refuse (a bool, an int past BIGINT, a NUL) reaches a query."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        c_sort, c_order, value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if (c_sort, c_order) != (sort, order) or not _is_id(last_id):
            raise ValueError("cursor of another listing")
        if sort in TIME_SORTS:
            value = rows.to_db_time(dt.datetime.fromisoformat(value))
        elif sort == "id" and not _is_id(value):
            raise ValueError("bad id")
        elif sort != "id" and (not isinstance(value, str) or "\x00" in value or len(value) > 1000):
            raise ValueError("bad value")
        return value, last_id
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError) as exc:
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


def _where(
    flt: JobFilter, page_search: search.PageSearch | None = None, unindexed: frozenset[str] = frozenset()
) -> list[sa.ColumnElement[bool]]:
    """The filter's predicate; `page_search` is its description search written for a page (search.py);
    the columns in `unindexed` are tested without an index on SQLite (see _unindexed)."""

    def column(name: str) -> sa.ColumnElement[Any]:
        return expressions.unindexed(j.c[name]) if name in unindexed else j.c[name]

    clauses: list[sa.ColumnElement[bool]] = []
    if flt.visible_to is not None:
        clauses.append(j.c.run_by_id == flt.visible_to)
    if flt.tab is not None:
        clauses.append(column("tab") == flt.tab.value)
    if flt.statuses:
        clauses.append(column("status").in_([s.value for s in flt.statuses]))
    if flt.type:
        clauses.append(column("type") == flt.type)
    if flt.run_by:
        clauses.append(column("run_by_name") == flt.run_by)
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
        by_text = page_search.clause if page_search else search.description_contains(text)
        if text.isdecimal() and len(text) < 19:  # isdigit() admits "¹" and "①", which int() refuses
            clauses.append(sa.or_(j.c.id == int(text), by_text))
        else:
            clauses.append(by_text)
    return clauses


#: The filters an index over everyone's jobs answers (with the tab, which leads every sort index).
SHARED_INDEX_FILTERS = frozenset({"status", "type", "run_by_name"})


def _unindexed(query: JobQuery, page_search: search.PageSearch | None) -> frozenset[str]:
    """The columns a page tests without an index, so that SQLite, which has no statistics (jobdeck never
    runs ANALYZE), reads a few rows and sorts them rather than walk an index over everyone's jobs: the few
    matches of a search are looked up by id; an ordinary user's jobs come from (run_by_id, tab, id), whose
    order is already the default one (the tab stays indexed then)."""
    if page_search and page_search.by_id:
        return SHARED_INDEX_FILTERS | {"tab"}
    if query.filter.visible_to is None:
        return frozenset()
    return SHARED_INDEX_FILTERS if query.sort == "id" else SHARED_INDEX_FILTERS | {"tab"}


def list_jobs(conn: sa.Connection, query: JobQuery) -> model.Page:
    """One keyset page of jobs: stable while new jobs arrive (no row skipped or repeated). A cursor that
    this listing did not hand out is InvalidCursor, whatever it holds."""
    sort, order = query.sort, query.order
    if sort not in SORTS:
        raise errors.InvalidSort(f"Unknown sort column {sort!r}; use one of {', '.join(SORTS)}.")
    if order not in ("asc", "desc"):
        raise errors.InvalidSort(f"Unknown sort order {order!r}; use asc or desc.")
    limit = max(1, min(query.limit, MAX_PAGE))
    key = SORTS[sort]
    q = query.filter.q
    page_search = search.on_page(conn, q.strip(), query.filter) if q else None
    clauses = _where(query.filter, page_search, _unindexed(query, page_search))
    if query.cursor:
        value, last_id = _decode_cursor(query.cursor, sort, order)
        if sort == "id":
            clauses.append(j.c.id < last_id if order == "desc" else j.c.id > last_id)
        else:
            bound = sa.literal(value, key.type)
            after = sa.tuple_(key, j.c.id) < sa.tuple_(bound, last_id)
            before = sa.tuple_(key, j.c.id) > sa.tuple_(bound, last_id)
            clauses.append(after if order == "desc" else before)
    if sort == "id":
        ordering = [j.c.id.desc() if order == "desc" else j.c.id.asc()]
    elif order == "desc":
        ordering = [key.desc(), j.c.id.desc()]
    else:
        ordering = [key.asc(), j.c.id.asc()]
    if page_search and page_search.by_id:
        # The page's ids first, from the matches' keys alone; then only those rows are read whole (and
        # their users joined): thousands of whole rows built for a sort that keeps 51 took most of the time.
        page_ids = sa.select(j.c.id).where(*clauses).order_by(*ordering).limit(limit + 1)
        clauses = [j.c.id.in_(page_ids)]
    stmt = _listing_select().where(*clauses).order_by(*ordering)
    stmt = stmt.add_columns(key.label("_sort_key")).limit(limit + 1)
    try:
        fetched = conn.execute(stmt).all()
    except (sa.exc.DataError, OverflowError) as exc:
        if not query.cursor:
            raise
        raise errors.InvalidCursor() from exc  # a forged cursor holding a value the database cannot compare
    items = [rows.job(r) for r in fetched[:limit]]
    next_cursor = None
    if len(fetched) > limit:
        last = fetched[limit - 1]
        next_cursor = _encode_cursor(sort, order, last._mapping["_sort_key"], last._mapping["id"])
    return model.Page(items=items, next_cursor=next_cursor)


def count_jobs(conn: sa.Connection, flt: JobFilter) -> int:
    """How many jobs a listing with this filter holds over all its pages (the same predicate as list_jobs)."""
    stmt = sa.select(sa.func.count()).select_from(j).where(*_where(flt))
    return int(conn.execute(stmt).scalar_one())
