"""Import throughput: a generated contacts CSV into SQLite and PostgreSQL, rows/s from enqueue to completed
and the peak RSS of the worker, of the child process that reads the file for it, and of both together.

    .venv/bin/python bench/imports.py                       # 1,000,000 rows, clean and 5% invalid, both databases
    .venv/bin/python bench/imports.py --rows 200000 --backend sqlite
    .venv/bin/python bench/imports.py --database-url postgresql://user@host/db   # an existing PostgreSQL

The worker runs in its own process (as `jobdeck worker` does) so its peak RSS is its own. It first imports
a one-row file into another target, as a worker that has imported before: it then keeps a reading process
started ahead (JOBDECK_ISOLATED_SPARE), which the timed import takes. --cold times a worker's first import,
whose reading process starts when the job does.

After the imports of the clean file it times the write path alone on each database: the file's rows,
already read into memory, written by the import's own writer (`imports/writer.py`) in chunks of
JOBDECK_IMPORT_CHUNK_ROWS, one transaction each, into an empty table. No reading, checking, child process
or subtasks: the rate an import whose reading were free would approach (--no-writer-alone skips it).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import pathlib
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from jobdeck import model, settings  # noqa: E402
from jobdeck.imports import targets, writer  # noqa: E402
from jobdeck.service import Service  # noqa: E402

FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Edsger",
    "Barbara",
    "Donald",
    "Ken",
    "Dennis",
    "Margaret",
    "Linus",
    "Guido",
    "Frances",
    "John",
    "Radia",
    "Tim",
]
LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Thompson",
    "Ritchie",
    "Hamilton",
    "Torvalds",
    "Allen",
    "Backus",
]
COMPANIES = ["Analytical Engines", "Bletchley", "Navy", "Eindhoven", "MIT", "Stanford", "Bell Labs", ""]
COUNTRIES = ["GB", "US", "NL", "FR", "DE", "FI", "NO", ""]
#: The kinds of invalid row a 5% file mixes in: each breaks one rule of the contacts target.
BREAKERS = ("bad_email", "bad_date", "required", "not_allowed", "duplicate_key")

WORKER = """
import resource, sys, threading
from jobdeck import settings
from jobdeck.service import Service
service = Service.open(settings.load())
worker = service.worker(1)
thread = threading.Thread(target=worker.run, daemon=True)
thread.start()
print("ready", flush=True)
sys.stdin.readline()
worker.stop()
thread.join(30)
usage = resource.getrusage(resource.RUSAGE_SELF)
child = resource.getrusage(resource.RUSAGE_CHILDREN)  # the reading child, reaped by the worker
print(usage.ru_utime + usage.ru_stime, child.ru_utime + child.ru_stime, flush=True)
"""


MB = 1024 * 1024


class Memory:
    """The RSS of the worker and of its reading child, sampled: each one's peak (VmHWM, which unlike
    ru_maxrss does not inherit the forking parent's size) and the largest sum seen at one moment."""

    def __init__(self, pid: int) -> None:
        self.worker = psutil.Process(pid)
        self.worker_peak = self.child_peak = self.together_peak = 0

    def sample(self) -> None:
        try:
            children = self.worker.children()
            self.worker_peak = max(self.worker_peak, _hwm(self.worker))
            together = self.worker.memory_info().rss
            for child in children:
                self.child_peak = max(self.child_peak, _hwm(child))
                together += child.memory_info().rss
            self.together_peak = max(self.together_peak, together)
        except (psutil.Error, OSError):  # a child that just ended (its /proc entry gone before psutil saw it)
            pass


def _hwm(process: psutil.Process) -> int:
    for line in pathlib.Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def generate(path: pathlib.Path, rows: int, invalid: float, seed: int = 7) -> int:
    """Write the CSV; returns how many rows are invalid."""
    rng = random.Random(seed)
    bad = 0
    prev_email = ""
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("first_name,last_name,email,phone,company,country,created_on\r\n")
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first.lower()}.{last.lower()}.{i}@example.com"
            day = f"20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            country = rng.choice(COUNTRIES)
            if invalid and rng.random() < invalid and i > 0:
                bad += 1
                kind = rng.choice(BREAKERS)
                if kind == "bad_email":
                    email = email.replace("@", " at ")
                elif kind == "bad_date":
                    day = "31/02/2024"
                elif kind == "required":
                    last = ""
                elif kind == "not_allowed":
                    country = "XX"
                else:
                    email = prev_email
            out.write(f"{first},{last},{email},+1 555 {i % 10000:04d},{rng.choice(COMPANIES)},{country},{day}\r\n")
            prev_email = email
    return bad


@contextlib.contextmanager
def database(backend: str, url: str | None, tmp: pathlib.Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'bench.sqlite3'}"
    elif url:
        yield url
    else:
        from tests import pgserver

        with pgserver.running() as server:
            yield server.create_database("jobdeck_bench")


def wait_for(service: Service, user: model.User, job_id: int, memory: Memory | None = None) -> model.Job:
    while not (job := service.get_job(user, job_id)).status.is_terminal:
        if memory:
            memory.sample()
        time.sleep(0.02)
    return job


def warm_up(service: Service, user: model.User, tmp: pathlib.Path) -> list[float]:
    """Two one-product imports, each timed from enqueue to completed: the first starts the worker's reading
    process afresh, the second takes the one started ahead. The worker then has one waiting for the next."""
    seconds = []
    for n in (1, 2):
        path = tmp / f"warm-up-{n}.csv"
        path.write_text(f"sku,name,price,quantity,active\nWARM-{n},Warm-up,1.00,1,true\n", encoding="utf-8")
        with open(path, "rb") as f:
            job = service.start_import(user, f, path.name, "products")
        started = time.perf_counter()
        if (job := wait_for(service, user, job.id)).status is not model.Status.COMPLETED:
            raise SystemExit(f"the warm-up import ended {job.status.value}: {job.error}")
        seconds.append(round(time.perf_counter() - started, 2))
        time.sleep(2)  # the next reading process loads its modules
    return seconds


