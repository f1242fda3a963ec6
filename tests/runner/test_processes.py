"""Real worker processes (`python -m jobdeck worker`) on both databases: many at once, SIGKILL, SIGTERM."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import jobs as job_rows
from jobdeck.store import migrate, schema
from jobdeck.store.database import Database
from tests import kinds
from tests.conftest import wait_for
from tests.runner import kinds_extra

pytestmark = pytest.mark.slow
ROOT = pathlib.Path(__file__).resolve().parents[2]
JOB_MODULES = f"jobdeck.demo,tests.kinds,{kinds_extra.__name__}"
j = schema.jobs
s = schema.subtasks
#: A lease short enough that a dead worker's jobs come back within seconds, long enough that a live one keeps
#: it on a loaded 2-core machine: it beats every 0.5 s, so only 7.5 s of silence (15 missed beats) loses it.
SHORT_LEASE = {"JOBDECK_LEASE_SECONDS": "8", "JOBDECK_HEARTBEAT_SECONDS": "0.5"}
#: How long a wait for something that takes a second on an idle machine may last before the test fails.
PATIENCE_S = 90


class Workers:
    """Starts `jobdeck worker` processes against one database and never leaves one running."""

    def __init__(self, database_url: str, tmp_path: pathlib.Path) -> None:
        self.database_url = database_url
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_")}
        environ.update(
            JOBDECK_DATABASE_URL=self.database_url,
            JOBDECK_DATA_DIR=str(self.tmp_path / "data"),
            JOBDECK_JOB_MODULES=JOB_MODULES,
            PYTHONPATH=os.pathsep.join([str(ROOT), environ.get("PYTHONPATH", "")]),
            **env,
        )
        log = open(self.tmp_path / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 (the process owns it)
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobdeck", "worker", *args], cwd=ROOT, env=environ, stdout=log, stderr=log
        )
        log.close()
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp_path.glob("worker-*.log")))

    def log_of(self, proc: subprocess.Popen[bytes]) -> str:
        return (self.tmp_path / f"worker-{self.procs.index(proc)}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(database_url: str, tmp_path: pathlib.Path) -> Iterator[Workers]:
    pool = Workers(database_url, tmp_path)
    yield pool
    pool.stop_all()


def statuses(db: Database) -> dict[str, int]:
    with db.read() as conn:
        return dict(conn.execute(sa.select(j.c.status, sa.func.count()).group_by(j.c.status)).all())


def jobs_by_id(db: Database, ids: list[int]) -> dict[int, model.Job]:
    with db.read() as conn:
        return {i: job_rows.get(conn, i) for i in ids}


def running(db: Database, ids: list[int]) -> bool:
    """Every job's function has begun (its "Started" subtask is done), not merely been claimed."""
    s = schema.subtasks
    stmt = sa.select(sa.func.count()).where(
        s.c.job_id.in_(ids), s.c.name == kinds_extra.STARTED, s.c.status == model.SubtaskStatus.COMPLETED.value
    )
    with db.read() as conn:
        return conn.execute(stmt).scalar_one() == len(ids)


def submit(db: Database, type_name: str, count: int, max_attempts: int = 1, **params: object) -> list[int]:
    new = job_rows.NewJob(type=type_name, params=dict(params), max_attempts=max_attempts)
    return job_rows.submit_many(db, [new] * count)


@pytest.mark.timeout(600)
def test_four_processes_of_four_threads_run_each_of_5000_jobs_exactly_once(db: Database, workers: Workers) -> None:
    kinds.create_ledger(db.engine)
    ids = submit(db, "t_record", 5000, max_attempts=3)
    procs = [workers.start("--burst", "--concurrency", "4") for _ in range(4)]
    for proc in procs:  # 90 to 220 s were measured on a loaded 2-core machine
        assert proc.wait(timeout=480) == 0, workers.logs()
    with db.read() as conn:
        runs = dict(
            conn.execute(sa.select(kinds.ledger.c.job_id, sa.func.count()).group_by(kinds.ledger.c.job_id)).all()
        )
        pids = set(conn.execute(sa.select(kinds.ledger.c.pid).distinct()).scalars())
    assert sorted(runs) == ids
    assert set(runs.values()) == {1}, "some job ran more than once"
    assert statuses(db) == {"completed": 5000}
    assert pids <= {p.pid for p in procs} and len(pids) > 1, "the work was not shared between processes"


def test_jobs_of_a_killed_worker_are_requeued_or_failed_naming_it_once_the_lease_expires(
    db: Database, workers: Workers
) -> None:
    doomed = submit(db, "t_hang", 2, max_attempts=1, seconds=600)
    again = submit(db, "t_stall_first_attempt", 2, max_attempts=2, seconds=600)
    victim = workers.start("--concurrency", "4", **SHORT_LEASE)
    wait_for(lambda: statuses(db) == {"in_progress": 4}, timeout=PATIENCE_S)
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    workers.start("--concurrency", "4", **SHORT_LEASE)  # its reaper finds the expired leases; then runs the requeued
    wait_for(lambda: statuses(db) == {"failed": 2, "completed": 2}, timeout=PATIENCE_S)

    jobs = jobs_by_id(db, doomed + again)
    for job_id in doomed:
        assert jobs[job_id].status is model.Status.FAILED
        assert f"pid {victim.pid}" in (jobs[job_id].error or "")
        assert jobs[job_id].failed_at is not None and jobs[job_id].lease_expires_at is None
    for job_id in again:
        assert (jobs[job_id].status, jobs[job_id].attempt) == (model.Status.COMPLETED, 2)
    with db.read() as conn:
        notes = [line.message for line in job_rows.log_lines(conn, again[0])]
    assert any(f"pid {victim.pid}" in note and "requeued" in note for note in notes)


