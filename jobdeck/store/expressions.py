"""SQL expressions the grid sorts by, written so that each matches its index exactly (schema.py holds the indexes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

Timestamp = sa.DateTime(timezone=True)


class epoch(FunctionElement[dt.datetime]):
    """1970-01-01 UTC written into the SQL text, never as a bound parameter: the grid sorts an empty time
    column as this, and a database matches an expression index only against the same constant expression."""

    type = Timestamp
    inherit_cache = True
    name = "epoch"


@compiles(epoch)
def _epoch_postgresql(element: epoch, compiler: Any, **kw: Any) -> str:
    return "'1970-01-01 00:00:00+00'::timestamptz"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: Any, **kw: Any) -> str:
    return "'1970-01-01 00:00:00.000000'"  # how SQLAlchemy stores datetimes in SQLite


def time_or_epoch(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The grid's sort key for a time column that is empty until a job starts, ends or fails."""
    return sa.func.coalesce(column, epoch())


def description_prefix(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The grid's sort key for Description: its first 200 characters, constants written into the SQL so
    the expression matches its index. A whole description (up to 1,000 characters, 4,000 bytes in UTF-8)
    could pass PostgreSQL's limit for a b-tree entry (about 2,700 bytes); descriptions alike in their first
    200 characters follow each other by id."""
    return sa.func.substr(column, sa.literal_column("1"), sa.literal_column("200"))


class unindexed(FunctionElement[Any]):
    """A column that no index may answer in this query: SQLite's unary `+` (the value unchanged), plain
    elsewhere. A page made from a search's few matches (search.py) looks them up by primary key; a `tab = ?`
    an index could answer would let SQLite walk that index over the whole tab instead."""

    inherit_cache = True
    name = "unindexed"

    def __init__(self, column: sa.ColumnElement[Any]) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _unindexed_default(element: unindexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(next(iter(element.clauses)), **kw))


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    return "+" + str(compiler.process(next(iter(element.clauses)), **kw))
