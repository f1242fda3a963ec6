"""Waking idle workers at once: LISTEN on PostgreSQL and a commit watcher on SQLite for other processes'
work, in-process listeners always."""

from __future__ import annotations

import logging
import sqlite3
import threading

import psycopg

from jobdeck.store.database import NOTIFY_CHANNEL, Database

log = logging.getLogger(__name__)
RECONNECT_DELAY_S = 1.0
#: How often the SQLite watcher asks whether another connection committed: a read of a counter in the
#: shared-memory WAL index, without the write lock, so a few hundred a second cost well under 1% of a core.
SQLITE_WATCH_INTERVAL_S = 0.004


class Wakeup:
    """An event set whenever new work may be waiting. Notifications are hints: workers poll as well,
    because NOTIFY is lost behind PgBouncer in transaction mode and while a connection is down."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.event = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.db.add_wake_listener(self.event.set)
        if self.db.is_postgresql:
            self._thread = threading.Thread(target=self._listen, name="jobdeck-listen", daemon=True)
            self._thread.start()
        elif self.db.sqlite_file is not None:
            self._thread = threading.Thread(target=self._watch_sqlite, name="jobdeck-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
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

        `PRAGMA data_version` changes when a connection other than this one commits; reading it is a
        read transaction on the WAL index, so idle workers never queue for the write lock as a shorter
        poll would. Our own process's commits wake us too: harmless, the loop claims nothing and waits.
        """
        path = self.db.sqlite_file
        assert path is not None  # start() only runs the watcher for a file database
        while not self._stop.is_set():
            try:
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                try:
                    last = conn.execute("PRAGMA data_version").fetchone()[0]
                    while not self._stop.wait(SQLITE_WATCH_INTERVAL_S):
                        version = conn.execute("PRAGMA data_version").fetchone()[0]
                        if version != last:
                            last = version
                            self.event.set()
                finally:
                    conn.close()
            except sqlite3.Error as exc:
                log.warning("watching the SQLite file failed (%s); polling until it works again", exc)
                self._stop.wait(RECONNECT_DELAY_S)
