"""Waking idle workers at once: LISTEN on PostgreSQL for other processes' work, in-process listeners always."""

from __future__ import annotations

import logging
import threading

import psycopg

from jobdeck.store.database import NOTIFY_CHANNEL, Database

log = logging.getLogger(__name__)
RECONNECT_DELAY_S = 1.0


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