def stopping_gracefully(workers: Workers, proc: subprocess.Popen[bytes]) -> bool:
    """The worker has handled a first SIGTERM (it logs it before it stops claiming)."""
    return "stopping (gracefully)" in workers.log_of(proc)


def test_sigterm_lets_running_jobs_finish_within_the_grace_period_and_hands_back_the_rest(
    db: Database, workers: Workers, tmp_path: pathlib.Path
) -> None:
    release = tmp_path / "release"
    quick = submit(db, kinds_extra.UNTIL_RELEASED, 2, release=str(release))
    slow = submit(db, kinds_extra.UNTIL_RELEASED, 2, release=str(tmp_path / "never"), seconds=600)
    proc = workers.start("--concurrency", "4", JOBDECK_SHUTDOWN_GRACE_SECONDS="15")
    wait_for(lambda: running(db, quick + slow), timeout=PATIENCE_S)
    proc.send_signal(signal.SIGTERM)
    wait_for(lambda: stopping_gracefully(workers, proc), timeout=PATIENCE_S)
    release.touch()  # the quick jobs end only now, inside the grace period: they were running at the signal
    assert proc.wait(timeout=PATIENCE_S) == 0, workers.logs()

    jobs = jobs_by_id(db, quick + slow)
    assert [jobs[i].status for i in quick] == [model.Status.COMPLETED] * 2
    for job_id in slow:
        job = jobs[job_id]
        assert (job.status, job.worker_id, job.lease_token) == (model.Status.QUEUED, None, None)
        assert job.max_attempts - job.attempt == 1  # the handed-back run did not count
    assert statuses(db) == {"completed": 2, "queued": 2}
    with db.read() as conn:
        live = conn.execute(sa.select(sa.func.count()).select_from(schema.workers)).scalar_one()
    assert live == 0, "the worker did not deregister"


def test_a_second_sigterm_hands_running_jobs_back_at_once(
    db: Database, workers: Workers, tmp_path: pathlib.Path
) -> None:
    slow = submit(db, kinds_extra.UNTIL_RELEASED, 2, release=str(tmp_path / "never"), seconds=600)
    proc = workers.start("--concurrency", "2", JOBDECK_SHUTDOWN_GRACE_SECONDS="3600")
    wait_for(lambda: running(db, slow), timeout=PATIENCE_S)
    proc.send_signal(signal.SIGTERM)
    wait_for(lambda: stopping_gracefully(workers, proc), timeout=PATIENCE_S)  # else both may arrive as one
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=PATIENCE_S) == 0, workers.logs()  # long before the hour of grace
    assert [job.status for job in jobs_by_id(db, slow).values()] == [model.Status.QUEUED] * 2


@pytest.fixture
def empty_database_url(backend: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        (tmp_path / "empty").mkdir()  # jobdeck never creates a database's directory
        return f"sqlite:///{tmp_path / 'empty' / 'jobdeck.sqlite3'}"
    server = request.getfixturevalue("pg")
    if isinstance(server, str):
        pytest.skip("needs the PostgreSQL server the test set-up starts, to create an empty database")
    return str(server.create_database("jobdeck_empty"))


def test_workers_started_together_on_an_empty_database_migrate_it_once_and_all_run(
    empty_database_url: str, tmp_path: pathlib.Path
) -> None:
    pool = Workers(empty_database_url, tmp_path)
    try:
        procs = [pool.start("--burst") for _ in range(4)]
        assert [p.wait(timeout=PATIENCE_S) for p in procs] == [0, 0, 0, 0], pool.logs()
    finally:
        pool.stop_all()
    db = Database(empty_database_url)
    try:
        assert migrate.current(db) == migrate.head()
    finally:
        db.dispose()


# PostgreSQL only: a SQLite writer paused inside its write transaction holds the database lock, so
# nobody could reclaim anything until it resumes; tests/chaos/test_fencing.py pauses SQLite workers
# between their transactions instead. On PostgreSQL the server ends a session left idle in a
# transaction for longer than the lease, so even a pause at the worst moment is recovered.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_paused_worker_that_resumes_after_its_job_was_reclaimed_changes_nothing(
    db: Database, workers: Workers, tmp_path: pathlib.Path
) -> None:
    release = tmp_path / "release"
    # Its first run holds the job until the test lets it finish: after the zombie resumes.
    [job_id] = submit(db, "t_stall_first_attempt", 1, max_attempts=2, seconds=600, release=str(release))
    zombie = workers.start("--concurrency", "1", **SHORT_LEASE)
    wait_for(lambda: running(db, [job_id]), timeout=PATIENCE_S)
    zombie.send_signal(signal.SIGSTOP)  # a long GC pause, a frozen VM: alive, but silent past its lease
    try:
        workers.start("--concurrency", "1", **SHORT_LEASE)
        try:
            wait_for(lambda: statuses(db) == {"completed": 1}, timeout=PATIENCE_S)
        except AssertionError:
            raise AssertionError(f"{jobs_by_id(db, [job_id])}\n{workers.logs()}") from None
        finished = jobs_by_id(db, [job_id])[job_id]
    finally:
        zombie.send_signal(signal.SIGCONT)
    assert finished.attempt == 2
    assert f":{zombie.pid}:" not in str(finished.worker_id)

    release.touch()  # the zombie's run now returns and tries to record its result
    abandoned = re.compile(rf"job {job_id}: (lease lost|finished after its lease was lost)")
    wait_for(lambda: abandoned.search(workers.log_of(zombie)) is not None, timeout=PATIENCE_S)
    assert jobs_by_id(db, [job_id])[job_id] == finished, "the stale worker's write went through"
    zombie.send_signal(signal.SIGTERM)
    assert zombie.wait(timeout=PATIENCE_S) == 0, workers.logs()
