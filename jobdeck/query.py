"""What a listing of jobs asks for: which jobs, in which order, how many, and from where (a cursor). The
page, the API, the CLI and the store all speak this one object. No I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

from jobdeck import model

#: The sort keys a listing offers: one per grid column.
SortKey = Literal["id", "type", "description", "status", "created_at", "started_at", "ended_at", "failed_at", "run_by"]
Order = Literal["asc", "desc"]
#: The most jobs one page holds.
MAX_PAGE = 500


@dataclasses.dataclass(frozen=True)
class JobFilter:
    """Which jobs a listing shows; `visible_to` restricts it to one user's jobs (the visibility rule)."""

    tab: model.Tab | None = None
    statuses: tuple[model.Status, ...] = ()
    type: str | None = None
    run_by: str | None = None  #: username
    q: str | None = None  #: a job id or words of the description
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    visible_to: int | None = None  #: a user id; None lists everyone's jobs

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the tab (and visibility) narrows the listing."""
        return bool(self.statuses or self.type or self.run_by or self.q or self.created_from or self.created_to)


@dataclasses.dataclass(frozen=True)
class JobQuery:
    """A page of a listing: the filter, the sort column and order, the page size, and where the page starts
    (the `next_cursor` of the page before; None for the first)."""

    filter: JobFilter = JobFilter()
    sort: str = "id"
    order: str = "desc"
    limit: int = 50
    cursor: str | None = None

    def filtered(self, **changes: object) -> JobQuery:
        """This query with some filter fields changed."""
        return dataclasses.replace(self, filter=dataclasses.replace(self.filter, **changes))  # type: ignore[arg-type]
