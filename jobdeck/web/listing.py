"""The grid's query parameters, shared by the list API and the page: validated, then mapped onto a JobQuery."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Query
from pydantic import BeforeValidator

from jobdeck import errors, model
from jobdeck.query import JobFilter, JobQuery, Order, SortKey

PAGE_SIZES = (25, 50, 100)
#: Printable text only: control characters (NUL above all) never reach a query.
TEXT = r"^[^\x00-\x1f\x7f]*$"
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def _blank_is_absent(value: object) -> object:
    """The one rule for empty filters, in the page and the API alike: a parameter sent empty (a plain GET form
    submits every field, `from=` included) means that filter is not set."""
    if isinstance(value, list):
        return [v for v in value if v != ""] or None
    return None if value == "" else value


#: A date filter: a day, or an instant.
When = dt.datetime | dt.date
#: A filter parameter that may arrive empty.
Blank = BeforeValidator(_blank_is_absent)


def query_params(query: JobQuery, **changes: object) -> dict[str, str | list[str]]:
    """A query as a query string mapping (for links, the pager and the live refresh); a change of None
    drops that parameter."""
    f = query.filter
    out: dict[str, str | list[str]] = {}
    if f.tab:
        out["tab"] = f.tab.value
    if f.statuses:
        out["status"] = [s.value for s in f.statuses]
    for name, value in (("type", f.type), ("run_by", f.run_by), ("q", f.q)):
        if value:
            out[name] = value
    if f.created_from:
        out["from"] = f.created_from.isoformat().replace("+00:00", "Z")
    if f.created_to:
        out["to"] = f.created_to.isoformat().replace("+00:00", "Z")
    out.update(sort=query.sort, order=query.order, limit=str(query.limit))
    if query.cursor:
        out["cursor"] = query.cursor
    for key, change in changes.items():
        if change is None:
            out.pop(key, None)
        else:
            out[key] = [str(v) for v in change] if isinstance(change, list) else str(change)
    return out


def _moment(value: dt.date | dt.datetime | None, *, end: bool, name: str) -> dt.datetime | None:
    """A date means the whole day (UTC): `from` its first instant, `to` up to the next day."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    else:
        moment = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        if end:
            moment += dt.timedelta(days=1)
    if not EARLIEST <= moment <= LATEST:
        raise errors.InvalidParams(f"{name}: the date must lie between 1970 and 9000.")
    return moment.astimezone(dt.UTC)


def list_query(
    tab: Annotated[model.Tab | None, Blank, Query(description="general or imports")] = None,
    status: Annotated[list[model.Status] | None, Blank, Query(description="repeat to allow several")] = None,
    type: Annotated[str | None, Query(max_length=100, pattern=TEXT, description="job type name")] = None,
    run_by: Annotated[str | None, Query(max_length=150, pattern=TEXT, description="username")] = None,
    q: Annotated[
        str | None, Query(max_length=200, pattern=TEXT, description="a job id or words of the description")
    ] = None,
    from_: Annotated[When | None, Blank, Query(alias="from", description="created at or after")] = None,
    to: Annotated[When | None, Blank, Query(description="created before (a date: up to its end)")] = None,
    sort: Annotated[SortKey, Query()] = "id",
    order: Annotated[Order, Query()] = "desc",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_-]*$")] = None,
) -> JobQuery:
    flt = JobFilter(
        tab=tab,
        statuses=tuple(dict.fromkeys(status or ())),
        type=type or None,
        run_by=run_by or None,
        q=(q or "").strip() or None,
        created_from=_moment(from_, end=False, name="from"),
        created_to=_moment(to, end=True, name="to"),
    )
    return JobQuery(filter=flt, sort=sort, order=order, limit=limit, cursor=cursor or None)