def run_one(
    backend: str, url: str | None, csv_path: pathlib.Path, rows: int, bad: int, synchronous: str, cold: bool
) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp, database(backend, url, pathlib.Path(tmp)) as db:
        env = {
            **os.environ,
            "JOBDECK_DATABASE_URL": db,
            "JOBDECK_DATA_DIR": str(pathlib.Path(tmp) / "data"),
            "JOBDECK_POLL_SECONDS": "0.05",
            "JOBDECK_SQLITE_SYNCHRONOUS": synchronous,
            "PYTHONPATH": str(ROOT),
        }
        os.environ.update({k: v for k, v in env.items() if k.startswith("JOBDECK_")})
        service = Service.open(settings.load())
        if backend == "postgresql":
            with service.db.write() as conn:  # start from an empty table when reusing a database
                conn.exec_driver_sql("TRUNCATE demo_contacts")
        user = service.accounts.create_user("bench", "bench password 123", is_admin=True)
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert worker.stdout is not None and worker.stdin is not None
            assert worker.stdout.readline().strip() == "ready"
            small = [] if cold else warm_up(service, user, pathlib.Path(tmp))
            started = time.perf_counter()
            with open(csv_path, "rb") as f:
                job = service.start_import(user, f, csv_path.name, "contacts")
            enqueued = time.perf_counter()
            memory = Memory(worker.pid)
            job = wait_for(service, user, job.id, memory)
            done = time.perf_counter()
            worker.stdin.write("\n")
            worker.stdin.flush()
            cpu_s, child_cpu_s = worker.stdout.readline().split()
        finally:
            worker.wait(60)
        service.close()
    if job.status is not model.Status.COMPLETED:
        raise SystemExit(f"the import ended {job.status.value}: {job.error}")
    return {
        "backend": backend,
        "worker": "first import" if cold else "has imported before",
        "rows": rows,
        "invalid": bad,
        "upload_s": round(enqueued - started, 2),
        "import_s": round(done - enqueued, 2),
        "rows_per_s": int(rows / (done - enqueued)),
        "peak_rss_mb": round(memory.worker_peak / MB),
        "child_peak_rss_mb": round(memory.child_peak / MB),
        "together_peak_rss_mb": round(memory.together_peak / MB),
        # CPU seconds of the worker process (writing) and its child (reading and checking), start-up included:
        # less at the mercy of a busy machine than wall time.
        "worker_cpu_s": round(float(cpu_s), 1),
        "child_cpu_s": round(float(child_cpu_s), 1),
        "rows_per_cpu_s": int(rows / (float(cpu_s) + float(child_cpu_s))),
        "load_avg_1m": round(os.getloadavg()[0], 1),
        "description": job.description,
        # the one-row imports before it: the first starts its reading process, the second takes a spare
        **({"one_row_import_s": small} if small else {}),
    }


def writer_alone(backend: str, url: str | None, csv_path: pathlib.Path, synchronous: str) -> dict[str, object]:
    """Rows/s of the write path alone: the import's Writer over the file's rows, read beforehand."""
    with open(csv_path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        columns = next(reader)
        rows = [tuple(r) for r in reader]
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp, database(backend, url, pathlib.Path(tmp)) as db:
        os.environ.update(
            JOBDECK_DATABASE_URL=db,
            JOBDECK_DATA_DIR=str(pathlib.Path(tmp) / "data"),
            JOBDECK_SQLITE_SYNCHRONOUS=synchronous,
        )
        service = Service.open(settings.load())
        chunk = service.settings.import_chunk_rows
        targets.ensure_tables(service.db)
        with service.db.write() as conn:
            conn.exec_driver_sql("DELETE FROM demo_contacts")
        write = writer.Writer(targets.TARGETS.get("contacts"), columns, service.db.engine.dialect)
        started = time.perf_counter()
        for start in range(0, len(rows), chunk):
            with service.db.write() as conn:
                write.write(conn, rows[start : start + chunk])
        elapsed = time.perf_counter() - started
        service.close()
    return {
        "backend": backend,
        "rows": len(rows),
        "chunk_rows": chunk,
        "write_s": round(elapsed, 2),
        "rows_per_s": int(len(rows) / elapsed),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--database-url", help="an existing PostgreSQL database instead of a throwaway server")
    parser.add_argument("--invalid", default="0,0.05", help="comma-separated shares of invalid rows to try")
    parser.add_argument("--sqlite-synchronous", choices=["FULL", "NORMAL"], default="FULL")
    parser.add_argument("--no-writer-alone", action="store_true", help="skip timing the write path alone")
    parser.add_argument("--cold", action="store_true", help="time the worker's first import (no spare waiting)")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-csv-") as tmp:
        for share in [float(s) for s in args.invalid.split(",")]:
            path = pathlib.Path(tmp) / f"contacts-{int(share * 100)}pct.csv"
            bad = generate(path, args.rows, share)
            size_mb = path.stat().st_size / 1024 / 1024
            for backend in backends:
                result = run_one(backend, args.database_url, path, args.rows, bad, args.sqlite_synchronous, args.cold)
                print(f"{path.name} ({size_mb:.0f} MB) {result}", flush=True)
            if share == 0 and not args.no_writer_alone:
                for backend in backends:
                    alone = writer_alone(backend, args.database_url, path, args.sqlite_synchronous)
                    print(f"{path.name} write path alone {alone}", flush=True)


if __name__ == "__main__":
    main()
