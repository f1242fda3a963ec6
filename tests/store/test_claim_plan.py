"""The PostgreSQL claim after a burst: its work per batch does not depend on what the statistics say.

A ledger is analysed most of the time while few jobs are queued; a burst then arrives before autovacuum
re-analyses the table (only after 10% of its rows changed). A claim whose plan follows the statistics turns
into a nested-loop semi join over every queued row per batch. These tests put the table in that state and
run one claim under EXPLAIN ANALYZE: the rows its plan touches are counted, not timed, so the check says the
same on a quiet machine and on a loaded one. `bench/throughput.py` measures the drain rates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import claim, transitions, workers
from jobdeck.store.database import Database
from tests.store.ledgers import analyze, enqueue_burst, fill_with_finished_jobs, truncate

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200), pytest.mark.parametrize("backend", ["postgresql"])]

BURST = 20_000
BATCH = 64
LEDGER = 1_000_000
#: A claim by primary key touches about two rows per claimed job (the candidate, then the row it updates);
#: the trap touches every queued row for each job of the batch (BURST x BATCH).
MOST_ROWS_PER_CLAIM = 10 * BATCH


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


Sent = tuple[str, Any]


def statements_sent(db: Database, *operations: Callable[[sa.Connection], object]) -> list[list[Sent]]:
    """Run the operations in one transaction, rolled back; the data statements each sent, as sent."""
    sent: list[list[Sent]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if not statement.startswith("SET "):  # an executemany is replayed one parameter set at a time
            sent[-1].extend((statement, p) for p in (parameters if executemany else [parameters]))

    with db.engine.connect() as conn, conn.begin() as transaction:
        sa.event.listen(conn, "before_cursor_execute", record)
        for operation in operations:
            sent.append([])
            operation(conn)
        sa.event.remove(conn, "before_cursor_execute", record)
        transaction.rollback()
    return sent


def rows_touched(db: Database, *operations: Callable[[sa.Connection], object]) -> list[tuple[str, int, int]]:
    """Replay the last operation's statements under EXPLAIN ANALYZE, after the ones before it, in one
    transaction rolled back; for each statement (its text, the rows it returned, the rows all its plan
    nodes produced)."""
    *before, measured = statements_sent(db, *operations)
    found: list[tuple[str, int, int]] = []
    with db.engine.connect() as conn, conn.begin() as transaction:
        for statement, parameters in [s for phase in before for s in phase]:
            conn.exec_driver_sql(statement, parameters)
        for statement, parameters in measured:
            explained = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
            root = explained[0]["Plan"]
            touched = sum(int(n["Actual Rows"]) * int(n["Actual Loops"]) for n in plan_nodes(root))
            found.append((statement, int(root["Actual Rows"]), touched))
        transaction.rollback()
    return found


def claim_batch(db: Database, lease_seconds: float = 60) -> Callable[[sa.Connection], object]:
    return lambda conn: claim.claim(db, conn, "w1", BATCH, lease_seconds=lease_seconds)


def assert_only_the_batch_is_touched(found: list[tuple[str, int, int]]) -> None:
    assert found, "the operation sent no statement"
    for statement, _, touched in found:
        assert touched <= MOST_ROWS_PER_CLAIM, f"{touched:,} rows touched by {statement[:80]}…"


def rows_touched_by_one_claim(db: Database) -> tuple[int, int]:
    """(jobs claimed, rows touched) by the claim's UPDATE."""
    [(_, claimed, touched)] = [f for f in rows_touched(db, claim_batch(db)) if f[0].startswith("UPDATE jobs")]
    return claimed, touched


def finish_all(conn: sa.Connection) -> object:
    held = conn.execute(sa.text("SELECT id, lease_token FROM jobs WHERE status = 'in_progress'")).all()
    outcomes = [transitions.Outcome(r.id, r.lease_token, model.Status.COMPLETED) for r in held]
    assert len(outcomes) == BATCH
    return transitions.finish_many(conn, outcomes)


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


def stale_statistics_and_a_burst(db: Database) -> None:
    """Statistics from a table holding only finished jobs; then the table is emptied, as between runs, and
    a burst arrives."""
    enqueue_burst(db, 2_000)
    with db.write() as conn:
        conn.exec_driver_sql("UPDATE jobs SET status = 'completed'")
    analyze(db)
    truncate(db)
    enqueue_burst(db, BURST)


def test_a_claim_after_a_burst_on_an_emptied_table_touches_only_its_batch(emptied: Database) -> None:
    stale_statistics_and_a_burst(emptied)
    claimed, touched = rows_touched_by_one_claim(emptied)
    assert claimed == BATCH
    assert touched <= MOST_ROWS_PER_CLAIM, f"one claim of {BATCH} touched {touched:,} rows"


def test_finishing_a_batch_after_a_burst_touches_only_its_batch(emptied: Database) -> None:
    stale_statistics_and_a_burst(emptied)
    assert_only_the_batch_is_touched(rows_touched(emptied, claim_batch(emptied), finish_all))


def test_a_heartbeat_after_a_burst_touches_only_the_workers_batch(emptied: Database) -> None:
    stale_statistics_and_a_burst(emptied)
    found = rows_touched(emptied, claim_batch(emptied), lambda conn: workers.heartbeat(conn, "w1", 60))
    assert [returned for statement, returned, _ in found if statement.startswith("UPDATE jobs")] == [BATCH]
    assert_only_the_batch_is_touched(found)


def test_reaping_an_expired_batch_after_a_burst_touches_only_that_batch(emptied: Database) -> None:
    stale_statistics_and_a_burst(emptied)
    found = rows_touched(emptied, claim_batch(emptied, lease_seconds=0), lambda conn: workers.reap(emptied, conn))
    assert sum(1 for statement, _, _ in found if statement.startswith("UPDATE jobs")) == BATCH
    assert_only_the_batch_is_touched(found)


def test_a_claim_after_a_burst_on_a_ledger_of_a_million_finished_jobs_touches_only_its_batch(
    emptied: Database,
) -> None:
    db = emptied
    fill_with_finished_jobs(db, LEDGER)  # analysed while nothing was queued: every job in the ledger is finished
    enqueue_burst(db, BURST)
    claimed, touched = rows_touched_by_one_claim(db)
    assert claimed == BATCH
    assert touched <= MOST_ROWS_PER_CLAIM, f"one claim of {BATCH} touched {touched:,} rows"
