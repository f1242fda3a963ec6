"""The PostgreSQL claim after a burst: as fast with statistics gathered while nothing was queued as after ANALYZE.

A ledger is analysed most of the time while few jobs are queued; a burst then arrives before autovacuum
re-analyses the table (only after 10% of its rows changed). A claim whose plan follows the statistics turns
into a nested-loop semi join over every queued row per batch. These tests drain the same burst in that state
and after a fresh ANALYZE, and compare the two rates: a ratio, never an absolute time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import claim, jobs, transitions
from jobdeck.store.database import Database

# Filling a million rows and six drains of 20,000 jobs take minutes on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800), pytest.mark.parametrize("backend", ["postgresql"])]

BURST = 20_000
BATCH = 64
ROUNDS = 5  #: best of five: one slow round on a shared machine says nothing about the plan
LEDGER = 1_000_000


def analyze(db: Database) -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE jobs")


def enqueue_burst(db: Database, count: int = BURST) -> None:
    new = jobs.NewJob(type="noop")
    for done in range(0, count, 5_000):
        jobs.submit_many(db, [new] * min(5_000, count - done))


def drain_rate(db: Database, expected: int = BURST) -> float:
    """Claim and finish batches until the queue is empty, as a worker loop does; jobs per second.

    The rate is taken from the median batch (claim and finish in one transaction): a neighbour's burst
    of load on a shared machine moves a few batches, a plan that scans the queue moves every batch.
    """
    done = 0
    seconds: list[float] = []
    while True:
        started = time.perf_counter()
        with db.write() as conn:
            batch = claim.claim(db, conn, "w1", BATCH, lease_seconds=60)
            if not batch:
                break
            outcomes = [transitions.Outcome(c.job.id, c.lease_token, model.Status.COMPLETED) for c in batch]
            transitions.finish_many(conn, outcomes)
        seconds.append(time.perf_counter() - started)
        done += len(batch)
    assert done == expected
    return BATCH / statistics.median(seconds)


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


def assert_not_trapped(burst_rates: list[float], analysed_rates: list[float]) -> None:
    """The burst drains at least 80% as fast as after ANALYZE. One-sided: the trap makes the burst slower
    (about 2x on an emptied table, about 4x over a million finished jobs, measured); a burst that drains faster is
    the shared machine's noise, not a plan that follows the statistics."""
    burst, analysed = max(burst_rates), max(analysed_rates)
    assert burst >= 0.8 * analysed, f"drain after a burst {burst:,.0f} jobs/s, after ANALYZE {analysed:,.0f} jobs/s"


@pytest.fixture
def emptied(db: Database) -> Iterator[Database]:
    # Autovacuum would re-analyse the table during a drain (and compete for the CPU) at a moment of
    # its choosing; off, both drains run with the statistics the test gave them.
    with db.write() as conn:
        conn.exec_driver_sql("ALTER TABLE jobs SET (autovacuum_enabled = false)")
    yield db
    truncate(db)
    with db.write() as conn:
        conn.exec_driver_sql("ALTER TABLE jobs RESET (autovacuum_enabled)")


def test_a_burst_on_an_emptied_table_drains_as_fast_as_after_analyze(emptied: Database) -> None:
    db = emptied
    burst_rates, analysed_rates = [], []
    for _ in range(ROUNDS):
        # Statistics from a table holding only finished jobs; then the table is emptied, as between runs.
        enqueue_burst(db, 2_000)
        drain_rate(db, 2_000)
        analyze(db)
        truncate(db)
        enqueue_burst(db)
        burst_rates.append(drain_rate(db))

        truncate(db)
        enqueue_burst(db)
        analyze(db)
        analysed_rates.append(drain_rate(db))
        truncate(db)
    assert_not_trapped(burst_rates, analysed_rates)


def test_a_burst_on_a_ledger_of_a_million_finished_jobs_drains_as_fast_as_after_analyze(emptied: Database) -> None:
    db = emptied
    fill_ledger(db, LEDGER)
    burst_rates, analysed_rates = [], []
    for _ in range(ROUNDS):
        analyze(db)  # nothing queued: every job in the ledger is finished
        enqueue_burst(db)
        burst_rates.append(drain_rate(db))

        enqueue_burst(db)
        analyze(db)
        analysed_rates.append(drain_rate(db))
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM jobs WHERE status = 'completed'")).scalar_one() == (
            LEDGER + 2 * ROUNDS * BURST
        )
    assert_not_trapped(burst_rates, analysed_rates)
