"""Chaos bench: thousands of jobs through worker processes that are SIGKILLed and restarted at random
while the database goes away once; then it counts what was lost, stuck, run twice or committed twice.

    .venv/bin/python bench/chaos.py                         # 10,000 jobs, 3 workers, a throwaway PostgreSQL
    .venv/bin/python bench/chaos.py --jobs 2000 --kill-every 2 --seed 7
    .venv/bin/python bench/chaos.py --database sqlite       # a SQLite file; the "outage" holds its write lock

Every random choice (the job mix, kill times, victims, when the database goes away) comes from one
seeded generator: the seed is printed, and `--seed` replays the same run. Figures are printed, never
asserted: tests/chaos/test_chaos.py asserts on the same results at a smaller size.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import dataclasses
import datetime as dt
import io
import os
import pathlib
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from jobdeck import model, settings  # noqa: E402
from jobdeck.service import Service  # noqa: E402
from jobdeck.store import jobs as job_rows  # noqa: E402
from jobdeck.store import schema  # noqa: E402
from jobdeck.store.database import Database, db_now  # noqa: E402
from tests import pgserver  # noqa: E402
from tests.chaos import kinds  # noqa: E402

JOB_MODULES = f"jobdeck.demo,{kinds.__name__}"
TERMINAL = ("completed", "failed", "cancelled")
FAIL_MESSAGE = "chaos: failing on purpose"
EMAIL_DOMAIN = "chaos.example"
j = schema.jobs

#: Every change of a job's status (and any write at all to a finished job), recorded by a trigger
#: the bench installs: the engine does not know it is watched.
audit = sa.Table(
    "chaos_audit",
    sa.MetaData(),
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("job_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("old_status", sa.String(16)),
    sa.Column("new_status", sa.String(16)),
    sa.Column("old_token", sa.String(32)),
    sa.Column("new_token", sa.String(32)),
    sa.Column("old_worker", sa.String(64)),
    sa.Column("old_lease_expires_at", sa.DateTime(timezone=True)),
    sa.Column("error", sa.Text),
)
_AUDIT_COLUMNS = "job_id, at, old_status, new_status, old_token, new_token, old_worker, old_lease_expires_at, error"
_AUDIT_VALUES = "NEW.id, {now}, OLD.status, NEW.status, OLD.lease_token, NEW.lease_token, OLD.worker_id, "
_AUDIT_VALUES += "OLD.lease_expires_at, NEW.error"
_AUDIT_WHEN = "OLD.status {differs} NEW.status OR OLD.status IN ('completed', 'failed', 'cancelled')"
_PG_AUDIT = [
    "CREATE FUNCTION chaos_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"INSERT INTO chaos_audit ({_AUDIT_COLUMNS}) VALUES ({_AUDIT_VALUES.format(now='clock_timestamp()')}); "
    "RETURN NULL; END $$",
    "CREATE TRIGGER chaos_audit AFTER UPDATE ON jobs FOR EACH ROW "
    f"WHEN ({_AUDIT_WHEN.format(differs='IS DISTINCT FROM')}) EXECUTE FUNCTION chaos_audit_row()",
]
_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"
_SQLITE_AUDIT = [
    f"CREATE TRIGGER chaos_audit AFTER UPDATE ON jobs FOR EACH ROW WHEN {_AUDIT_WHEN.format(differs='IS NOT')} "
    f"BEGIN INSERT INTO chaos_audit ({_AUDIT_COLUMNS}) VALUES ({_AUDIT_VALUES.format(now=_SQLITE_NOW)}); END",
]


def install_audit(db: Database) -> None:
    """Create the ledger and audit tables and the trigger that fills the audit."""
    kinds.create_ledger(db.engine)
    audit.metadata.create_all(db.engine)
    with db.write() as conn:
        for ddl in _PG_AUDIT if db.is_postgresql else _SQLITE_AUDIT:
            conn.exec_driver_sql(ddl)


def epoch(value: dt.datetime) -> float:
    """Seconds since the epoch; SQLite hands back naive UTC datetimes."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()


