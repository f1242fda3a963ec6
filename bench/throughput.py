"""Throughput benchmark: enqueue rate, drain rate through real worker processes, and pickup latency.

    .venv/bin/python bench/throughput.py                    # SQLite and a throwaway PostgreSQL
    .venv/bin/python bench/throughput.py --jobs 5000 --backend sqlite
    .venv/bin/python bench/throughput.py --database-url postgresql://user@host/db   # an existing (empty) database

SQLite runs with jobdeck's durable default (WAL, synchronous=FULL). The throwaway PostgreSQL runs with the
server's own defaults (fsync and synchronous_commit on) unless --pg-fast, which turns them off as the tests do.
--profile DIR records each drain worker with py-spy (`pip install py-spy`; it slows the workers a lot,
so read its output for proportions, not rates). Figures are printed, never asserted: this is not a test.

    .venv/bin/python bench/throughput.py --only retries --jobs 5000 --backend sqlite --concurrency 4

--only retries drains the same number of jobs four ways, one process: none delayed; each with a not_before
already past; queued behind as many jobs delayed by an hour (the claim skips them); and jobs that raise
once and are retried at once (no backoff), so each runs twice and writes two attempt rows.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import rich.console  # noqa: E402
import rich.table  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from jobdeck import settings  # noqa: E402
from jobdeck.runner.context import JobContext  # noqa: E402
from jobdeck.runner.registry import job_type  # noqa: E402
from jobdeck.service import Service  # noqa: E402
from jobdeck.store import jobs as job_rows  # noqa: E402
from jobdeck.store import migrate, rows, schema  # noqa: E402
from jobdeck.store.database import Database  # noqa: E402
from jobdeck.wiring import Wiring  # noqa: E402

PICKUP_TYPE = "bench_pickup"
RETRY_TYPE = "bench_retry_once"
IDLE_CPU_SECONDS = 10.0
#: A batch below the size from which PostgreSQL batches go by COPY.
SMALL_BATCH = 100
#: Workers import this file under this name (JOBDECK_JOB_MODULES) to know the pickup probe.
MODULE_NAME = "throughput"
j = schema.jobs


@job_type(PICKUP_TYPE, title="Pickup probe", audience="admins")
def pickup_probe(ctx: JobContext) -> None:
    """Notes the wall-clock time it started; the enqueuer runs on the same machine, so on the same clock."""
    ctx.log(repr(time.time()))


@job_type(RETRY_TYPE, title="Raises once", audience="admins", max_attempts=2, backoff_base=0, backoff_cap=0)
def retry_once(ctx: JobContext) -> None:
    """Raises on its first attempt (queued again at once: no backoff), succeeds on its second."""
    if ctx.attempt == 1:
        raise RuntimeError("first attempt fails on purpose")


# -- databases -----------------------------------------------------------------------------------
class Backends:
    """Fresh, migrated databases: SQLite files in a temporary folder, PostgreSQL databases in one server."""

    def __init__(self, args: argparse.Namespace, tmp: pathlib.Path) -> None:
        self.args = args
        self.tmp = tmp
        self.count = 0
        self._pg: Any = None
        self._stack = contextlib.ExitStack()

    def url(self, backend: str) -> str:
        self.count += 1
        if backend == "sqlite":
            url = f"sqlite:///{self.tmp / f'bench-{self.count}.sqlite3'}"
        elif self.args.database_url:
            url = self.args.database_url
            _drop_tables(url)
        else:
            url = self._server().create_database(f"bench_{self.count}")
        db = Database(url)
        migrate.upgrade(db, self.args.revision)
        db.dispose()
        return url

    def _server(self) -> Any:
        if self._pg is None:
            from tests import pgserver

            cls = pgserver.PostgresServer if self.args.pg_fast else _durable_server_class()
            server = cls(pathlib.Path(tempfile.mkdtemp(prefix="jobdeck-bench-pg-")))
            os.chmod(server.root, 0o755)
            server.start()
            self._stack.callback(shutil.rmtree, server.root, True)
            self._stack.callback(server.stop, "immediate")
            self._pg = server
        return self._pg

    def close(self) -> None:
        self._stack.close()


def _durable_server_class() -> type:
    from tests import pgserver

    class DurablePostgres(pgserver.PostgresServer):
        """The test server, but with PostgreSQL's durable defaults (fsync, synchronous_commit, full_page_writes)."""

        def start(self) -> None:
            if os.geteuid() == 0:
                shutil.chown(self.root, "postgres", "postgres")
            initdb = [pgserver._bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
            subprocess.run(pgserver._as_owner(initdb), check=True, stdout=subprocess.DEVNULL)
            options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300"
            ctl = [pgserver._bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"]
            subprocess.run(pgserver._as_owner(ctl), check=True, stdout=subprocess.DEVNULL)

    return DurablePostgres


def _drop_tables(url: str) -> None:
    db = Database(url)
    with db.write() as conn:
        for table in [*reversed(schema.metadata.sorted_tables), sa.table("alembic_version")]:
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table.name}" CASCADE')
    db.dispose()


#: SQLite's synchronous mode for this run (jobdeck's default is FULL; NORMAL is the documented opt-in).
SYNCHRONOUS = {"mode": "FULL"}
#: jobs each worker claims beyond its free threads (JOBDECK_PREFETCH)
PREFETCH = {"jobs": "0"}


def _db(url: str) -> Database:
    return Database(url, sqlite_synchronous=SYNCHRONOUS["mode"])


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_")}
    env.update(
        JOBDECK_DATABASE_URL=url,
        JOBDECK_SQLITE_SYNCHRONOUS=SYNCHRONOUS["mode"],
        JOBDECK_PREFETCH=PREFETCH["jobs"],
        JOBDECK_JOB_MODULES=f"jobdeck.demo,{MODULE_NAME}",
        PYTHONPATH=os.pathsep.join([str(ROOT / "bench"), str(ROOT), env.get("PYTHONPATH", "")]),
        **extra,
    )
    return env


# -- measurements --------------------------------------------------------------------------------
def enqueue_single(url: str, n: int) -> float:
    """Jobs/s enqueued one at a time, each in its own transaction (store.jobs.submit)."""
    db = _db(url)
    new = job_rows.NewJob(type="noop")
    started = time.perf_counter()
    for _ in range(n):
        job_rows.submit(db, new)
    elapsed = time.perf_counter() - started
    db.dispose()
    return n / elapsed


def enqueue_batch(url: str, n: int, batch: int) -> float:
    """Jobs/s enqueued in batches, one statement and one transaction per batch (store.jobs.submit_many)."""
    db = _db(url)
    new = job_rows.NewJob(type="noop")
    started = time.perf_counter()
    for done in range(0, n, batch):
        job_rows.submit_many(db, [new] * min(batch, n - done))
    elapsed = time.perf_counter() - started
    db.dispose()
    return n / elapsed


def drain(
    url: str,
    n: int,
    processes: int,
    concurrency: int,
    profile_dir: pathlib.Path | None,
    new: job_rows.NewJob | None = None,
) -> tuple[float, float]:
    """Enqueue n jobs (no-op unless `new` says otherwise), then run `jobdeck worker --burst` processes until
    none is claimable. Returns (jobs/s from the first start to the last end, jobs/s from spawning the
    workers to their exit)."""
    db = _db(url)
    new = new or job_rows.NewJob(type="noop")
    for done in range(0, n, 10_000):
        job_rows.submit_many(db, [new] * min(10_000, n - done))
    command = [sys.executable, "-m", "jobdeck", "worker", "--burst", "--concurrency", str(concurrency)]
    procs = []
    started = time.perf_counter()
    for i in range(processes):
        argv = command
        if profile_dir is not None:
            out = profile_dir / f"{db.dialect}-{processes}x{concurrency}-{i}.txt"
            argv = [
                _py_spy(),
                "record",
                "--format",
                "raw",
                "--threads",
                "--rate",
                "250",
                "-o",
                str(out),
                "--",
                *command,
            ]
        procs.append(subprocess.Popen(argv, env=_env(url), cwd=ROOT, stderr=subprocess.DEVNULL))
    for p in procs:
        p.wait()
    wall = time.perf_counter() - started
    with db.read() as conn:
        first, last, completed = conn.execute(
            sa.select(sa.func.min(j.c.started_at), sa.func.max(j.c.ended_at), sa.func.count()).where(
                j.c.status == "completed"
            )
        ).one()
    db.dispose()
    if completed != n:
        raise SystemExit(f"drain: only {completed} of {n} jobs completed")
    span = (_utc(last) - _utc(first)).total_seconds()
    return n / span, n / wall


def retries(dbs: Backends, backend: str, n: int, concurrency: int) -> list[tuple[str, float]]:
    """The drain of n jobs, one process, four ways, each on a fresh database (see the module's docstring):
    (what, jobs/s) each."""
    results = []
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    ways = [
        ("none delayed", None, None),
        ("not_before already past", job_rows.NewJob(type="noop", not_before=past), None),
        (f"behind {n:,} jobs delayed an hour", None, job_rows.NewJob(type="noop", delay_seconds=3600)),
        ("raise once, retried at once (2 runs each)", job_rows.NewJob(type=RETRY_TYPE, max_attempts=2), None),
    ]
    for what, new, ahead in ways:
        url = dbs.url(backend)
        if ahead is not None:
            db = _db(url)
            for done in range(0, n, 10_000):
                job_rows.submit_many(db, [ahead] * min(10_000, n - done))
            db.dispose()
        span, _ = drain(url, n, 1, concurrency, None, new)
        results.append((what, span))
    return results


def _py_spy() -> str:
    beside = pathlib.Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else "py-spy"


def _utc(value: dt.datetime) -> dt.datetime:
    result = rows.utc(value)
    assert result is not None
    return result


def idle_cpu(url: str, seconds: float) -> float:
    """Share of one core an idle `jobdeck worker` process uses (its wake-up watcher, heartbeat, reaper)."""
    import psutil

    with idle_worker(url, False, 4) as (_, pid):
        process = psutil.Process(pid)
        before = process.cpu_times()
        time.sleep(seconds)
        after = process.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return 100 * used / seconds


@contextlib.contextmanager
def idle_worker(url: str, embedded: bool, concurrency: int) -> Iterator[tuple[Database, int]]:
    """A worker waiting for work: a `jobdeck worker` process, or a pool in this process (as `jobdeck serve`).
    Yields the database handle to enqueue through (in-process wake-ups go to listeners of that same handle)
    and the worker's process id."""
    if embedded:
        config = settings.load(database_url=url, job_modules="jobdeck.demo", sqlite_synchronous=SYNCHRONOUS["mode"])
        service = Service(Wiring(config))
        worker = service.worker(concurrency)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        try:
            time.sleep(0.5)
            yield service.db, os.getpid()
        finally:
            worker.stop(0)
            thread.join()
            service.close()
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobdeck", "worker", "--concurrency", str(concurrency)],
        env=_env(url),
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    db = _db(url)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with db.read() as conn:
                if conn.execute(sa.select(sa.func.count()).select_from(schema.workers)).scalar_one():
                    break
            time.sleep(0.05)
        time.sleep(0.5)  # past its first claim and reap: idle
        yield db, proc.pid
    finally:
        proc.terminate()
        proc.wait()
        db.dispose()


@dataclasses.dataclass(frozen=True)
class Pickup:
    p50_ms: float  #: from just before the enqueue call to the job function's first line
    p99_ms: float
    enqueue_p50_ms: float  #: of which the enqueue call itself (its commit included)
    claim_p50_ms: float  #: created_at to started_at, both on the database clock: enqueue to claim

    def __str__(self) -> str:
        return (
            f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms (enqueue call {self.enqueue_p50_ms:.1f}, "
            f"insert to claim {self.claim_p50_ms:.1f})"
        )


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def pickup(url: str, samples: int, embedded: bool, concurrency: int) -> Pickup:
    """Enqueue single jobs while the workers are idle, one at a time, and time each to the job's start."""
    enqueued: dict[int, tuple[float, float]] = {}
    with idle_worker(url, embedded, concurrency) as (via, _):
        for _ in range(samples + 5):
            before = time.time()
            job_id = job_rows.submit(via, job_rows.NewJob(type=PICKUP_TYPE))
            enqueued[job_id] = (before, time.time() - before)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with via.read() as conn:
                    status = conn.execute(sa.select(j.c.status).where(j.c.id == job_id)).scalar_one()
                if status != "queued" and status != "in_progress":
                    break
                time.sleep(0.002)
            time.sleep(0.02)  # let the worker go idle again
    db = _db(url)
    with db.read() as conn:
        log = schema.job_log
        stmt = sa.select(j.c.id, j.c.created_at, j.c.started_at, log.c.message).join(log, log.c.job_id == j.c.id)
        found = {r.id: r for r in conn.execute(stmt.where(log.c.level == "info"))}
    db.dispose()
    probes = [(found[i], t) for i, t in sorted(enqueued.items())[5:] if i in found]  # the first few warm up
    if len(probes) < samples:
        raise SystemExit(f"pickup: only {len(probes)} of {samples} probes ran")
    waits = [(float(r.message) - before) * 1000 for r, (before, _) in probes]
    calls = [took * 1000 for _, (_, took) in probes]
    claims = [(_utc(r.started_at) - _utc(r.created_at)).total_seconds() * 1000 for r, _ in probes]
    return Pickup(
        statistics.median(waits), _percentile(waits, 0.99), statistics.median(calls), statistics.median(claims)
    )


# -- the report ----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20_000, help="no-op jobs per drain run")
    parser.add_argument("--prefetch", type=int, default=0, help="jobs each worker claims beyond its free threads")
    parser.add_argument("--enqueue-jobs", type=int, default=5_000, help="jobs per enqueue measurement")
    parser.add_argument("--batch", type=int, default=5_000, help="jobs per submit_many call")
    parser.add_argument(
        "--concurrency",
        default="16,64",
        help="threads per worker process, comma-separated to compare (a worker claims at most that many at once)",
    )
    parser.add_argument("--processes", default="1,2,4", help="PostgreSQL worker process counts to drain with")
    parser.add_argument("--pickup-samples", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--database-url", help="use this PostgreSQL database (its jobdeck tables are dropped!)")
    parser.add_argument("--pg-fast", action="store_true", help="throwaway PostgreSQL with fsync off, as in tests")
    parser.add_argument(
        "--sqlite-synchronous", choices=["FULL", "NORMAL"], default="FULL", help="SQLite durability (default FULL)"
    )
    parser.add_argument(
        "--revision", default="head", help="migrate to this schema revision (e.g. 0001: what an index costs)"
    )
    parser.add_argument(
        "--only",
        choices=["enqueue", "drain", "pickup", "retries"],
        action="append",
        help="run only these measures (repeatable); retries runs only when named",
    )
    parser.add_argument("--profile", type=pathlib.Path, help="record py-spy profiles of the drain workers here")
    args = parser.parse_args()
    # An in-process pool's LISTEN thread notices the throwaway server going away at the very end: not news.
    logging.getLogger("jobdeck.runner.wakeup").setLevel(logging.ERROR)
    SYNCHRONOUS["mode"] = args.sqlite_synchronous
    PREFETCH["jobs"] = str(args.prefetch)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    only = set(args.only or ["enqueue", "drain", "pickup"])
    title = f"jobdeck throughput (SQLite synchronous={args.sqlite_synchronous}, "
    title += "PostgreSQL fsync off)" if args.pg_fast else "PostgreSQL durable defaults)"
    table = rich.table.Table("backend", "measurement", "result", title=title)
    console = rich.console.Console()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="jobdeck-bench-"))
    dbs = Backends(args, tmp)
    try:
        for backend in backends:
            if "enqueue" in only:
                url = dbs.url(backend)
                rate = enqueue_single(url, args.enqueue_jobs)
                table.add_row(backend, "enqueue, one at a time", f"{rate:,.0f} jobs/s")
                # Batches below and above jobdeck.store.jobs.COPY_THRESHOLD: arrays or COPY on PostgreSQL.
                for batch in (SMALL_BATCH, args.batch):
                    rate = enqueue_batch(url, args.enqueue_jobs * 4, batch)
                    table.add_row(backend, f"enqueue, batches of {batch:,}", f"{rate:,.0f} jobs/s")
            counts = [1] if backend == "sqlite" else [int(p) for p in args.processes.split(",")]
            for processes in counts if "drain" in only else []:
                for threads in [int(c) for c in args.concurrency.split(",")]:
                    span, wall = drain(dbs.url(backend), args.jobs, processes, threads, args.profile)
                    what = f"drain {args.jobs:,} noop, {processes} process(es) x {threads} threads"
                    table.add_row(backend, what, f"{span:,.0f} jobs/s (with start-up: {wall:,.0f})")
                    console.print(f"{backend}: {what}: {span:,.0f} jobs/s")
            for threads in [int(c) for c in args.concurrency.split(",")] if "retries" in only else []:
                for what, rate in retries(dbs, backend, args.jobs, threads):
                    label = f"drain {args.jobs:,}, 1 process x {threads} threads: {what}"
                    table.add_row(backend, label, f"{rate:,.0f} jobs/s")
                    console.print(f"{backend}: {label}: {rate:,.0f} jobs/s")
            for embedded in (False, True) if "pickup" in only else ():
                samples = args.pickup_samples
                result = pickup(dbs.url(backend), samples, embedded, 4)
                where = "worker in the same process" if embedded else "worker in another process"
                where += f", {samples} probes"
                table.add_row(backend, f"pickup latency, {where}", str(result))
                console.print(f"{backend}: pickup, {where}: {result}")
            if "pickup" not in only:
                continue
            cpu = idle_cpu(dbs.url(backend), IDLE_CPU_SECONDS)
            table.add_row(backend, f"idle worker process, CPU over {IDLE_CPU_SECONDS:.0f} s", f"{cpu:.2f}% of a core")
            console.print(f"{backend}: idle worker CPU {cpu:.2f}% of a core")
    finally:
        dbs.close()
        shutil.rmtree(tmp, ignore_errors=True)
    # The machine may be shared: a busy neighbour moves these figures more than most code changes do.
    table.caption = "load average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    console.print(table)


if __name__ == "__main__":
    main()
