"""Burst benchmark: the PostgreSQL drain rate after a burst on stale statistics, beside the rate after ANALYZE.

    .venv/bin/python bench/burst.py                      # a throwaway PostgreSQL (fsync off, as the tests)
    .venv/bin/python bench/burst.py --ledger 3000000 --rounds 3

A ledger is analysed most of the time while few jobs are queued; a burst arrives before autovacuum
re-analyses the table. Each round drains the same burst in that state and again after a fresh ANALYZE, in
claim-and-finish batches in one process (the rate of the median batch), over an emptied table and over a
ledger of finished jobs, and prints both rates and their ratio. `tests/store/test_claim_plan.py` checks the
same state by counting the rows each statement touches, which does not depend on the machine's load;
this script shows what that means in jobs per second. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import rich.console  # noqa: E402
import rich.table  # noqa: E402

from jobdeck import model  # noqa: E402
from jobdeck.store import claim, migrate, transitions  # noqa: E402
from jobdeck.store.database import Database  # noqa: E402
from tests import pgserver  # noqa: E402
from tests.store.ledgers import analyze, fill_with_finished_jobs, truncate  # noqa: E402
from tests.store.ledgers import enqueue_burst as enqueue  # noqa: E402


def drain_rate(db: Database, batch: int) -> float:
    """Claim and finish batches until the queue is empty, as a worker loop does; the median batch's jobs/s."""
    seconds: list[float] = []
    while True:
        started = time.perf_counter()
        with db.write() as conn:
            claimed = claim.claim(db, conn, "bench", batch, lease_seconds=60)
            if not claimed:
                break
            done = model.Status.COMPLETED
            transitions.finish_many(conn, [transitions.Outcome(c.job.id, c.lease_token, done) for c in claimed])
        seconds.append(time.perf_counter() - started)
    return batch / statistics.median(seconds)


def emptied_round(db: Database, burst: int, batch: int) -> tuple[float, float]:
    enqueue(db, 2_000)  # statistics from a table holding only finished jobs, then emptied as between runs
    drain_rate(db, batch)
    analyze(db)
    truncate(db)
    enqueue(db, burst)
    stale = drain_rate(db, batch)
    truncate(db)
    enqueue(db, burst)
    analyze(db)
    fresh = drain_rate(db, batch)
    truncate(db)
    return stale, fresh


def ledger_round(db: Database, burst: int, batch: int) -> tuple[float, float]:
    analyze(db)  # nothing queued: every job in the ledger is finished
    enqueue(db, burst)
    stale = drain_rate(db, batch)
    enqueue(db, burst)
    analyze(db)
    return stale, drain_rate(db, batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--ledger", type=int, default=1_000_000, help="finished jobs under the second burst")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = pgserver.PostgresServer(pathlib.Path(tempfile.mkdtemp(prefix="jobdeck-bench-pg-")))
    server.start()
    console = rich.console.Console()
    table = rich.table.Table("ledger", "round", "after the burst (jobs/s)", "after ANALYZE (jobs/s)", "ratio")
    try:
        states = [("emptied", 0, emptied_round), (f"{args.ledger:,} finished", args.ledger, ledger_round)]
        for name, finished, run in states:
            db = Database(server.create_database(f"burst_{finished}"))
            migrate.upgrade(db)
            with db.write() as conn:  # autovacuum would re-analyse at a moment of its choosing
                conn.exec_driver_sql("ALTER TABLE jobs SET (autovacuum_enabled = false)")
            if finished:
                fill_with_finished_jobs(db, finished)
            for number in range(1, args.rounds + 1):
                stale, fresh = run(db, args.burst, args.batch)
                table.add_row(name, str(number), f"{stale:,.0f}", f"{fresh:,.0f}", f"{stale / fresh:.2f}")
                console.print(f"{name}, round {number}: {stale:,.0f} against {fresh:,.0f} jobs/s")
            db.dispose()
    finally:
        server.stop("immediate")
        shutil.rmtree(server.root, ignore_errors=True)
    console.print(table)


if __name__ == "__main__":
    main()
