"""The insert of new jobs, built once per database: one job, a batch as multi-row VALUES (SQLite) or arrays
(PostgreSQL), and COPY for a large PostgreSQL batch. jobs.py decides which; this module only writes rows.

Each statement is compiled from SQLAlchemy expressions once per dialect and then executed as text with
the column types' own bind conversions, so an enqueue pays for one driver call, not a statement build,
a cache-key walk and a compile lookup."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from jobdeck.store import direct, schema
from jobdeck.store.database import NOTIFY_CHANNEL, Database, db_now

j = schema.jobs

#: The columns an enqueue gives a value for, in this order (the rest are NULL, or computed below).
COLUMNS = (
    "type",
    "tab",
    "description",
    "status",
    "params",
    "run_by_id",
    "run_at",
    "queue",
    "priority",
    "attempt",
    "max_attempts",
    "progress_done",
    "cancel_requested",
    "retry_of",
    "idempotency_key",
    "unique_key",
)
#: Values that feed computed columns: not_before (an absolute time, or a delay by the database's clock)
#: and run_by_name (the username of run_by_id, looked up in the same statement).
INPUTS = (*COLUMNS, "not_before_at", "delay_seconds", "run_by_user")

#: A delayed job's time: the absolute one given, or now plus the delay by the database's clock (NULL: none).
NOT_BEFORE = sa.func.coalesce(
    sa.bindparam("not_before_at", type_=j.c.not_before.type),
    db_now(sa.bindparam("delay_seconds", type_=sa.Float)),
)
#: The username the grid sorts "Run By" on, copied at enqueue ('' for the system): usernames never change, so
#: the copy stays true, and an index on it serves the sort without the users join. A lookup by primary key in
#: the same statement, not a round trip; its own parameter, as the insert reserves "run_by_id" for the column.
RUN_BY_NAME = sa.func.coalesce(
    sa.select(schema.users.c.username)
    .where(schema.users.c.id == sa.bindparam("run_by_user", type_=j.c.run_by_id.type))
    .scalar_subquery(),
    "",
)


def computed() -> dict[str, sa.ColumnElement[Any]]:
    """The columns an insert computes in the database, beside the values of COLUMNS."""
    return {"created_at": db_now(), "not_before": NOT_BEFORE, "run_by_name": RUN_BY_NAME}


def insert_statement() -> sa.Insert:
    """INSERT … RETURNING id of one job, every value a named parameter of INPUTS."""
    given = {c: sa.bindparam(c, type_=j.c[c].type) for c in COLUMNS}
    return sa.insert(j).values(**given, **computed()).returning(j.c.id)


def _cached(dialect: sa.Dialect, name: str, build: Callable[[], sa.ClauseElement]) -> direct.Compiled:
    return direct.compiled(dialect, f"inserts.{name}", build, INPUTS)


def _one_and_notify() -> sa.ClauseElement:
    """PostgreSQL: the insert and the workers' NOTIFY in one statement, so a job on its own costs one round
    trip (the notification is delivered when the statement's transaction commits)."""
    inserted = insert_statement().cte("inserted")
    return sa.select(inserted.c.id, sa.func.pg_notify(NOTIFY_CHANNEL, ""))


def insert_alone(db: Database, values: dict[str, Any]) -> int:
    """Insert one job as a transaction of its own, straight on the driver (store/direct.py), and return its
    id; on PostgreSQL the statement also sends the workers' NOTIFY."""
    dialect = db.engine.dialect
    if db.is_postgresql:
        compiled = _cached(dialect, "one_and_notify", _one_and_notify)
    else:
        compiled = _cached(dialect, "one", insert_statement)
    return int(direct.execute_alone(db, compiled.sql, compiled.parameters(values))[0][0])


def insert_one(conn: sa.Connection, values: dict[str, Any]) -> int:
    """Insert one job inside the caller's transaction and return its id."""
    compiled = _cached(conn.dialect, "one", insert_statement)
    return int(conn.exec_driver_sql(compiled.sql, compiled.parameters(values)).scalar_one())


# -- SQLite batches --------------------------------------------------------------------------------
#: Rows per multi-row INSERT on SQLite: measured fastest near 100 (a statement of a thousand rows inserts
#: at a third of the rate), and far below SQLite's limit of 32,766 parameters in one statement.
SQLITE_ROWS_PER_STATEMENT = 100


@functools.lru_cache(maxsize=SQLITE_ROWS_PER_STATEMENT)
def _repeated(sql: str, rows: int) -> str:
    """INSERT … VALUES (…), (…) … RETURNING id for `rows` rows: the one-row statement's row repeated."""
    head, _, tail = sql.partition(" VALUES ")
    row, _, returning = tail.rpartition(" RETURNING ")
    return f"{head} VALUES {', '.join([row] * rows)} RETURNING {returning}"


def insert_rows_sqlite(conn: sa.Connection, values: Sequence[dict[str, Any]]) -> list[int]:
    """Many rows in statements of SQLITE_ROWS_PER_STATEMENT rows, inside the caller's transaction. A
    statement numbers its rows in VALUES order (the highest id plus one, under the write lock), so its
    sorted ids are in input order, whatever order RETURNING gives them in."""
    one = _cached(conn.dialect, "one", insert_statement)
    ids: list[int] = []
    for start in range(0, len(values), SQLITE_ROWS_PER_STATEMENT):
        chunk = values[start : start + SQLITE_ROWS_PER_STATEMENT]
        sql = _repeated(one.sql, len(chunk))
        parameters: list[Any] = []
        for v in chunk:
            parameters.extend(one.parameters(v))
        ids.extend(sorted(conn.exec_driver_sql(sql, tuple(parameters)).scalars()))
    return ids


# -- PostgreSQL batches ----------------------------------------------------------------------------
#: Array type of each input of the PostgreSQL batch insert.
_UNNEST_TYPES = {
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
    "unique_key": "varchar",
    "not_before_at": "timestamptz",
    "delay_seconds": "float8",
}
_UNNEST_SQL = (
    f"INSERT INTO jobs ({', '.join(COLUMNS)}, created_at, not_before, run_by_name) "  # nosec B608
    f"SELECT {', '.join(f'v.{c}' for c in COLUMNS)}, clock_timestamp(), "
    "coalesce(v.not_before_at, clock_timestamp() + make_interval(secs => v.delay_seconds)), "
    "coalesce((SELECT username FROM users WHERE users.id = v.run_by_id), '') "
    f"FROM unnest({', '.join(f'%({c})s::{t}[]' for c, t in _UNNEST_TYPES.items())}) "
    f"WITH ORDINALITY AS v({', '.join(_UNNEST_TYPES)}, ord) ORDER BY v.ord RETURNING id"
)


def insert_rows_unnest(conn: sa.Connection, values: Sequence[dict[str, Any]]) -> list[int]:
    """Many rows as one array per column: psycopg sends a few arrays instead of a statement with a
    parameter per cell. Rows reach the sequence in input order, so the sorted ids are in input order."""
    arrays = {c: [v[c] for v in values] for c in _UNNEST_TYPES}
    arrays["params"] = [json.dumps(p) for p in arrays["params"]]
    return sorted(conn.exec_driver_sql(_UNNEST_SQL, arrays).scalars())


#: The columns COPY writes: every given column, the id taken from the sequence, and the computed ones.
_COPY_COLUMNS = ("id", *COLUMNS, "created_at", "not_before", "run_by_name")
#: Ids for the rows, in order, and the database's clock for each (what clock_timestamp() gives an insert).
_RESERVE_SQL = (
    "SELECT nextval(pg_get_serial_sequence('jobs', 'id')), clock_timestamp() "
    "FROM generate_series(1, %(rows)s) AS n ORDER BY n"
)


def insert_rows_copy(conn: sa.Connection, values: Sequence[dict[str, Any]]) -> list[int]:
    """Many rows by COPY, which skips the per-row parse and plan of an INSERT: the ids are taken from the
    jobs sequence first (in input order, so ascending), and the computed columns are computed here from
    the database's clock and users table, as the INSERT computes them."""
    reserved = conn.exec_driver_sql(_RESERVE_SQL, {"rows": len(values)}).all()
    names = _usernames(conn, {v["run_by_id"] for v in values if v["run_by_id"] is not None})
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY jobs ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy:  # nosec B608
        for (job_id, now), v in zip(reserved, values, strict=True):
            given = (json.dumps(v[c]) if c == "params" else v[c] for c in COLUMNS)
            copy.write_row((job_id, *given, now, _not_before(now, v), names.get(v["run_by_id"], "")))
    cursor.close()
    return [int(job_id) for job_id, _ in reserved]


def _not_before(now: dt.datetime, values: dict[str, Any]) -> dt.datetime | None:
    if values["not_before_at"] is not None:
        return values["not_before_at"]  # type: ignore[no-any-return]
    if values["delay_seconds"] is not None:
        return now + dt.timedelta(seconds=values["delay_seconds"])
    return None


def _usernames(conn: sa.Connection, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    u = schema.users
    found = conn.execute(sa.select(u.c.id, u.c.username).where(u.c.id.in_(sorted(user_ids))))
    return {int(user_id): str(name) for user_id, name in found}
