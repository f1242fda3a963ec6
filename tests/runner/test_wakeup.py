"""Waking idle workers: another process's commit wakes a SQLite worker without waiting for its poll."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest

from jobdeck import model
from jobdeck.runner import walwatch
from jobdeck.runner.wakeup import Wakeup
from jobdeck.service import Service
from jobdeck.store import jobs as job_rows
from jobdeck.store.database import Database
from jobdeck.wiring import Wiring, load_job_modules
from tests.conftest import wait_for

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def sqlite_db(tmp_path: pathlib.Path, sqlite_template: pathlib.Path) -> Database:
    target = tmp_path / "jobdeck.sqlite3"
    target.write_bytes(sqlite_template.read_bytes())
    return Database(f"sqlite:///{target}")


def test_a_commit_on_another_sqlite_connection_sets_the_event(sqlite_db: Database) -> None:
    other = Database(sqlite_db.url)  # another handle: none of this handle's in-process listeners
    wakeup = Wakeup(sqlite_db)
    wakeup.start()
    try:
        time.sleep(0.1)
        wakeup.event.clear()
        job_rows.submit(other, job_rows.NewJob(type="noop"))
        assert wakeup.event.wait(5), "the commit did not wake the watcher"
    finally:
        wakeup.stop()
        other.dispose()
        sqlite_db.dispose()


def test_the_sqlite_watcher_stays_quiet_while_nothing_is_committed(sqlite_db: Database) -> None:
    wakeup = Wakeup(sqlite_db)
    wakeup.start()
    try:
        time.sleep(0.1)
        wakeup.event.clear()
        assert not wakeup.event.wait(0.5)
    finally:
        wakeup.stop()
        sqlite_db.dispose()


def test_an_idle_sqlite_watcher_does_not_look_at_the_database_until_it_is_written(sqlite_db: Database) -> None:
    other = Database(sqlite_db.url)
    wakeup = Wakeup(sqlite_db)
    wakeup.start()
    try:
        wait_for(lambda: wakeup.looks > 0)  # its first look, at start
        time.sleep(0.1)
        looks = wakeup.looks
        time.sleep(0.5)
        assert wakeup.looks == looks  # a 4 ms poll would have looked a hundred times
        wakeup.event.clear()
        job_rows.submit(other, job_rows.NewJob(type="noop"))
        assert wakeup.event.wait(5), "the commit did not wake the watcher"
    finally:
        wakeup.stop()
        other.dispose()
        sqlite_db.dispose()


def test_without_inotify_a_commit_still_wakes_the_sqlite_watcher(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(walwatch, "inotify_simple", None)
    other = Database(sqlite_db.url)
    wakeup = Wakeup(sqlite_db)
    wakeup.start()
    try:
        time.sleep(0.1)
        wakeup.event.clear()
        job_rows.submit(other, job_rows.NewJob(type="noop"))
        assert wakeup.event.wait(5), "the commit did not wake the watcher"
    finally:
        wakeup.stop()
        other.dispose()
        sqlite_db.dispose()


@pytest.mark.slow
def test_a_job_enqueued_by_another_process_starts_well_before_the_poll_interval(
    tmp_path: pathlib.Path, sqlite_template: pathlib.Path
) -> None:
    from jobdeck import settings

    target = tmp_path / "jobdeck.sqlite3"
    target.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{target}"
    config = settings.load(database_url=url, data_dir=tmp_path / "data", poll_seconds=60.0, job_modules="jobdeck.demo")
    load_job_modules(config)
    service = Service(Wiring(config))
    worker = service.worker(concurrency=1)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        time.sleep(1.0)  # past the first claim: the worker waits out its 60 s poll
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_")}
        env.update(JOBDECK_DATABASE_URL=url, JOBDECK_DATA_DIR=str(tmp_path / "data"), JOBDECK_POLL_SECONDS="60")
        done = subprocess.run(
            [sys.executable, "-m", "jobdeck", "jobs", "enqueue", "noop"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        job_id = int(done.stdout.strip())

        def job() -> model.Job:
            with service.db.read() as conn:
                return job_rows.get(conn, job_id)

        wait_for(lambda: job().status is not model.Status.QUEUED, timeout=45)
        assert job().status is model.Status.COMPLETED, job().error
        ran = job()
        assert ran.started_at is not None
        # From the insert to the claim, both on the database's clock. Generous for a loaded machine, yet
        # a quarter of the poll interval: the poll did not start it.
        assert (ran.started_at - ran.created_at).total_seconds() < 15
    finally:
        worker.stop(0)
        thread.join()
        service.close()
