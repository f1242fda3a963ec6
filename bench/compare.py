"""jobdeck beside its peers, in one run on one machine: pgqueuer on PostgreSQL, Huey on SQLite.

    .venv/bin/python bench/compare.py                      # 20,000-job drains, 1 and 2 worker processes
    .venv/bin/python bench/compare.py --jobs 5000 --processes 1 --backend sqlite
    .venv/bin/python bench/compare.py --rounds 3          # each system three times, in turn: medians and spreads

The peers are installed into their own virtual environment (default: ~/.cache/jobdeck-bench/peers, made on
first use from the registry, pinned below), never into jobdeck's, and driven through bench/peers.py. Every
system runs the same measures against the same database server or the same disk:

- enqueue one at a time (each its own commit) and in batches (one statement per batch; Huey has none);
- drain: N no-op jobs queued, then worker processes started until the queue is empty (wall time, start-up
  included for every system alike);
- pickup: an idle worker in another process, one job enqueued at a time, enqueue to the first line of the
  job's body (p50 / p99).

PostgreSQL is measured in the burst state: statistics gathered (ANALYZE) while the queue was empty, then the
burst enqueued, the state a real ledger is in between bursts. The PostgreSQL server runs with its durable
defaults (fsync, synchronous_commit on); SQLite runs with synchronous=FULL for both jobdeck and Huey.
Figures are printed, never asserted: this is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import rich.console  # noqa: E402
import rich.table  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import throughput  # noqa: E402

from jobdeck.store.database import Database  # noqa: E402

PEERS = ["pgqueuer==1.6.0", "huey==3.5.4", "asyncpg==0.32.0", "psycopg[binary]==3.3.9"]
DEFAULT_VENV = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "jobdeck-bench/peers"


def peers_python(venv: pathlib.Path) -> pathlib.Path:
    """The peers' interpreter, the environment made and filled on first use."""
    python = venv / "bin" / "python"
    marker = venv / ".jobdeck-peers"
    if not marker.exists() or marker.read_text() != "\n".join(PEERS):
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEERS], check=True)
        marker.write_text("\n".join(PEERS))
    return python


class Peers:
    def __init__(self, python: pathlib.Path, tmp: pathlib.Path) -> None:
        self.python = python
        self.tmp = tmp
        self.count = 0

    def run(self, *argv: str, huey_file: pathlib.Path | None = None) -> dict[str, Any]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        if huey_file is not None:
            env["PEER_HUEY_FILE"] = str(huey_file)
        out = subprocess.run(
            [str(self.python), str(HERE / "peers.py"), *argv], env=env, cwd=self.tmp, check=True, capture_output=True
        )
        result: dict[str, Any] = json.loads(out.stdout.decode().strip().splitlines()[-1])
        return result

    def huey_file(self) -> pathlib.Path:
        self.count += 1
        return self.tmp / f"huey-{self.count}.sqlite3"


def analyze(url: str) -> None:
    """Statistics gathered with the queue empty (the burst trap of a real ledger)."""
    db = Database(url)
    with db.write() as conn:
        conn.execute(sa.text("ANALYZE"))
    db.dispose()


