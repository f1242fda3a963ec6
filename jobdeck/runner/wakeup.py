"""Waking idle workers at once: LISTEN on PostgreSQL and a commit watcher on SQLite for other processes'
work, in-process listeners always."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time

import psycopg

from jobdeck.runner import walwatch
from jobdeck.store.database import NOTIFY_CHANNEL, Database

log = logging.getLogger(__name__)
RECONNECT_DELAY_S = 1.0
#: How long after a write to the SQLite log the watcher keeps looking for the commit it belongs to: the log
#: is written before the commit shows (the fsync comes between), so the first look can come too early.
SETTLE_S = 0.25
#: The gap between those looks: about a disk flush, so the commit is seen within a millisecond of showing.
SETTLE_STEP_S = 0.001


class Wakeup:
    """An event set whenever new work may be waiting. Notifications are hints: workers poll as well,
    because NOTIFY is lost behind PgBouncer in transaction mode and while a connection is down."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.event = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch: walwatch.Watch | None = None  #: the SQLite watcher's, made before its thread starts
        self.looks = 0  #: how many times the SQLite watcher has read data_version (for tests and curiosity)

    def start(self) -> None:
        self.db.add_wake_listener(self.event.set)
        if self.db.is_postgresql:
            self._thread = threading.Thread(target=self._listen, name="jobdeck-listen", daemon=True)
            self._thread.start()
        elif self.db.sqlite_file is not None:
            self._watch = walwatch.watch(self.db.sqlite_file)  # watching from here on: no commit slips past
            self._thread = threading.Thread(target=self._watch_sqlite, name="jobdeck-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()
        self.db.remove_wake_listener(self.event.set)

    def wait(self, timeout: float) -> bool:
        woke = self.event.wait(timeout)
        self.event.clear()
        return woke

    def _listen(self) -> None:
        url = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.event.set()  # anything queued while we were not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.event.set()
            except psycopg.Error as exc:
                log.warning("LISTEN connection lost (%s); polling until it is back", exc)
                self._stop.wait(RECONNECT_DELAY_S)

    def _watch_sqlite(self) -> None:
        """Set the event whenever another connection (another process's enqueue) has committed.

        The watch (runner/walwatch.py) wakes this thread when the WAL is written, and only then does it
        read `PRAGMA data_version`, which changes when a connection other than this one commits: a read
        of the shared WAL index, so idle workers never queue for the write lock as a shorter poll would.
        The frames are written before the commit shows, so it looks again every millisecond until
        the version moves (or SETTLE_S passes: a transaction rolled back after writing frames).
        Our own process's commits wake us too: harmless, the loop claims nothing and waits.
        """
        path, watch = self.db.sqlite_file, self._watch
        assert path is not None and watch is not None  # start() only runs the watcher for a file database
        try:
            while not self._stop.is_set():
                try:
                    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                    with contextlib.closing(conn):
                        self._follow(conn, watch)
                except sqlite3.Error as exc:
                    log.warning("watching the SQLite file failed (%s); polling until it works again", exc)
                    self._stop.wait(RECONNECT_DELAY_S)
        finally:
            watch.close()

    def _follow(self, conn: sqlite3.Connection, watch: walwatch.Watch) -> None:
        """Set the event at each change of the data version, until the watch is stopped."""
        last = self._data_version(conn)
        self.event.set()  # anything committed while we were not looking
        while watch.wait():
            settled = time.monotonic() + (SETTLE_S if watch.early else 0.0)
            while (version := self._data_version(conn)) == last:
                if time.monotonic() > settled or self._stop.wait(SETTLE_STEP_S):
                    break
            if version != last:
                last = version
                self.event.set()

    def _data_version(self, conn: sqlite3.Connection) -> int:
        self.looks += 1
        return int(conn.execute("PRAGMA data_version").fetchone()[0])
