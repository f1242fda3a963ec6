"""Where a drain's time goes, per job: the claim, the job call, the finish, and the rest.

    .venv/bin/python bench/breakdown.py                          # 20,000 no-op jobs on SQLite and PostgreSQL
    .venv/bin/python bench/breakdown.py --jobs 5000 --backend postgresql --concurrency 16

A real drain by one worker (the engine `jobdeck worker --burst` runs, in this process so that it can be
timed): N no-op jobs enqueued in batches (on PostgreSQL after ANALYZE with the queue empty, the burst state
of a real ledger), then drained. Every statement is timed at the driver (SQLAlchemy's cursor events), the
worker loop's transaction and turn as a whole, and each job's call and its thread's whole run. Figures are
per job, in microseconds; the loop's lines add up to the drain's wall time (one loop thread claims and
finishes for every job thread), the job threads' lines run beside it. Printed, never asserted: not a test.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import logging
import pathlib
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(HERE), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)

import rich.console  # noqa: E402
import rich.table  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import throughput  # noqa: E402

from jobdeck import settings  # noqa: E402
from jobdeck.runner import calling, pool, worker  # noqa: E402
from jobdeck.service import Service  # noqa: E402
from jobdeck.store import jobs as job_rows  # noqa: E402
from jobdeck.wiring import Wiring  # noqa: E402


def kind_of(statement: str) -> str:
    """Which step of the loop a statement belongs to, from its text."""
    text = " ".join(statement.split()).lower()
    if text.startswith("update jobs set") and "attempt_started_at=" in text:
        return "claim statement"
    if text.startswith(("update jobs set", "insert into job_attempts", "insert into job_log", "with ")):
        return "finish statement"
    return "other statements"


class Timers:
    """Seconds spent per label, summed over threads; a lock keeps the sums whole."""

    def __init__(self) -> None:
        self.seconds: collections.Counter[str] = collections.Counter()
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def add(self, label: str, seconds: float) -> None:
        with self._lock:
            self.seconds[label] += seconds
            self.counts[label] += 1

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(label, time.perf_counter() - started)

        setattr(owner, name, timed)

    def statements(self, engine: sa.Engine) -> None:
        starts: dict[int, float] = {}

        @sa.event.listens_for(engine, "before_cursor_execute")
        def _before(_conn: Any, cursor: Any, _statement: str, *_: Any) -> None:
            starts[id(cursor)] = time.perf_counter()

        @sa.event.listens_for(engine, "after_cursor_execute")
        def _after(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            label = f"{role()}: {kind_of(statement)}"
            self.add(label, time.perf_counter() - starts.pop(id(cursor), time.perf_counter()))

    def finisher(self) -> None:
        """The finisher thread's busy time: from taking outcomes to recording them (its transaction)."""
        took = threading.local()
        take, record = pool.Pool.take_outcomes, pool.Pool.record

        def timed_take(this: pool.Pool) -> Any:
            took.at = time.perf_counter()
            return take(this)

        def timed_record(this: pool.Pool, *args: Any) -> None:
            record(this, *args)
            if role() == "finisher":
                self.add("finisher busy", time.perf_counter() - took.at)

        pool.Pool.take_outcomes, pool.Pool.record = timed_take, timed_record  # type: ignore[method-assign]


def role() -> str:
    """Whose statement: the worker loop (the main thread here), the finisher, or another (heartbeat)."""
    name = threading.current_thread().name
    return "loop" if name == "MainThread" else "finisher" if name == "jobdeck-finish" else "other"


@contextlib.contextmanager
def instrumented(timers: Timers) -> Iterator[None]:
    """Time the loop's turn and transaction, each job's call and each job thread's run."""
    saved = [
        (pool.Pool, "take_outcomes", pool.Pool.take_outcomes),
        (pool.Pool, "record", pool.Pool.record),
        (worker.Worker, "poll", worker.Worker.poll),
        (worker.Worker, "_finish_and_claim", worker.Worker._finish_and_claim),
        (pool.Pool, "execute", pool.Pool.execute),
        (calling, "call", calling.call),
    ]
    timers.wrap(worker.Worker, "poll", "loop turn")
    timers.wrap(worker.Worker, "_finish_and_claim", "loop transaction")
    timers.wrap(pool.Pool, "execute", "job thread run")
    timers.wrap(calling, "call", "job call")
    timers.finisher()
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def measure(url: str, n: int, concurrency: int, prefetch: int = 0) -> tuple[float, Timers]:
    """Drain n no-op jobs with one in-process worker; (wall seconds, timers)."""
    db = throughput._db(url)
    for done in range(0, n, 10_000):
        job_rows.submit_many(db, [job_rows.NewJob(type="noop")] * min(10_000, n - done))
    db.dispose()
    config = settings.load(
        database_url=url, job_modules="jobdeck.demo", sqlite_synchronous=throughput.SYNCHRONOUS["mode"]
    )
    service = Service(Wiring.open(config))
    timers = Timers()
    timers.statements(service.db.engine)
    engine = service.worker(concurrency, prefetch=prefetch)
    with instrumented(timers):
        started = time.perf_counter()
        ran = engine.run(burst=True)
        wall = time.perf_counter() - started
    service.close()
    if ran != n:
        raise SystemExit(f"breakdown: {ran} of {n} jobs ran")
    return wall, timers


