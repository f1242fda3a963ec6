"""Waiting for a SQLite log to change: inotify sleeps until the log is written, the fallback looks often."""

from __future__ import annotations

import concurrent.futures
import pathlib
import sqlite3
import time
from collections.abc import Iterator

import pytest

from jobdeck.runner import walwatch


@pytest.fixture
def database(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    path = tmp_path / "watched.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.close()
    yield path


@pytest.fixture
def pool() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        yield executor


def commit_one(path: pathlib.Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("INSERT INTO t VALUES (1)")
    finally:
        conn.close()


def test_on_linux_the_watch_is_inotify(database: pathlib.Path) -> None:
    watch = walwatch.watch(str(database))
    try:
        assert isinstance(watch, walwatch.Notified)
    finally:
        watch.close()


@pytest.fixture
def notified(database: pathlib.Path) -> Iterator[walwatch.Notified]:
    watch = walwatch.Notified(str(database))
    yield watch
    watch.stop()
    watch.close()


def test_a_commit_ends_the_wait(
    database: pathlib.Path, notified: walwatch.Notified, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    waiting = pool.submit(notified.wait)
    commit_one(database)
    assert waiting.result(timeout=10) is True


def test_the_wait_sleeps_while_nothing_is_written(
    notified: walwatch.Notified, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    waiting = pool.submit(notified.wait)
    with pytest.raises(concurrent.futures.TimeoutError):
        waiting.result(timeout=0.5)
    notified.stop()
    assert waiting.result(timeout=10) is False  # stopped, not woken


def test_writes_to_other_files_in_the_folder_do_not_end_the_wait(
    database: pathlib.Path, notified: walwatch.Notified, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    waiting = pool.submit(notified.wait)
    for n in range(5):
        (database.parent / f"upload-{n}.csv").write_text("a,b\n")
    with pytest.raises(concurrent.futures.TimeoutError):
        waiting.result(timeout=0.3)
    commit_one(database)
    assert waiting.result(timeout=10) is True


def test_stop_ends_a_wait_in_progress(database: pathlib.Path, pool: concurrent.futures.ThreadPoolExecutor) -> None:
    watch = walwatch.Notified(str(database))
    waiting = pool.submit(watch.wait)
    time.sleep(0.05)
    watch.stop()
    assert waiting.result(timeout=10) is False
    watch.close()
    watch.stop()  # after close: nothing left to wake, and no error


def test_without_inotify_the_watch_looks_every_few_milliseconds(
    database: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(walwatch, "inotify_simple", None)
    watch = walwatch.watch(str(database))
    try:
        assert isinstance(watch, walwatch.Polling)
        started = time.monotonic()
        assert watch.wait() is True
        assert time.monotonic() - started < 1.0
    finally:
        watch.stop()
        watch.close()
