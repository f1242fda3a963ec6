"""The plans of the grid's pages on SQLite (EXPLAIN QUERY PLAN, no timing), in a database without statistics
(no ANALYZE), as every SQLite ledger is: each sort walks its index and never sorts the tab; a search with few
matches looks them up by primary key, a search with many walks the sort's index."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from jobdeck import model
from jobdeck.query import JobFilter, JobQuery
from jobdeck.store import jobs, listing, search
from jobdeck.store.database import Database

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def page_plan(db: Database, query: JobQuery) -> str:
    """The query plan of the statement that reads the page (the last one list_jobs runs)."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.read() as conn:
            listing.list_jobs(conn, query)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    statement, parameters = statements[-1]
    with db.read() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return "\n".join(str(r[3]) for r in rows)


@pytest.fixture
def ledger(db: Database) -> Database:
    news = [jobs.NewJob(type="noop", description=f"{'nightly report' if i % 2 else 'export'} {i}") for i in range(400)]
    jobs.submit_many(db, news)
    return db


@pytest.mark.parametrize("sort", sorted(set(listing.SORTS) - {"id"}))
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_every_sort_of_a_tab_walks_an_index_without_sorting(ledger: Database, sort: str, order: str) -> None:
    plan = page_plan(ledger, JobQuery(JobFilter(tab=model.Tab.GENERAL), sort=sort, order=order, limit=50))
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan
    assert "TEMP B-TREE" not in plan


@pytest.mark.parametrize("sort", sorted(listing.SORTS))
@pytest.mark.parametrize(
    "flt",
    [
        JobFilter(tab=model.Tab.GENERAL, visible_to=7),
        JobFilter(tab=model.Tab.GENERAL, visible_to=7, statuses=(model.Status.FAILED,)),
        JobFilter(tab=model.Tab.GENERAL, visible_to=7, type="noop"),
    ],
    ids=["all", "failed", "type"],
)
def test_an_ordinary_users_page_reads_only_their_own_jobs(ledger: Database, sort: str, flt: JobFilter) -> None:
    plan = page_plan(ledger, JobQuery(flt, sort=sort, limit=50))
    assert "SEARCH jobs USING INDEX ix_jobs_run_by_tab_id (run_by_id=?" in plan
    if sort == "id":
        assert "TEMP B-TREE" not in plan  # their newest first is the index's own order


@pytest.mark.parametrize("sort", ["id", "ended_at", "description"])
def test_a_search_with_few_matches_looks_them_up_by_primary_key(ledger: Database, sort: str) -> None:
    plan = page_plan(ledger, JobQuery(JobFilter(tab=model.Tab.GENERAL, q="report 17"), sort=sort, limit=50))
    assert "SEARCH jobs USING INTEGER PRIMARY KEY" in plan
    assert "SCAN jobs" not in plan  # no walk over the tab's jobs, whatever the order


@pytest.mark.parametrize(
    ("sort", "index"),
    [
        ("id", "ix_jobs_tab_id"),
        ("ended_at", "ix_jobs_ended_at_sort"),
        ("created_at", "ix_jobs_created_at_sort"),
        ("description", "ix_jobs_description_sort"),
    ],
)
def test_a_search_with_many_matches_walks_the_sort_index(
    ledger: Database, monkeypatch: pytest.MonkeyPatch, sort: str, index: str
) -> None:
    monkeypatch.setattr(search, "FEW_MATCHES", 10)
    plan = page_plan(ledger, JobQuery(JobFilter(tab=model.Tab.GENERAL, q="report"), sort=sort, limit=50))
    assert index in plan
    assert "TEMP B-TREE" not in plan
