"""The PostgreSQL claim after a burst: its work per batch does not depend on what the statistics say.

A ledger is analysed most of the time while few jobs are queued; a burst then arrives before autovacuum
re-analyses the table (only after 10% of its rows changed). A claim whose plan follows the statistics turns
into a nested-loop semi join over every queued row per batch. These tests put the table in that state and
run one claim under EXPLAIN ANALYZE: the rows its plan touches are counted, not timed, so the check says the
same on a quiet machine and on a loaded one. `bench/throughput.py` measures the drain rates.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from jobdeck.store import claim, jobs
from jobdeck.store.database import Database

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200), pytest.mark.parametrize("backend", ["postgresql"])]

BURST = 20_000
BATCH = 64
LEDGER = 1_000_000
#: A claim by primary key touches about two rows per claimed job (the candidate, then the row it updates);
#: the trap touches every queued row for each job of the batch (BURST x BATCH).
MOST_ROWS_PER_CLAIM = 10 * BATCH


def analyze(db: Database) -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE jobs")


def enqueue_burst(db: Database, count: int = BURST) -> None:
    new = jobs.NewJob(type="noop")
    for done in range(0, count, 5_000):
        jobs.submit_many(db, [new] * min(5_000, count - done))


def truncate(db: Database) -> None:
    # TRUNCATE keeps the column statistics: the planner still believes what the last ANALYZE saw.
    with db.write() as conn:
        conn.exec_driver_sql("TRUNCATE jobs RESTART IDENTITY CASCADE")


def fill_ledger(db: Database, count: int) -> None:
    with db.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO jobs (type, tab, description, status, params, queue, priority, attempt, max_attempts,"
            " created_at, started_at, ended_at, progress_done, cancel_requested)"
            " SELECT 'noop', 'general', 'finished job ' || g, 'completed', '{}', 'default', 0, 1, 1,"
            " now() - interval '1 day', now() - interval '1 day', now() - interval '1 day', 0, false"
            " FROM generate_series(1, %(count)s) AS g",
            {"count": count},
        )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE jobs")


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def rows_touched_by_one_claim(db: Database) -> tuple[int, int]:
    """Explain the claim statement jobdeck sends, as sent, under ANALYZE and rolled back; (jobs claimed, rows
    its plan nodes produced in all)."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("UPDATE jobs"):
            sent.append((statement, parameters))

    with db.engine.connect() as conn, conn.begin() as transaction:
        sa.event.listen(conn, "before_cursor_execute", record)
        claim.claim(db, conn, "w1", BATCH, lease_seconds=60)
        sa.event.remove(conn, "before_cursor_execute", record)
        transaction.rollback()
    [(statement, parameters)] = sent
    with db.engine.connect() as conn, conn.begin() as transaction:
        explained = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
        transaction.rollback()
    root = explained[0]["Plan"]
    touched = sum(int(n["Actual Rows"]) * int(n["Actual Loops"]) for n in plan_nodes(root))
    return int(root["Actual Rows"]), touched


@pytest.fixture
def emptied(db: Database) -> Iterator[Database]:
    # Autovacuum would re-analyse the table at a moment of its choosing; off, the claim runs with the
    # statistics the test gave it.
    with db.write() as conn:
        conn.exec_driver_sql("ALTER TABLE jobs SET (autovacuum_enabled = false)")
    yield db
    truncate(db)
    with db.write() as conn:
        conn.exec_driver_sql("ALTER TABLE jobs RESET (autovacuum_enabled)")


def test_a_claim_after_a_burst_on_an_emptied_table_touches_only_its_batch(emptied: Database) -> None:
    db = emptied
    # Statistics from a table holding only finished jobs; then the table is emptied, as between runs.
    enqueue_burst(db, 2_000)
    with db.write() as conn:
        conn.exec_driver_sql("UPDATE jobs SET status = 'completed'")
    analyze(db)
    truncate(db)
    enqueue_burst(db)
    claimed, touched = rows_touched_by_one_claim(db)
    assert claimed == BATCH
    assert touched <= MOST_ROWS_PER_CLAIM, f"one claim of {BATCH} touched {touched:,} rows"


def test_a_claim_after_a_burst_on_a_ledger_of_a_million_finished_jobs_touches_only_its_batch(
    emptied: Database,
) -> None:
    db = emptied
    fill_ledger(db, LEDGER)  # analysed while nothing was queued: every job in the ledger is finished
    enqueue_burst(db)
    claimed, touched = rows_touched_by_one_claim(db)
    assert claimed == BATCH
    assert touched <= MOST_ROWS_PER_CLAIM, f"one claim of {BATCH} touched {touched:,} rows"
