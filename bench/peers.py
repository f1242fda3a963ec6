"""The peers' side of bench/compare.py: pgqueuer (PostgreSQL) and Huey (SQLite) doing the same work.

This file runs in its own virtual environment (bench/compare.py creates it), never in jobdeck's: the peers
are not jobdeck's dependencies. Each subcommand prints one JSON object on its last line.

    peers.py pgq-install URL
    peers.py pgq-enqueue URL N [--batch B] [--analyze-empty]
    peers.py pgq-drain URL N PROCESSES [--analyze-empty]
    peers.py pgq-pickup URL SAMPLES
    peers.py huey-enqueue FILE N
    peers.py huey-drain FILE N PROCESSES
    peers.py huey-pickup FILE SAMPLES

Every job body is the same no-op: append one byte to a counter file (O_APPEND, so processes never
interleave), which is how a drain knows it is done; the pickup probes append their start time instead.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

COUNTER = os.environ.get("PEER_COUNTER_FILE", "")
HUEY_FILE = os.environ.get("PEER_HUEY_FILE", "")
QUEUE_NAME = "noop"


def _append(data: bytes) -> None:
    fd = os.open(COUNTER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _wait_for_size(path: pathlib.Path, size: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or path.stat().st_size < size:
        if time.monotonic() > deadline:
            have = path.stat().st_size if path.exists() else 0
            raise SystemExit(f"timed out: {have} of {size} jobs done")
        time.sleep(0.01)


def _child_env(counter: pathlib.Path) -> dict[str, str]:
    here = str(pathlib.Path(__file__).resolve().parent)
    return {**os.environ, "PEER_COUNTER_FILE": str(counter), "PYTHONPATH": here}


# -- pgqueuer ------------------------------------------------------------------------------------
async def _pgq_queries(url: str) -> tuple[Any, Any]:
    import asyncpg
    from pgqueuer import AsyncpgDriver, Queries

    conn = await asyncpg.connect(url)
    return conn, Queries(AsyncpgDriver(conn))


async def _pgq_install(url: str) -> dict[str, Any]:
    conn, queries = await _pgq_queries(url)
    await queries.install()
    await conn.close()
    return {"installed": True}


async def _analyze(url: str) -> None:
    """Gather statistics now, with the queue empty: the state a busy ledger is in between bursts."""
    import asyncpg

    conn = await asyncpg.connect(url)
    await conn.execute("ANALYZE")
    await conn.close()


async def _pgq_enqueue(url: str, n: int, batch: int) -> float:
    conn, queries = await _pgq_queries(url)
    started = time.perf_counter()
    if batch <= 1:
        for _ in range(n):
            await queries.enqueue(QUEUE_NAME, None)
    else:
        for done in range(0, n, batch):
            size = min(batch, n - done)
            await queries.enqueue([QUEUE_NAME] * size, [None] * size, [0] * size)
    elapsed = time.perf_counter() - started
    await conn.close()
    return n / elapsed


async def _pgq_worker(url: str, drain: bool) -> None:
    import asyncpg
    from pgqueuer import AsyncpgDriver, PgQueuer
    from pgqueuer.types import QueueExecutionMode

    conn = await asyncpg.connect(url)
    pgq = PgQueuer(AsyncpgDriver(conn))

    @pgq.entrypoint(QUEUE_NAME)
    async def noop(job: Any) -> None:
        if job.payload:
            _append(f"{time.time()!r} {job.payload.decode()}\n".encode())
        else:
            _append(b".")

    mode = QueueExecutionMode.drain if drain else QueueExecutionMode.continuous
    await pgq.run(mode=mode, dequeue_timeout=dt.timedelta(seconds=30))
    await conn.close()


def pgq_drain(url: str, n: int, processes: int, analyze_empty: bool) -> dict[str, Any]:
    if analyze_empty:
        asyncio.run(_analyze(url))
    asyncio.run(_pgq_enqueue(url, n, 10_000))
    with tempfile.TemporaryDirectory() as tmp:
        counter = pathlib.Path(tmp) / "counter"
        started = time.perf_counter()
        procs = [
            subprocess.Popen([sys.executable, __file__, "pgq-worker", url, "--drain"], env=_child_env(counter))
            for _ in range(processes)
        ]
        for p in procs:
            p.wait()
        wall = time.perf_counter() - started
        done = counter.stat().st_size if counter.exists() else 0
    if done != n:
        raise SystemExit(f"pgqueuer drain: {done} of {n} jobs ran")
    return {"jobs_per_second": n / wall}


def pgq_pickup(url: str, samples: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        counter = pathlib.Path(tmp) / "counter"
        worker = subprocess.Popen([sys.executable, __file__, "pgq-worker", url], env=_child_env(counter))
        try:
            time.sleep(2.0)  # connected, listening and idle

            async def probe() -> list[float]:
                conn, queries = await _pgq_queries(url)
                waits = []
                for i in range(samples + 5):
                    before = time.time()
                    await queries.enqueue(QUEUE_NAME, repr(before).encode())
                    _wait_for_lines(counter, i + 1, 10)
                    line = counter.read_text().splitlines()[i]
                    started, enqueued = (float(x) for x in line.split())
                    waits.append((started - enqueued) * 1000)
                    await asyncio.sleep(0.02)
                await conn.close()
                return waits[5:]

            waits = asyncio.run(probe())
        finally:
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
    return {"p50_ms": statistics.median(waits), "p99_ms": _percentile(waits, 0.99)}


def _wait_for_lines(path: pathlib.Path, lines: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or path.read_bytes().count(b"\n") < lines:
        if time.monotonic() > deadline:
            raise SystemExit("a pickup probe never ran")
        time.sleep(0.0005)


# -- Huey on SQLite ------------------------------------------------------------------------------
def _huey() -> Any:
    from huey import SqliteHuey

    # fsync=True: synchronous=FULL, the durability jobdeck's SQLite runs with by default.
    return SqliteHuey(filename=HUEY_FILE, results=False, fsync=True)


huey = _huey() if HUEY_FILE else None
if huey is not None:

    @huey.task()
    def noop(stamp: float | None = None) -> None:
        if stamp is None:
            _append(b".")
        else:
            _append(f"{time.time()!r} {stamp!r}\n".encode())


def huey_enqueue(n: int) -> dict[str, Any]:
    started = time.perf_counter()
    for _ in range(n):
        noop()
    return {"jobs_per_second": n / (time.perf_counter() - started)}


def _huey_consumer(counter: pathlib.Path, processes: int) -> subprocess.Popen[bytes]:
    consumer = pathlib.Path(sys.executable).parent / "huey_consumer"
    # A short poll interval, as a latency-minded deployment would set it (the default backs off to 10 s).
    argv = [str(consumer), "peers.huey", "-k", "process", "-w", str(processes), "-d", "0.001", "-m", "0.01", "-C"]
    env = {**_child_env(counter), "PEER_HUEY_FILE": HUEY_FILE}
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def huey_drain(n: int, processes: int) -> dict[str, Any]:
    huey_enqueue(n)
    with tempfile.TemporaryDirectory() as tmp:
        counter = pathlib.Path(tmp) / "counter"
        started = time.perf_counter()
        consumer = _huey_consumer(counter, processes)
        try:
            _wait_for_size(counter, n, 600)
            wall = time.perf_counter() - started
        finally:
            consumer.send_signal(signal.SIGINT)
            try:
                consumer.wait(10)
            except subprocess.TimeoutExpired:
                consumer.kill()
    return {"jobs_per_second": n / wall}


def huey_pickup(samples: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        counter = pathlib.Path(tmp) / "counter"
        consumer = _huey_consumer(counter, 1)
        try:
            time.sleep(2.0)
            waits = []
            for i in range(samples + 5):
                noop(time.time())
                _wait_for_lines(counter, i + 1, 10)
                started, enqueued = (float(x) for x in counter.read_text().splitlines()[i].split())
                waits.append((started - enqueued) * 1000)
                time.sleep(0.02)
        finally:
            consumer.send_signal(signal.SIGINT)
            try:
                consumer.wait(10)
            except subprocess.TimeoutExpired:
                consumer.kill()
    waits = waits[5:]
    return {"p50_ms": statistics.median(waits), "p99_ms": _percentile(waits, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.add_argument("target", help="a PostgreSQL URL (pgq-*) or ignored (huey-*: PEER_HUEY_FILE)")
    parser.add_argument("numbers", nargs="*", type=int)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--analyze-empty", action="store_true")
    parser.add_argument("--drain", action="store_true")
    args = parser.parse_args()
    n = args.numbers
    if args.command == "pgq-install":
        result = asyncio.run(_pgq_install(args.target))
    elif args.command == "pgq-enqueue":
        if args.analyze_empty:
            asyncio.run(_analyze(args.target))
        result = {"jobs_per_second": asyncio.run(_pgq_enqueue(args.target, n[0], args.batch))}
    elif args.command == "pgq-drain":
        result = pgq_drain(args.target, n[0], n[1], args.analyze_empty)
    elif args.command == "pgq-pickup":
        result = pgq_pickup(args.target, n[0])
    elif args.command == "pgq-worker":
        asyncio.run(_pgq_worker(args.target, args.drain))
        return
    elif args.command == "huey-enqueue":
        result = huey_enqueue(n[0])
    elif args.command == "huey-drain":
        result = huey_drain(n[0], n[1])
    elif args.command == "huey-pickup":
        result = huey_pickup(n[0])
    else:
        raise SystemExit(f"unknown command {args.command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    # Run as the module `peers`, the name Huey's consumer imports: a task is known by its module's name.
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import peers

    peers.main()