# -- processes -----------------------------------------------------------------------------------
def worker_env(database_url: str, data_dir: pathlib.Path, lease_seconds: float, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_")}
    env.update(
        JOBDECK_DATABASE_URL=database_url,
        JOBDECK_DATA_DIR=str(data_dir),
        JOBDECK_FILE_STORAGE="database",
        JOBDECK_JOB_MODULES=JOB_MODULES,
        JOBDECK_LEASE_SECONDS=str(lease_seconds),
        JOBDECK_POLL_SECONDS="0.2",
        JOBDECK_SHUTDOWN_GRACE_SECONDS="2",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
    )
    env.update(extra)
    return env


class Processes:
    """`python -m jobdeck …` processes of one run, each logging to its own file; none is left behind."""

    def __init__(self, env: dict[str, str], log_dir: pathlib.Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        """Start `python -m jobdeck ARGS` (default: a worker of 4 threads), with `env` added to its environment."""
        args = args or ("worker", "--concurrency", "4")
        log = open(self.log_dir / f"{args[0]}-{len(self.started)}.log", "wb")  # noqa: SIM115 (the child owns it)
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobdeck", *args],
            cwd=ROOT,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own: the worker and any child it started stop together
        )
        log.close()
        self.started.append(proc)
        return proc

    def log_of(self, proc: subprocess.Popen[bytes]) -> str:
        index = self.started.index(proc)
        return next(self.log_dir.glob(f"*-{index}.log")).read_text(errors="replace")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')}" for p in sorted(self.log_dir.glob("*.log")))

    def stop_all(self, grace_s: float = 10.0) -> None:
        running = [p for p in self.started if p.poll() is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGCONT)  # a paused process cannot act on SIGTERM
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for proc in self.started:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # anything of its group still there


# -- the workload --------------------------------------------------------------------------------
@dataclasses.dataclass
class Config:
    backend: str = "postgresql"
    jobs: int = 10_000
    workers: int = 3
    concurrency: int = 4
    kill_every: float = 3.0
    seed: int = 0
    duration_limit: float = 900.0
    lease_seconds: float = 3.0
    outage_seconds: float = 5.0  #: PostgreSQL stopped this long (SQLite: its write lock held this long)
    imports: int = 5
    import_rows: int = 2000
    import_chunk_rows: int = 500

    @property
    def reap_seconds(self) -> float:
        return max(0.2, self.lease_seconds / 6)


@dataclasses.dataclass
class Workload:
    submitted: int = 0
    by_type: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    #: import job id → (its email prefix, rows it should write)
    imports: dict[int, tuple[str, int]] = dataclasses.field(default_factory=dict)


def contacts_csv(prefix: str, rows: int, rng: random.Random) -> tuple[bytes, int]:
    """A contacts file with emails `<prefix><n>@chaos.example`; about 2% of rows are rejected (bad email)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["first_name", "last_name", "email", "country"])
    valid = 0
    for n in range(rows):
        bad = rng.random() < 0.02
        email = f"not-an-email-{n}" if bad else f"{prefix}{n}@{EMAIL_DOMAIN}"
        valid += not bad
        writer.writerow([f"First{n}", f"Last{n}", email, rng.choice(["FR", "DE", "US", "JP"])])
    return out.getvalue().encode(), valid


def _new_job(service: Service, type_name: str, params: dict[str, Any]) -> job_rows.NewJob:
    job_type = service.registry.get(type_name)
    clean = job_type.validate_params(params)
    return job_rows.NewJob(
        type=type_name,
        tab=job_type.tab,
        description=job_type.description_for(clean),
        params=clean,
        max_attempts=job_type.max_attempts,
        queue=job_type.queue,
    )


def _pick(service: Service, rng: random.Random) -> job_rows.NewJob:
    roll = rng.random()
    if roll < 0.45:
        return _new_job(service, "noop", {})
    if roll < 0.70:
        return _new_job(service, "sleep", {"seconds": rng.choice([0.02, 0.05, 0.1, 0.2])})
    if roll < 0.90:
        ms = rng.choice([0, 5, 20, 50])
        return _new_job(service, kinds.RECORD, {"before_ms": ms, "after_ms": ms})
    return _new_job(service, "fail", {"message": FAIL_MESSAGE})


def enqueue(service: Service, user: model.User, cfg: Config, rng: random.Random) -> Workload:
    """The seeded mix: no-ops, short sleeps, ledger writers, failures, and `cfg.imports` contact imports."""
    work = Workload()
    specs: list[job_rows.NewJob | None] = [_pick(service, rng) for _ in range(cfg.jobs - cfg.imports)]
    for _ in range(cfg.imports):
        specs.insert(rng.randrange(len(specs) + 1), None)  # None: an import goes here in the queue
    batch: list[job_rows.NewJob] = []
    for spec in [*specs, None]:
        if spec is not None:
            batch.append(spec)
            work.by_type[spec.type] += 1
        if spec is None or len(batch) >= 500:
            if batch:
                job_rows.submit_many(service.db, batch)
            batch = []
        if spec is None and len(work.imports) < cfg.imports:
            number = len(work.imports)
            data, valid = contacts_csv(f"c{number}-", cfg.import_rows, rng)
            job = service.start_import(user, io.BytesIO(data), f"contacts-{number}.csv", "contacts")
            work.imports[job.id] = (f"c{number}-", valid)
            work.by_type["import"] += 1
    work.submitted = sum(work.by_type.values())
    return work


# -- the run -------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Kill:
    pid: int
    at: float  #: time.time() of the SIGKILL
    held: int  #: jobs the victim held at that moment


def status_counts(db: Database) -> dict[str, int] | None:
    """Jobs by status, or None while the database is away."""
    try:
        with db.read() as conn:
            return {s: int(n) for s, n in conn.execute(sa.select(j.c.status, sa.func.count()).group_by(j.c.status))}
    except sa.exc.SQLAlchemyError:
        return None


def held_by(db: Database, pid: int) -> int:
    with contextlib.suppress(sa.exc.SQLAlchemyError), db.read() as conn:
        stmt = sa.select(sa.func.count()).where(j.c.status == "in_progress", j.c.worker_id.like(f"%:{pid}:%"))
        return int(conn.execute(stmt).scalar_one())
    return -1


class Outage:
    """Takes the database away for a while: PostgreSQL stopped and started again; SQLite's write lock held."""

    def __init__(self, server: pgserver.PostgresServer | None, sqlite_path: str | None) -> None:
        self.server = server
        self.sqlite_path = sqlite_path

    def __call__(self, seconds: float) -> tuple[float, float]:
        """Returns when the database went away and when it was back (time.time())."""
        began = time.time()
        if self.server is not None:
            self.server.stop()
            time.sleep(seconds)
            self.server.restart()
        elif self.sqlite_path is not None:
            lock = sqlite3.connect(self.sqlite_path, timeout=60, isolation_level=None)
            lock.execute("BEGIN EXCLUSIVE")
            began = time.time()
            time.sleep(seconds)
            lock.execute("ROLLBACK")
            lock.close()
        return began, time.time()


@dataclasses.dataclass
class Run:
    """What happened while the bench drove the workers."""

    kills: list[Kill] = dataclasses.field(default_factory=list)
    exits: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)
    outage: tuple[float, float] | None = None
    started: float = 0.0
    last_kill: float | None = None
    idle_at: float | None = None
    timed_out: bool = False


