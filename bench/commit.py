"""The machine's floor for a job enqueued alone: a durable commit of one row through the bare driver, beside
jobdeck's lone enqueue (`store.jobs.submit`) on the same database, in alternating rounds.

    .venv/bin/python bench/commit.py                        # SQLite (synchronous=FULL) and a throwaway PostgreSQL
    .venv/bin/python bench/commit.py --backend postgresql --rounds 10

A job enqueued on its own is one statement in a transaction of its own, and its commit waits for the disk:
WAL fsync on SQLite (synchronous=FULL), the WAL flush on PostgreSQL (synchronous_commit=on, the server's
default). Neither rate can pass what the disk allows for a commit. The bare measure inserts one short row
into a table with one index, over the driver (sqlite3, psycopg) with nothing around it; jobdeck's inserts a
job row with its indexes through its own path. The rounds alternate, so a change in the disk's latency during
the run (a virtual machine's disk is shared) moves both. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from jobdeck.store import jobs as job_rows  # noqa: E402
from jobdeck.store import migrate  # noqa: E402
from jobdeck.store.database import Database  # noqa: E402

BARE_TABLE = "CREATE TABLE bench_commit (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)"


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    """p50 and p99 in ms, and the rate per second over the samples."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000, len(ordered) / sum(ordered)


def _timed(call: Callable[[], object], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def sqlite_bare(path: pathlib.Path) -> Callable[[], object]:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(BARE_TABLE)
    return lambda: conn.execute("INSERT INTO bench_commit (payload) VALUES ('x')")


def postgresql_bare(url: str) -> Callable[[], object]:
    conn = psycopg.connect(sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False))
    conn.autocommit = True
    conn.execute(BARE_TABLE.replace("INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY"))
    return lambda: conn.execute("INSERT INTO bench_commit (payload) VALUES ('x')")


def measure(label: str, url: str, bare: Callable[[], object], rounds: int, per_round: int) -> None:
    db = Database(url, sqlite_synchronous="FULL")
    migrate.upgrade(db)
    new = job_rows.NewJob(type="noop")
    enqueue: Callable[[], object] = lambda: job_rows.submit(db, new)  # noqa: E731
    _timed(bare, 50)  # warm both up: the first commits grow the files
    _timed(enqueue, 50)
    samples: dict[str, list[float]] = {"bare commit of one row": [], "jobdeck lone enqueue": []}
    for _ in range(rounds):
        samples["bare commit of one row"] += _timed(bare, per_round)
        samples["jobdeck lone enqueue"] += _timed(enqueue, per_round)
    db.dispose()
    for what, values in samples.items():
        p50, p99, rate = _percentiles(values)
        print(f"{label:11} {what:24} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  {rate:8,.0f}/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--per-round", type=int, default=300)
    args = parser.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="jobdeck-bench-commit-"))
    try:
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{tmp / 'jobdeck.sqlite3'}"
            measure("SQLite", url, sqlite_bare(tmp / "bare.sqlite3"), args.rounds, args.per_round)
        if args.backend in ("postgresql", "both"):
            from bench.throughput import _durable_server_class

            server = _durable_server_class()(pathlib.Path(tempfile.mkdtemp(prefix="jobdeck-bench-pg-")))
            os.chmod(server.root, 0o755)
            server.start()
            try:
                url = server.create_database("bench_commit")
                measure("PostgreSQL", url, postgresql_bare(url), args.rounds, args.per_round)
            finally:
                server.stop("immediate")
                shutil.rmtree(server.root, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("load average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
