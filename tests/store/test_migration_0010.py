"""Migration 0010 (the username copied into each job for the Run By sort) on a database holding jobs."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from jobdeck.query import JobFilter, JobQuery
from jobdeck.store import listing, migrate
from jobdeck.store.database import Database


@pytest.fixture
def at_0009(fresh_database_url: str) -> Iterator[Database]:
    """A fresh database at revision 0009 (before this migration)."""
    db = Database(fresh_database_url)
    migrate.upgrade(db, "0009_sorts")
    yield db
    db.dispose()


def write_at_0009(db: Database, run_by: list[str | None]) -> list[int]:
    """Users and one queued job per entry (None: a system job), written with the tables as revision 0009 has
    them (today's store writes later columns)."""
    meta = sa.MetaData()
    with warnings.catch_warnings():  # the expression indexes, which reflection skips, are not needed here
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        users = sa.Table("users", meta, autoload_with=db.engine)
        jobs = sa.Table("jobs", meta, autoload_with=db.engine)
    with db.write() as conn:
        now = conn.execute(sa.select(sa.func.current_timestamp())).scalar_one()
        ids: dict[str, int] = {}
        for name in sorted({n for n in run_by if n is not None}):
            user = {"username": name, "display_name": name, "password_hash": "x", "is_admin": False}
            values = {**user, "disabled": False, "failed_logins": 0, "created_at": now}
            ids[name] = conn.execute(sa.insert(users).values(values).returning(users.c.id)).scalar_one()
        job = {"type": "noop", "tab": "general", "status": "queued", "params": {}, "queue": "default"}
        job |= {"priority": 0, "attempt": 0, "max_attempts": 1, "progress_done": 0, "cancel_requested": False}
        rows = [
            {**job, "description": f"job {n}", "created_at": now, "run_by_id": ids[name] if name else None}
            for n, name in enumerate(run_by)
        ]
        stmt = sa.insert(jobs).returning(jobs.c.id, sort_by_parameter_order=True)
        return list(conn.execute(stmt, rows).scalars())


def test_upgrading_copies_each_jobs_username_and_leaves_system_jobs_empty(at_0009: Database) -> None:
    db = at_0009
    ids = write_at_0009(db, ["zoe", None, "adam", "zoe"])
    migrate.upgrade(db)
    with db.read() as conn:
        names = conn.execute(sa.text("SELECT id, run_by_name FROM jobs ORDER BY id")).all()
        page = listing.list_jobs(conn, JobQuery(JobFilter(), sort="run_by", order="asc"))
    assert [tuple(r) for r in names] == list(zip(ids, ["zoe", "", "adam", "zoe"], strict=True))
    assert [j.id for j in page.items] == [ids[1], ids[2], ids[0], ids[3]]
    assert [j.run_by for j in page.items] == [None, "adam", "zoe", "zoe"]


def test_downgrading_to_0009_keeps_the_jobs(at_0009: Database) -> None:
    db = at_0009
    ids = write_at_0009(db, ["adam", None])
    migrate.upgrade(db)
    from alembic import command

    with db.write() as conn:
        command.downgrade(migrate._config(conn), "0009_sorts")
    assert migrate.current(db) == "0009_sorts"
    with db.read() as conn:
        kept = conn.execute(sa.text("SELECT id FROM jobs ORDER BY id")).scalars().all()
    assert kept == ids
