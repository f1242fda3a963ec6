"""The grid's description search, answered from an index: FTS5 trigrams on SQLite, pg_trgm on PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from jobdeck.store import schema

j = schema.jobs
#: Characters LIKE reads as wildcards (and our escape character): a search holding one is matched by
#: an escaped LIKE, which the trigram indexes cannot answer (a rare, slower path).
SPECIAL = set("%_/")


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