def rows_for(wall: float, n: int, t: Timers) -> list[tuple[str, float]]:
    s = t.seconds
    per = 1e6 / n
    kinds = ["claim statement", "finish statement", "other statements"]
    loop_sql = sum(s[f"loop: {k}"] for k in kinds)
    finisher_sql = sum(s[f"finisher: {k}"] for k in kinds)
    in_txn = max(0.0, s["loop transaction"] - loop_sql)
    loop_rest = max(0.0, s["loop turn"] - s["loop transaction"])
    waiting = max(0.0, wall - s["loop turn"])
    found = [
        ("loop: claim statement", s["loop: claim statement"] * per),
        ("loop: finish statement(s)", s["loop: finish statement"] * per),
        ("loop: other statements (begin, settings)", s["loop: other statements"] * per),
        ("loop: commit and Python in the transaction (rows to jobs, contexts)", in_txn * per),
        ("loop: Python outside the transaction (outcomes, limits)", loop_rest * per),
        ("loop: waiting for a thread to free up", waiting * per),
        ("= wall time per job", wall * per),
    ]
    if s["finisher busy"]:
        found += [
            ("finisher (beside the loop): finish statements", s["finisher: finish statement"] * per),
            ("finisher: other statements", s["finisher: other statements"] * per),
            ("finisher: commit and Python", max(0.0, s["finisher busy"] - finisher_sql) * per),
            ("finisher: idle", max(0.0, wall - s["finisher busy"]) * per),
        ]
    return [
        *found,
        ("job threads: the job call (no-op)", s["job call"] * per),
        ("job threads: run around the call (context, outcome, metrics)", (s["job thread run"] - s["job call"]) * per),
    ]


def pickup(url: str, samples: int) -> list[tuple[str, float, float]]:
    """An idle worker in another process, one probe enqueued at a time: p50 and p99 (ms) of the enqueue call
    (its commit included) and of the time from its return to the first line of the job."""
    calls: list[float] = []
    after: list[float] = []
    log = throughput.schema.job_log
    with throughput.idle_worker(url, False, 4) as (db, _):
        for i in range(samples + 5):
            before = time.time()
            job_id = job_rows.submit(db, job_rows.NewJob(type=throughput.PICKUP_TYPE))
            returned = time.time()
            deadline = time.monotonic() + 10
            started = None
            while started is None and time.monotonic() < deadline:
                with db.read() as conn:
                    started = conn.execute(sa.select(log.c.message).where(log.c.job_id == job_id)).scalar()
                time.sleep(0.001)
            if started is None:
                raise SystemExit(f"pickup: probe {job_id} did not start")
            if i >= 5:  # the first few warm up
                calls.append((returned - before) * 1000)
                after.append((float(started) - returned) * 1000)
            time.sleep(0.02)
    pct = throughput._percentile
    return [
        ("enqueue call (its commit included), p50 / p99", pct(calls, 0.5), pct(calls, 0.99)),
        ("from its return to the job's first line, p50 / p99", pct(after, 0.5), pct(after, 0.99)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16, help="threads of the worker")
    parser.add_argument("--prefetch", type=int, default=0, help="jobs claimed beyond the free threads")
    parser.add_argument("--pickup", type=int, default=0, help="also time this many pickups by an idle worker")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    args.database_url, args.pg_fast, args.revision = None, False, "head"
    # the LISTEN thread notices the throwaway server going away at the very end: not news
    logging.getLogger("jobdeck.runner.wakeup").setLevel(logging.ERROR)
    console = rich.console.Console()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="jobdeck-breakdown-"))
    dbs = throughput.Backends(args, tmp)
    try:
        for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
            url = dbs.url(backend)
            postgresql = backend == "postgresql"
            if postgresql:
                import compare

                compare.analyze(url)
            wall, timers = measure(url, args.jobs, args.concurrency, args.prefetch)
            title = f"{backend}: {args.jobs:,} no-op jobs, 1 worker x {args.concurrency} threads"
            title += f", prefetch {args.prefetch}: {args.jobs / wall:,.0f} jobs/s; microseconds per job"
            table = rich.table.Table("where", "µs/job", title=title)
            for label, micros in rows_for(wall, args.jobs, timers):
                table.add_row(label, f"{micros:,.1f}")
            turns, finishes = timers.counts["loop transaction"], timers.counts["finisher busy"]
            table.caption = f"{turns:,} loop transactions, {args.jobs / max(1, turns):.1f} jobs claimed in each"
            if finishes:
                table.caption += f"; {finishes:,} finisher transactions, {args.jobs / finishes:.1f} jobs each"
            console.print(table)
            if args.pickup:
                found = pickup(dbs.url(backend), args.pickup)
                table = rich.table.Table("pickup, idle worker in another process", "p50 ms", "p99 ms", title=backend)
                for label, p50, p99 in found:
                    table.add_row(label, f"{p50:.1f}", f"{p99:.1f}")
                console.print(table)
    finally:
        dbs.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