class Compare:
    def __init__(self, args: argparse.Namespace, tmp: pathlib.Path) -> None:
        self.args = args
        self.dbs = throughput.Backends(args, tmp)
        self.peers = Peers(peers_python(args.peers_venv), tmp)
        #: every round's figure, by system and measure (a round measures each system once, side by side)
        self.rates: dict[tuple[str, str], list[float]] = {}
        self.console = rich.console.Console()

    def note(self, system: str, measure: str, value: float, unit: str = "jobs/s") -> None:
        self.rates.setdefault((system, measure), []).append(value)
        self.console.print(f"{system}: {measure}: {_figure(value, measure)} {unit}")

    def pg_database(self, name: str) -> str:
        self.peers.count += 1
        url: str = self.dbs._server().create_database(f"{name}_{self.peers.count}")
        return url

    def postgresql(self) -> None:
        a = self.args
        url = self.dbs.url("postgresql")
        analyze(url)
        self.note("jobdeck (PostgreSQL)", "enqueue one", throughput.enqueue_single(url, a.enqueue_jobs))
        self.note("jobdeck (PostgreSQL)", "enqueue batch", throughput.enqueue_batch(url, a.jobs, a.batch))
        url = self.pg_database("pgq")
        self.peers.run("pgq-install", url)
        one = self.peers.run("pgq-enqueue", url, str(a.enqueue_jobs), "--analyze-empty")
        self.note("pgqueuer", "enqueue one", one["jobs_per_second"])
        batch = self.peers.run("pgq-enqueue", url, str(a.jobs), "--batch", str(a.batch))
        self.note("pgqueuer", "enqueue batch", batch["jobs_per_second"])
        for processes in a.processes:
            url = self.dbs.url("postgresql")
            analyze(url)
            _, wall = throughput.drain(url, a.jobs, processes, a.concurrency, None)
            self.note("jobdeck (PostgreSQL)", f"drain x{processes}", wall)
            url = self.pg_database("pgq")
            self.peers.run("pgq-install", url)
            drained = self.peers.run("pgq-drain", url, str(a.jobs), str(processes), "--analyze-empty")
            self.note("pgqueuer", f"drain x{processes}", drained["jobs_per_second"])
        url = self.dbs.url("postgresql")
        found = throughput.pickup(url, a.pickup_samples, False, 4)
        self.note("jobdeck (PostgreSQL)", "pickup p50", found.p50_ms, "ms")
        self.note("jobdeck (PostgreSQL)", "pickup p99", found.p99_ms, "ms")
        url = self.pg_database("pgq")
        self.peers.run("pgq-install", url)
        picked = self.peers.run("pgq-pickup", url, str(a.pickup_samples))
        self.note("pgqueuer", "pickup p50", picked["p50_ms"], "ms")
        self.note("pgqueuer", "pickup p99", picked["p99_ms"], "ms")

    def sqlite(self) -> None:
        a = self.args
        url = self.dbs.url("sqlite")
        self.note("jobdeck (SQLite)", "enqueue one", throughput.enqueue_single(url, a.enqueue_jobs))
        self.note("jobdeck (SQLite)", "enqueue batch", throughput.enqueue_batch(url, a.jobs, a.batch))
        one = self.peers.run("huey-enqueue", "-", str(a.enqueue_jobs), huey_file=self.peers.huey_file())
        self.note("Huey (SQLite)", "enqueue one", one["jobs_per_second"])
        for processes in a.processes:
            _, wall = throughput.drain(self.dbs.url("sqlite"), a.jobs, processes, a.concurrency, None)
            self.note("jobdeck (SQLite)", f"drain x{processes}", wall)
            drained = self.peers.run("huey-drain", "-", str(a.jobs), str(processes), huey_file=self.peers.huey_file())
            self.note("Huey (SQLite)", f"drain x{processes}", drained["jobs_per_second"])
        found = throughput.pickup(self.dbs.url("sqlite"), a.pickup_samples, False, 4)
        self.note("jobdeck (SQLite)", "pickup p50", found.p50_ms, "ms")
        self.note("jobdeck (SQLite)", "pickup p99", found.p99_ms, "ms")
        picked = self.peers.run("huey-pickup", "-", str(a.pickup_samples), huey_file=self.peers.huey_file())
        self.note("Huey (SQLite)", "pickup p50", picked["p50_ms"], "ms")
        self.note("Huey (SQLite)", "pickup p99", picked["p99_ms"], "ms")

    def report(self) -> None:
        measures = ["enqueue one", "enqueue batch"]
        measures += [f"drain x{p}" for p in self.args.processes] + ["pickup p50", "pickup p99"]
        systems = list(dict.fromkeys(system for system, _ in self.rates))
        rounds = self.args.rounds
        title = "jobs/s (pickup: ms)"
        if rounds > 1:
            title += f", median of {rounds} rounds, lowest to highest in brackets"
        table = rich.table.Table("system", *measures, title=title)
        for system in systems:
            table.add_row(system, *(_spread(self.rates.get((system, m), []), m) for m in measures))
        for ours, theirs in [("jobdeck (PostgreSQL)", "pgqueuer"), ("jobdeck (SQLite)", "Huey (SQLite)")]:
            if ours not in systems or theirs not in systems:
                continue
            cells = []
            for m in measures:
                # Each round's ratio pairs the two systems measured minutes apart, so the machine's swings
                # between rounds move both. For rates higher is better, for pickup times lower: "x as good".
                pairs = zip(self.rates.get((ours, m), []), self.rates.get((theirs, m), []), strict=False)
                good = [
                    (mine / peer if not m.startswith("pickup") else peer / mine)
                    for mine, peer in pairs
                    if mine and peer
                ]
                cells.append(_spread(good, "ratio"))
            table.add_row(f"{ours} / {theirs}", *cells)
        table.caption = "load average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
        self.console.print(table)


def _figure(value: float, measure: str) -> str:
    if measure == "ratio":
        return f"{value:.2f}x"
    return f"{value:,.1f}" if measure.startswith("pickup") else f"{value:,.0f}"


def _spread(values: list[float], measure: str) -> str:
    """The median, and with several rounds the lowest and highest."""
    if not values:
        return "—"
    middle = _figure(statistics.median(values), measure)
    if len(values) == 1:
        return middle
    return f"{middle} [{_figure(min(values), measure)}-{_figure(max(values), measure)}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs per drain and per batch enqueue")
    parser.add_argument("--enqueue-jobs", type=int, default=2_000, help="jobs enqueued one at a time")
    parser.add_argument("--batch", type=int, default=5_000, help="jobs per batch")
    parser.add_argument("--processes", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=16, help="threads per jobdeck worker process")
    parser.add_argument("--pickup-samples", type=int, default=100)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--peers-venv", type=pathlib.Path, default=DEFAULT_VENV)
    parser.add_argument("--rounds", type=int, default=1, help="measure every system this many times, in turn")
    args = parser.parse_args()
    # What throughput.Backends reads: a throwaway, durable PostgreSQL at jobdeck's head revision.
    args.database_url, args.pg_fast, args.revision = None, False, "head"
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="jobdeck-compare-"))
    run = Compare(args, tmp)
    try:
        for _ in range(args.rounds):
            if args.backend in ("postgresql", "both"):
                run.postgresql()
            if args.backend in ("sqlite", "both"):
                run.sqlite()
    finally:
        run.dbs.close()
        shutil.rmtree(tmp, ignore_errors=True)
    run.report()


if __name__ == "__main__":
    main()
