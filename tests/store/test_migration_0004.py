"""Migration 0004 (sort indexes, description search) on a database already holding jobs: nothing is lost."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from jobdeck import model
from jobdeck.query import JobFilter, JobQuery
from jobdeck.store import jobs, listing, migrate
from jobdeck.store.database import Database


@pytest.fixture
def at_0001(fresh_database_url: str) -> Iterator[Database]:
    """A fresh database at revision 0001 (before this migration)."""
    db = Database(fresh_database_url)
    migrate.upgrade(db, "0001")
    yield db
    db.dispose()


def submit_at_0001(db: Database, descriptions: list[str]) -> list[int]:
    """Queued jobs written with the jobs table as revision 0001 has it (today's store writes later columns)."""
    table = sa.Table("jobs", sa.MetaData(), autoload_with=db.engine)
    values = {
        "type": "noop",
        "tab": "general",
        "status": "queued",
        "params": {},
        "queue": "default",
        "priority": 0,
        "attempt": 0,
        "max_attempts": 1,
        "progress_done": 0,
        "cancel_requested": False,
    }
    with db.write() as conn:
        now = conn.execute(sa.select(sa.func.current_timestamp())).scalar_one()
        stmt = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
        rows = [{**values, "description": d, "created_at": now} for d in descriptions]
        return list(conn.execute(stmt, rows).scalars())


def test_upgrading_keeps_the_jobs_and_finds_them_by_description(at_0001: Database) -> None:
    db = at_0001
    old = submit_at_0001(db, [f"Nightly export {n}" for n in range(3)])
    migrate.upgrade(db)
    new = jobs.submit(db, jobs.NewJob(type="noop", description="Nightly EXPORT after the upgrade"))
    with db.read() as conn:
        assert [jobs.get(conn, i).description for i in old] == [f"Nightly export {n}" for n in range(3)]
        page = listing.list_jobs(conn, JobQuery(JobFilter(q="export")))
        one = listing.list_jobs(conn, JobQuery(JobFilter(q="export 1")))
    assert [j.id for j in page.items] == [new, *reversed(old)]
    assert [j.id for j in one.items] == [old[1]]


def test_downgrading_to_0001_keeps_the_jobs(at_0001: Database) -> None:
    db = at_0001
    migrate.upgrade(db)
    ids = jobs.submit_many(db, [jobs.NewJob(type="noop", description="kept") for _ in range(2)])
    from alembic import command

    with db.write() as conn:
        command.downgrade(migrate._config(conn), "0001")
    assert migrate.current(db) == "0001"
    with db.read() as conn:
        statuses = conn.execute(sa.text("SELECT status FROM jobs ORDER BY id")).scalars().all()
    assert len(ids) == 2 and statuses == [model.Status.QUEUED.value] * 2
