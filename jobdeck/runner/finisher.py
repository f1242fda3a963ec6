"""Recording finished runs beside the claims (PostgreSQL): a thread of its own on a connection of its own.

The worker loop then only claims, one autocommitted statement per batch that does not wait for a disk flush,
while the runs that ended are written here in durable transactions. The claims do not queue behind the
finishes' flushes, and the outcomes that arrive while one flush is under way are written together by the
next, so the batches grow with the load. (SQLite has one writer: there the loop writes both in one
transaction, see worker.py.)"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from jobdeck import errors
from jobdeck.runner.pool import Pool
from jobdeck.store import transitions
from jobdeck.store.database import Database, HeldConnection

log = logging.getLogger(__name__)
RETRY_FIRST_S = 0.05
RETRY_MAX_S = 5.0
#: how long the thread sleeps with nothing to record before it checks whether it should end
IDLE_CHECK_S = 0.5


class Finisher:
    """Writes the pool's outcomes as they come; `stop()` ends the thread once they are all written (or
    given up: the database gone for longer than the lease makes the worker abandon them)."""

    def __init__(
        self, db: Database, pool: Pool, ready: threading.Event, wake: threading.Event, fail: Callable[[Exception], None]
    ) -> None:
        self.pool = pool
        #: set by the pool whenever a run ends
        self._ready = ready
        #: the worker loop's event: a recorded batch may end a burst or a stop
        self._wake = wake
        self._fail = fail
        self._held = HeldConnection(db)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobdeck-finish", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._ready.set()
        self._thread.join()

    def _run(self) -> None:
        backoff = RETRY_FIRST_S
        try:
            while True:
                self._ready.wait(IDLE_CHECK_S)
                self._ready.clear()
                outcomes = self.pool.take_outcomes()
                if not outcomes:
                    if self._stop.is_set():
                        return
                    continue
                try:
                    with self._held.write() as conn:
                        accepted = transitions.finish_many(conn, outcomes)
                except errors.DatabaseUnavailable as exc:
                    log.warning("could not record finished runs (%s); retrying in %.2fs", exc, backoff)
                    self.pool.put_back(outcomes)
                    self._stop.wait(backoff)
                    self._ready.set()
                    backoff = min(backoff * 2, RETRY_MAX_S)
                    continue
                except errors.DatabaseFailed as exc:
                    self.pool.put_back(outcomes)
                    self._fail(exc)
                    return
                backoff = RETRY_FIRST_S
                self.pool.record(outcomes, accepted)
                self._wake.set()
        finally:
            self._held.close()