def drive(
    db: Database,
    pool: Processes,
    cfg: Config,
    work: Workload,
    rng: random.Random,
    outage: Callable[[float], tuple[float, float]] | None,
    say: Callable[[str], None] = print,
) -> Run:
    """Run the workers to an idle queue: SIGKILL a random one every ~kill_every seconds while jobs are
    queued (restarting it at once), take the database away once, restart any worker that exits."""
    run = Run(started=time.time())
    procs = [pool.start("worker", "--concurrency", str(cfg.concurrency)) for _ in range(cfg.workers)]
    outage_at = int(work.submitted * rng.uniform(0.3, 0.6)) if outage and cfg.outage_seconds > 0 else None
    next_kill = time.monotonic() + cfg.kill_every * rng.uniform(0.5, 1.5)
    deadline = time.monotonic() + cfg.duration_limit
    next_report = 0.0
    chaos = cfg.kill_every > 0
    while True:
        for slot, proc in enumerate(procs):
            if proc.poll() is not None:  # it stopped by itself (e.g. the database was gone longer than the lease)
                run.exits[proc.returncode] += 1
                procs[slot] = pool.start("worker", "--concurrency", str(cfg.concurrency))
        counts = status_counts(db)
        if counts is None:
            time.sleep(0.2)
            continue
        done = sum(counts.get(s, 0) for s in TERMINAL)
        now = time.monotonic()
        if now >= next_report:
            next_report = now + 5
            say(f"  {time.time() - run.started:6.1f}s  {counts}  kills={len(run.kills)}  exits={dict(run.exits)}")
        if outage and outage_at is not None and run.outage is None and done >= outage_at:
            say(f"  taking the database away for {cfg.outage_seconds:g}s")
            run.outage = outage(cfg.outage_seconds)
            continue
        if counts.get("queued", 0) == 0 and (run.outage is not None or outage_at is None):
            chaos = False  # the last batch is running: from here on, recovery
        if not counts.get("queued") and not counts.get("in_progress") and done == work.submitted:
            run.idle_at = time.time()
            return run
        if now >= deadline:
            run.timed_out = True
            return run
        if chaos and now >= next_kill:
            slot = rng.randrange(cfg.workers)
            victim = procs[slot]
            if victim.poll() is None:
                held = held_by(db, victim.pid)
                victim.kill()
                victim.wait()
                run.kills.append(Kill(victim.pid, time.time(), held))
                run.last_kill = run.kills[-1].at
                procs[slot] = pool.start("worker", "--concurrency", str(cfg.concurrency))
            next_kill = now + cfg.kill_every * rng.uniform(0.5, 1.5)
        time.sleep(0.05)


