"""The grid's description search, answered from an index: FTS5 trigrams on SQLite, pg_trgm on PostgreSQL.

A page of a search on SQLite asks the trigram table first for at most FEW_MATCHES matches. When there are no
more than that, the page is made of those jobs, looked up by id and then sorted (a few thousand lookups); when
there are more, the page walks the sort's index and tests each job's description, which finds a page after a
few thousand rows at most, because at least one job in every 1,000,000 / FEW_MATCHES matches. Either way no
page costs what the match set of a common word costs (every match read, then probed from the index walk).

On PostgreSQL the planner chooses, except for an ordinary user who owns at most OWN_JOBS_SCANNED jobs in the
tab: their page tests each of their jobs' descriptions, where the planner (which cannot tell how many jobs a
pattern matches) would intersect the whole ledger's matches of a common word with their jobs.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from jobdeck.query import JobFilter
from jobdeck.store import schema

j = schema.jobs
#: Characters LIKE reads as wildcards (and our escape character): a search holding one is matched by
#: an escaped LIKE, which the trigram indexes cannot answer (a rare, slower path).
SPECIAL = set("%_/")
#: Where a page of a search on SQLite stops being made from its matches (see above): about the square root
#: of a page (51 rows) times a million jobs, so that neither way reads much more than a few thousand rows.
FEW_MATCHES = 5000
#: An ordinary user owning at most this many jobs in a tab has them tested one by one on PostgreSQL (a few ms).
OWN_JOBS_SCANNED = 20_000


class _description_like(FunctionElement[bool]):
    """`description LIKE pattern`, case-insensitively, written the way each database's index can answer."""

    type = sa.Boolean()
    inherit_cache = True
    name = "description_like"


@compiles(_description_like)
def _like_postgresql(element: _description_like, compiler: Any, **kw: Any) -> str:
    # The same expression as the pg_trgm GIN index on lower(description) (migration 0004).
    pattern = compiler.process(next(iter(element.clauses)), **kw)
    return f"lower(jobs.description) LIKE lower({pattern})"


@compiles(_description_like, "sqlite")
def _like_sqlite(element: _description_like, compiler: Any, **kw: Any) -> str:
    # jobs_search is the FTS5 trigram table over jobs.description (migration 0004); its LIKE is
    # case-insensitive for ASCII, as SQLite's own.
    pattern = compiler.process(next(iter(element.clauses)), **kw)
    return f"jobs.id IN (SELECT rowid FROM jobs_search WHERE jobs_search.description LIKE {pattern})"  # nosec B608


def description_contains(text: str) -> sa.ColumnElement[bool]:
    """Jobs whose description holds `text`, ignoring case."""
    if SPECIAL & set(text):
        return j.c.description.icontains(text, autoescape=True)
    return _description_like(sa.literal(f"%{text}%", sa.String))


def _answered_by_trigrams(text: str) -> bool:
    """Whether the trigram index can narrow this search: three characters or more, no LIKE wildcard."""
    return len(text) >= 3 and not SPECIAL & set(text)


def _phrase(text: str) -> str:
    """An FTS5 phrase of the text's trigrams: each description holding the text, as LIKE does, and a few more
    (FTS5 folds the case of letters beyond ASCII, which LIKE keeps); read from the index alone."""
    return '"' + text.replace('"', '""') + '"'


@dataclasses.dataclass(frozen=True)
class PageSearch:
    """The description search written for one sorted page of a listing (see the module's docstring)."""

    clause: sa.ColumnElement[bool]
    #: The page is made from the ids of few matches: the primary key, not an index over the tab, must
    #: answer the other filters (listing.py writes its `tab = ?` with expressions.unindexed).
    by_id: bool = False


def _owns_few_jobs(conn: sa.Connection, flt: JobFilter) -> bool:
    """Whether an ordinary user's listing holds at most OWN_JOBS_SCANNED jobs (counted from their index)."""
    if flt.visible_to is None:
        return False
    mine = sa.select(sa.literal(1)).where(j.c.run_by_id == flt.visible_to)
    if flt.tab is not None:
        mine = mine.where(j.c.tab == flt.tab.value)
    counted = sa.select(sa.func.count()).select_from(mine.limit(OWN_JOBS_SCANNED + 1).subquery())
    return int(conn.execute(counted).scalar_one()) <= OWN_JOBS_SCANNED


def on_page(conn: sa.Connection, text: str, flt: JobFilter) -> PageSearch:
    """The same test as description_contains, for a page of a listing with this filter (see the module's
    docstring)."""
    if not _answered_by_trigrams(text):
        return PageSearch(description_contains(text))
    if conn.dialect.name == "postgresql":
        if not _owns_few_jobs(conn, flt):
            return PageSearch(description_contains(text))
        # lower(description) || '' is not the trigram index's expression: the planner tests the user's rows.
        unindexed = sa.func.lower(j.c.description.op("||")(sa.literal_column("''")))
        return PageSearch(unindexed.like(sa.func.lower(sa.literal(f"%{text}%", sa.String))))
    if conn.dialect.name != "sqlite":
        return PageSearch(description_contains(text))
    phrase = sa.text("SELECT rowid FROM jobs_search WHERE jobs_search MATCH :phrase LIMIT :few")
    matches = conn.execute(phrase, {"phrase": _phrase(text), "few": FEW_MATCHES + 1}).scalars().all()
    # SQLite's LIKE, as the trigram table's own LIKE re-checks its matches: the same jobs either way (ASCII
    # letters match either case, other letters only their own case).
    like = j.c.description.like(f"%{text}%")
    if len(matches) > FEW_MATCHES:
        return PageSearch(like)
    # One parameter for the ids (json_each), not thousands: the page looks them up by primary key, and in
    # the default order (newest first) walks them in order and stops after a page; other orders sort them.
    listed = sa.func.json_each(sa.literal(json.dumps(matches), sa.String)).table_valued("value")
    return PageSearch(sa.and_(j.c.id.in_(sa.select(listed.c.value)), like), by_id=True)
