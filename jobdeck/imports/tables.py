"""Import targets derived from an application's own SQLAlchemy tables, declared or reflected from the database.

Each imported column takes its type, whether it is required (NOT NULL without a default), its maximum
length (String(n)), its bounds (the integer's width, Numeric(p, s)) and its allowed values (Enum)
from the table, so a host application does not describe its schema twice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from jobdeck.imports.targets import Column, Target
from jobdeck.store.database import Database

#: The range of each integer type, by the narrowest class it is an instance of (checked in this order).
_INT_RANGES: tuple[tuple[type[sa.types.TypeEngine[Any]], int], ...] = (
    (sa.SmallInteger, 2**15),
    (sa.BigInteger, 2**63),
    (sa.Integer, 2**31),
)


def _numeric_bound(precision: int, scale: int) -> float:
    """The largest Numeric(p, s) value as a float at or above it (a float below it would refuse it)."""
    exact = Decimal(10) ** (precision - scale) - Decimal(10) ** -scale
    bound = float(exact)
    return math.nextafter(bound, math.inf) if Decimal(bound) < exact else bound


def _kind(col: sa.Column[Any]) -> dict[str, Any]:
    """The Column fields a table column's type gives: type, max_length, bounds, places, allowed."""
    t = col.type
    if isinstance(t, sa.Boolean):
        return {"type": "bool"}
    if isinstance(t, sa.Integer):
        span = next(size for cls, size in _INT_RANGES if isinstance(t, cls))
        return {"type": "int", "minimum": -span, "maximum": span - 1}
    if isinstance(t, sa.Float):
        return {"type": "decimal"}
    if isinstance(t, sa.Numeric):
        if t.precision is None:
            return {"type": "decimal", "places": t.scale}
        scale = t.scale or 0
        bound = _numeric_bound(t.precision, scale)
        return {"type": "decimal", "places": scale, "minimum": -bound, "maximum": bound}
    if isinstance(t, sa.DateTime | sa.Time | sa.Interval):
        raise ValueError(
            f"column {col.name!r}: {t} is not a type imports read (text, int, decimal, bool, date); leave it out"
        )
    if isinstance(t, sa.Date):
        return {"type": "date"}
    if isinstance(t, sa.Enum):
        return {"type": "text", "allowed": tuple(t.enums)}
    if isinstance(t, sa.String):
        return {"type": "text", "max_length": t.length}
    raise ValueError(f"column {col.name!r}: {t} is not a type imports read; leave it out or declare the target")


def is_required(col: sa.Column[Any]) -> bool:
    """NOT NULL without a default the database or SQLAlchemy would fill in."""
    return not col.nullable and col.default is None and col.server_default is None


def _generated_id(table: sa.Table) -> sa.Column[Any] | None:
    """A one-column integer primary key the database numbers itself: not something a file supplies."""
    pk = list(table.primary_key.columns)
    if len(pk) == 1 and isinstance(pk[0].type, sa.Integer) and pk[0].autoincrement in (True, "auto"):
        return pk[0]
    return None


def natural_keys(table: sa.Table) -> list[tuple[str, ...]]:
    """The table's unique constraints and unique indexes (sorted, for a stable choice), then a natural
    primary key: the keys an import may update rows by."""
    found = {tuple(c.name for c in con.columns) for con in table.constraints if isinstance(con, sa.UniqueConstraint)}
    found |= {tuple(c.name for c in index.columns) for index in table.indexes if index.unique}
    keys = sorted(k for k in found if k)
    pk = tuple(c.name for c in table.primary_key.columns)
    if pk and _generated_id(table) is None:
        keys.append(pk)
    return keys


def column_of(col: sa.Column[Any], **changes: Any) -> Column:
    """A target Column from a table column; `changes` override what the table says (type="email", say)."""
    # str(): SQLAlchemy's names are `quoted_name`, which the import's child process may not send to its parent
    fields: dict[str, Any] = {"name": str(col.name), "required": is_required(col), **_kind(col)}
    fields.update(changes)
    return Column(**fields)


def from_table(
    table: sa.Table,
    *,
    name: str | None = None,
    title: str | None = None,
    key: Sequence[str] | None = None,
    columns: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    aliases: Mapping[str, Sequence[str]] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    description: str = "",
    strict: bool = False,
) -> Target:
    """A Target for an existing table. Columns default to all but a generated id; the key to the table's
    first unique constraint (or index) whose columns are all imported."""
    generated = _generated_id(table)
    left_out = set(exclude)
    names = list(columns) if columns is not None else [c.name for c in table.columns if c is not generated]
    names = [n for n in names if n not in left_out]
    unknown = [n for n in [*names, *(aliases or {}), *(overrides or {})] if n not in table.c]
    if unknown:
        raise ValueError(f"table {table.name}: no column {', '.join(map(repr, unknown))}")
    if key is None:
        usable = [k for k in natural_keys(table) if set(k) <= set(names)]
        if not usable:
            raise ValueError(f"table {table.name}: no unique constraint among the imported columns; name the key")
        key = usable[0]
    built = []
    for n in names:
        changes = dict((overrides or {}).get(n, {}))
        if aliases and n in aliases:
            changes.setdefault("aliases", tuple(aliases[n]))
        built.append(column_of(table.c[n], **changes))
    return Target(
        name=name or str(table.name),
        title=title or table.name.replace("_", " ").capitalize(),
        columns=tuple(built),
        key=tuple(str(k) for k in key),
        table=table,
        description=description,
        strict=strict,
    )


def reflect(db: Database, table_name: str, *, schema: str | None = None) -> sa.Table:
    """The table as the database has it now (its columns, types, constraints and indexes)."""
    return sa.Table(table_name, sa.MetaData(), schema=schema, autoload_with=db.engine)


def from_database(db: Database, table_name: str, *, schema: str | None = None, **options: Any) -> Target:
    """`from_table` over the reflected table: for a table the application's migrations own."""
    return from_table(reflect(db, table_name, schema=schema), **options)