# -- what the ledger says afterwards -------------------------------------------------------------
@dataclasses.dataclass
class Results:
    backend: str
    workers: int
    jobs: int
    seed: int
    kills: int = 0
    held_at_kills: int = 0  #: jobs the victims held when they were killed
    worker_exits: dict[int, int] = dataclasses.field(default_factory=dict)  #: exit status → count (not kills)
    completed: int = 0
    failed: int = 0
    failed_on_purpose: int = 0  #: the `fail` jobs
    failed_worker_lost: int = 0  #: "Worker lost": no attempts left when their worker died (terminal, honest)
    failed_otherwise: int = 0  #: anything else: a job failed by the chaos rather than by itself
    failed_examples: list[str] = dataclasses.field(default_factory=list)
    lost: int = 0  #: submitted - terminal, after the drain: must be 0
    stuck: int = 0  #: in progress with a lease expired more than lease + reap ago: must be 0
    jobs_run_again: int = 0  #: jobs claimed more than once (at-least-once reruns after a kill)
    extra_runs: int = 0
    ledger_jobs_run_again: int = 0  #: chaos_record jobs whose side effect committed more than once
    duplicate_commits: int = 0  #: jobs whose terminal write was accepted more than once: must be 0
    stale_commits: int = 0  #: ledger rows committed outside their lease: must be 0
    imports_completed: int = 0
    import_rows_duplicated: int = 0  #: must be 0
    import_rows_missing: int = 0  #: rows of completed imports not in the table: must be 0
    import_chunks_rewritten: int = 0  #: a chunk committed by two attempts
    reclaims: int = 0  #: leases the reaper took back (requeued or failed)
    reclaim_after_expiry_s: tuple[float, float, float] = (0.0, 0.0, 0.0)  #: p50, p99, max
    kill_to_reclaim_s: tuple[float, float, float] = (0.0, 0.0, 0.0)
    first_claim_after_outage_s: float | None = None
    recovery_s: float | None = None  #: from the last kill to an idle, consistent queue
    duration_s: float = 0.0
    timed_out: bool = False

    @property
    def passed(self) -> bool:
        return not self.timed_out and not (
            self.lost
            or self.stuck
            or self.duplicate_commits
            or self.stale_commits
            or self.import_rows_duplicated
            or self.import_rows_missing
        )


