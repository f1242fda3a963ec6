"""Waking idle workers: another process's commit wakes a SQLite worker without waiting for its poll."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

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


@pytest.fixture(params=["inotify", "looking every few milliseconds"])
def watching(request: pytest.FixtureRequest, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Wakeup]:
    """A started SQLite watcher, past its first look (and the wake-up that look gives), on either watch."""
    if request.param != "inotify":
        monkeypatch.setattr(walwatch, "inotify_simple", None)
    wakeup = Wakeup(sqlite_db)
    wakeup.start()
    try:
        wait_for(lambda: wakeup.looks > 0 and wakeup.event.is_set())
        wakeup.event.clear()
        yield wakeup
    finally:
        wakeup.stop()
        sqlite_db.dispose()


def commit_elsewhere(db: Database) -> None:
    """A job enqueued through another handle: none of the watched handle's in-process listeners hear it."""
    other = Database(db.url)
    try:
        job_rows.submit(other, job_rows.NewJob(type="noop"))
    finally:
        other.dispose()


def test_a_commit_on_another_sqlite_connection_sets_the_event(watching: Wakeup) -> None:
    commit_elsewhere(watching.db)
    assert watching.event.wait(5), "the commit did not wake the watcher"


def test_the_sqlite_watcher_stays_quiet_while_nothing_is_committed(watching: Wakeup) -> None:
    assert not watching.event.wait(0.5)


@pytest.mark.parametrize("watching", ["inotify"], indirect=True)
def test_an_idle_sqlite_watcher_does_not_look_at_the_database_until_it_is_written(watching: Wakeup) -> None:
    looks = watching.looks
    time.sleep(0.5)
    assert watching.looks == looks  # a 4 ms poll would have looked a hundred times
    commit_elsewhere(watching.db)
    assert watching.event.wait(5), "the commit did not wake the watcher"


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
