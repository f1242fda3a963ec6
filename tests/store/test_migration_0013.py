"""Migration 0013 (the grid's time sort indexes led by the tab, and one for Created) on a database holding jobs."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from jobdeck import model
from jobdeck.query import JobFilter, JobQuery
from jobdeck.store import listing, migrate
from jobdeck.store.database import Database

SORT_INDEXES = ["ix_jobs_started_at_sort", "ix_jobs_ended_at_sort", "ix_jobs_failed_at_sort", "ix_jobs_created_at_sort"]


@pytest.fixture
def at_0010(fresh_database_url: str) -> Iterator[Database]:
    """A fresh database at revision 0010 (before this migration)."""
    db = Database(fresh_database_url)
    migrate.upgrade(db, "0010_run_by_name")
    yield db
    db.dispose()


def write_at_0010(db: Database, ended: list[int | None]) -> list[int]:
    """One job per entry on the General tab, ended that many minutes after a start (None: not ended yet),
    written with the table as revision 0010 has it."""
    with warnings.catch_warnings():  # the expression indexes, which reflection skips, are not needed here
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        jobs = sa.Table("jobs", sa.MetaData(), autoload_with=db.engine)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    job = {"type": "noop", "tab": "general", "status": "completed", "params": {}, "queue": "default"}
    job |= {"priority": 0, "attempt": 1, "max_attempts": 1, "progress_done": 0, "cancel_requested": False}
    rows = [
        {
            **job,
            "description": f"job {n}",
            "created_at": start,
            "ended_at": None if m is None else start + dt.timedelta(minutes=m),
        }
        for n, m in enumerate(ended)
    ]
    with db.write() as conn:
        stmt = sa.insert(jobs).returning(jobs.c.id, sort_by_parameter_order=True)
        return list(conn.execute(stmt, rows).scalars())


def leading_column(db: Database, index: str) -> str:
    with db.read() as conn:
        if db.is_sqlite:
            return str(conn.exec_driver_sql(f"PRAGMA index_info({index})").all()[0][2])
        definition = conn.execute(sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :i"), {"i": index})
        return str(definition.scalar_one().split("(", 1)[1].split(",", 1)[0])


def test_upgrading_keeps_the_jobs_and_their_end_order_and_puts_the_tab_first(at_0010: Database) -> None:
    db = at_0010
    ids = write_at_0010(db, [5, None, 1, 9])
    migrate.upgrade(db)
    with db.read() as conn:
        page = listing.list_jobs(conn, JobQuery(JobFilter(tab=model.Tab.GENERAL), sort="ended_at", order="desc"))
    assert [j.id for j in page.items] == [ids[3], ids[0], ids[2], ids[1]]
    assert [leading_column(db, index) for index in SORT_INDEXES] == ["tab"] * len(SORT_INDEXES)