def _spread(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (0.0, 0.0, 0.0)
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (statistics.median(ordered), p99, ordered[-1])


def _audit_by_job(conn: sa.Connection) -> dict[int, list[Any]]:
    by_job: dict[int, list[Any]] = collections.defaultdict(list)
    for row in conn.execute(sa.select(audit).order_by(audit.c.job_id, audit.c.at, audit.c.id)):
        by_job[row.job_id].append(row)
    return by_job


def _stale_commits(conn: sa.Connection, by_job: dict[int, list[Any]]) -> int:
    """Ledger rows whose lease was not current when they were written (the claim's window in the audit)."""
    stale = 0
    for row in conn.execute(sa.select(kinds.ledger)):
        history = by_job.get(row.job_id, [])
        written = epoch(row.written_at)
        ok = False
        for i, change in enumerate(history):
            if change.new_status == "in_progress" and change.new_token == row.lease_token:
                end = epoch(history[i + 1].at) if i + 1 < len(history) else float("inf")
                ok = epoch(change.at) <= written <= end
                break
        stale += not ok
    return stale


def _import_checks(conn: sa.Connection, work: Workload, res: Results) -> None:
    from jobdeck.demo.imports import contacts_table as contacts

    total, distinct = conn.execute(
        sa.select(sa.func.count(contacts.c.email), sa.func.count(sa.func.distinct(sa.func.lower(contacts.c.email))))
    ).one()
    res.import_rows_duplicated = int(total) - int(distinct)
    for job_id, (prefix, valid) in work.imports.items():
        status = conn.execute(sa.select(j.c.status).where(j.c.id == job_id)).scalar_one()
        present = conn.execute(
            sa.select(sa.func.count()).select_from(contacts).where(contacts.c.email.like(f"{prefix}%"))
        ).scalar_one()
        if status == "completed":
            res.imports_completed += 1
            res.import_rows_missing += max(0, valid - int(present))
        res.import_rows_duplicated += max(0, int(present) - valid)
    s = schema.subtasks
    rewritten = (
        sa.select(s.c.job_id, s.c.name)
        .where(s.c.job_id.in_(list(work.imports)), s.c.status == "completed", s.c.name.like("Rows %"))
        .group_by(s.c.job_id, s.c.name)
        .having(sa.func.count() > 1)
    )
    res.import_chunks_rewritten = len(conn.execute(rewritten).all())


def measure(db: Database, cfg: Config, work: Workload, run: Run) -> Results:
    res = Results(cfg.backend, cfg.workers, work.submitted, cfg.seed, kills=len(run.kills), timed_out=run.timed_out)
    res.held_at_kills = sum(max(k.held, 0) for k in run.kills)
    res.worker_exits = dict(run.exits)
    with db.read() as conn:
        counts: dict[str, int] = dict(conn.execute(sa.select(j.c.status, sa.func.count()).group_by(j.c.status)).all())
        res.completed, res.failed = counts.get("completed", 0), counts.get("failed", 0)
        res.lost = work.submitted - sum(counts.get(s, 0) for s in TERMINAL)
        res.stuck = conn.execute(
            sa.select(sa.func.count()).where(
                j.c.status == "in_progress", j.c.lease_expires_at < db_now(-(cfg.lease_seconds + cfg.reap_seconds))
            )
        ).scalar_one()
        failures = collections.Counter[str]()
        for job_type, error in conn.execute(sa.select(j.c.type, j.c.error).where(j.c.status == "failed")):
            if job_type == "fail" and error == FAIL_MESSAGE:
                res.failed_on_purpose += 1
            elif (error or "").startswith(("Worker lost", model.WORKER_STOPPED)):
                res.failed_worker_lost += 1
            else:
                res.failed_otherwise += 1
                failures[f"{job_type}: {(error or '')[:120]}"] += 1
        res.failed_examples = [f"{n} x {text}" for text, n in failures.most_common(5)]
        by_job = _audit_by_job(conn)
        ledger_runs = collections.Counter(r for (r,) in conn.execute(sa.select(kinds.ledger.c.job_id)))
        res.ledger_jobs_run_again = sum(1 for n in ledger_runs.values() if n > 1)
        res.stale_commits = _stale_commits(conn, by_job)
        _import_checks(conn, work, res)
    kills = {k.pid: k.at for k in run.kills}
    after_expiry: list[float] = []
    after_kill: list[float] = []
    claims_after_outage: list[float] = []
    for history in by_job.values():
        claims = [c for c in history if c.new_status == "in_progress"]
        res.jobs_run_again += len(claims) > 1
        res.extra_runs += max(0, len(claims) - 1)
        finals = [c for c in history if c.new_status in TERMINAL or c.old_status in TERMINAL]
        res.duplicate_commits += len(finals) > 1
        for c in history:
            if run.outage and c.new_status == "in_progress" and epoch(c.at) > run.outage[1]:
                claims_after_outage.append(epoch(c.at) - run.outage[1])
            reaped = c.old_status == "in_progress" and c.new_status in ("queued", "failed")
            if (
                reaped
                and c.old_lease_expires_at is not None
                and (c.new_status == "queued" or (c.error or "").startswith(("Worker lost", model.WORKER_STOPPED)))
            ):
                res.reclaims += 1
                after_expiry.append(epoch(c.at) - epoch(c.old_lease_expires_at))
                pid = int(c.old_worker.split(":")[1]) if c.old_worker and c.old_worker.count(":") >= 2 else None
                if pid in kills:
                    after_kill.append(epoch(c.at) - kills[pid])
    res.reclaim_after_expiry_s = _spread(after_expiry)
    res.kill_to_reclaim_s = _spread(after_kill)
    res.first_claim_after_outage_s = min(claims_after_outage) if claims_after_outage else None
    if run.idle_at is not None:
        res.recovery_s = run.idle_at - (run.last_kill or run.started)
        res.duration_s = run.idle_at - run.started
    else:
        res.duration_s = time.time() - run.started
    return res


# -- putting it together -------------------------------------------------------------------------
def run(
    cfg: Config,
    server: pgserver.PostgresServer | None = None,
    workdir: pathlib.Path | None = None,
    say: Callable[[str], None] = print,
) -> Results:
    """One chaos run on a fresh database (PostgreSQL in `server`, or one we start; or a SQLite file)."""
    rng = random.Random(cfg.seed)
    with contextlib.ExitStack() as stack:
        tmp = workdir or pathlib.Path(tempfile.mkdtemp(prefix="jobdeck-chaos-"))
        if workdir is None:
            stack.callback(shutil.rmtree, tmp, True)
        sqlite_path = None
        if cfg.backend == "postgresql":
            if server is None:
                server = stack.enter_context(pgserver.running())
            url = server.create_database(f"chaos_{cfg.seed}_{os.getpid()}")
        else:
            sqlite_path = str(tmp / "chaos.sqlite3")
            url = f"sqlite:///{sqlite_path}"
        conf = settings.load(
            database_url=url,
            data_dir=tmp / "data",
            file_storage="database",
            job_modules=JOB_MODULES,
            lease_seconds=cfg.lease_seconds,
        )
        service = Service.open(conf)
        stack.callback(service.close)
        install_audit(service.db)
        user = service.accounts.create_user("chaos", "chaos bench password", is_admin=True)
        say(f"seed {cfg.seed}: enqueuing {cfg.jobs:,} jobs on {cfg.backend}")
        work = enqueue(service, user, cfg, rng)
        say(f"  {dict(work.by_type)}")
        env = worker_env(url, tmp / "data", cfg.lease_seconds, JOBDECK_IMPORT_CHUNK_ROWS=str(cfg.import_chunk_rows))
        (tmp / "logs").mkdir(exist_ok=True)
        pool = Processes(env, tmp / "logs")
        stack.callback(pool.stop_all)
        outage = Outage(server if cfg.backend == "postgresql" else None, sqlite_path)
        driven = drive(service.db, pool, cfg, work, rng, outage if cfg.outage_seconds > 0 else None, say)
        return measure(service.db, cfg, work, driven)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(res: Results) -> list[tuple[str, str, str]]:
    """(what, measured, what it must be) rows."""
    spread = "{:.2f} / {:.2f} / {:.2f}"
    return [
        ("backend", res.backend, ""),
        ("worker processes x threads", f"{res.workers} x 4", ""),
        ("jobs submitted", f"{res.jobs:,}", ""),
        ("kills (SIGKILL) / jobs held by the victims", f"{res.kills} / {res.held_at_kills}", ""),
        ("worker exits by themselves (status: count)", str(res.worker_exits or "none"), ""),
        ("completed", f"{res.completed:,}", ""),
        (
            "failed: on purpose / worker lost / otherwise",
            f"{res.failed_on_purpose} / {res.failed_worker_lost} / {res.failed_otherwise}",
            "",
        ),
        ("lost (submitted - terminal)", str(res.lost), "0"),
        ("stuck (in progress, lease long expired)", str(res.stuck), "0"),
        ("jobs run more than once / extra runs", f"{res.jobs_run_again} / {res.extra_runs}", "reported"),
        ("ledger jobs whose side effect committed twice", str(res.ledger_jobs_run_again), "reported"),
        ("duplicate commits (terminal write accepted twice)", str(res.duplicate_commits), "0"),
        ("side effects committed outside their lease", str(res.stale_commits), "0"),
        ("imports completed", f"{res.imports_completed}", ""),
        ("import rows duplicated / missing", f"{res.import_rows_duplicated} / {res.import_rows_missing}", "0 / 0"),
        ("import chunks committed twice", str(res.import_chunks_rewritten), "0"),
        ("leases reclaimed by the reaper", str(res.reclaims), ""),
        ("reclaim after lease expiry p50 / p99 / max s", spread.format(*res.reclaim_after_expiry_s), ""),
        ("kill to reclaim p50 / p99 / max s", spread.format(*res.kill_to_reclaim_s), ""),
        ("first claim after the database was back s", _s(res.first_claim_after_outage_s), ""),
        ("last kill to an idle, consistent queue s", _s(res.recovery_s), ""),
        ("whole run s", _s(res.duration_s), ""),
        ("seed", str(res.seed), ""),
    ]


def print_results(res: Results) -> None:
    import rich.console
    import rich.table

    out = rich.table.Table(title=f"jobdeck chaos run (seed {res.seed})" + (" TIMED OUT" if res.timed_out else ""))
    for name in ("measure", "value", "must be"):
        out.add_column(name)
    for row in table(res):
        out.add_row(*row)
    console = rich.console.Console(width=120)
    console.print(out)
    for example in res.failed_examples:
        console.print(f"  failed otherwise: {example}")
    console.print("PASS" if res.passed else "FAIL")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=3, help="worker processes (4 threads each)")
    parser.add_argument("--kill-every", type=float, default=3.0, help="mean seconds between SIGKILLs (0: none)")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: a new random seed)")
    parser.add_argument("--duration-limit", type=float, default=900.0, help="give up after this many seconds")
    parser.add_argument("--lease", type=float, default=3.0, help="JOBDECK_LEASE_SECONDS for the workers")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds the database is away, once (0: never)")
    parser.add_argument("--imports", type=int, default=5, help="contact imports among the jobs")
    parser.add_argument("--import-rows", type=int, default=2000)
    parser.add_argument("--keep", type=pathlib.Path, default=None, help="keep logs and the SQLite file here")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    cfg = Config(
        backend=args.database,
        jobs=args.jobs,
        workers=args.workers,
        kill_every=args.kill_every,
        seed=seed,
        duration_limit=args.duration_limit,
        lease_seconds=args.lease,
        outage_seconds=args.outage,
        imports=args.imports,
        import_rows=args.import_rows,
    )
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    print(f"seed {seed} (rerun with --seed {seed})")
    res = run(cfg, workdir=args.keep)
    print_results(res)
    return 0 if res.passed else 1


if __name__ == "__main__":
    sys.exit(main())
