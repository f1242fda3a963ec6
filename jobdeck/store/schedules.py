"""Scheduled periods in the ledger: each period of a schedule is won by exactly one process."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from jobdeck.store import rows, schema
from jobdeck.store.database import db_now

s = schema.schedules


def database_now(conn: sa.Connection) -> dt.datetime:
    """The database clock: every node agrees on it, whatever their own clocks say."""
    value = conn.execute(sa.select(db_now())).scalar_one()
    if isinstance(value, str):  # SQLite returns the text our expression builds
        value = dt.datetime.fromisoformat(value)
    result = rows.utc(value)
    assert result is not None
    return result


def last_period(conn: sa.Connection, job_type: str) -> dt.datetime | None:
    return rows.utc(conn.execute(sa.select(s.c.last_period).where(s.c.job_type == job_type)).scalar())


def start_tracking(conn: sa.Connection, job_type: str, period: dt.datetime) -> None:
    """Remember `period` as already handled (a schedule seen for the first time starts from the next one)."""
    if last_period(conn, job_type) is None:
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(s).values(job_type=job_type, last_period=rows.to_db_time(period)))
        except sa.exc.IntegrityError:
            pass  # another node started tracking it first


def claim_period(conn: sa.Connection, job_type: str, period: dt.datetime) -> bool:
    """Advance the schedule to `period`; True for exactly one caller per period, across all nodes."""
    result = conn.execute(
        sa.update(s)
        .where(s.c.job_type == job_type, s.c.last_period < rows.to_db_time(period))
        .values(last_period=rows.to_db_time(period))
    )
    return result.rowcount == 1
