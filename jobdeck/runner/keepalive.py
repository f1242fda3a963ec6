"""Keeping a worker's leases alive on a thread of its own: heartbeat, reaper, scheduler, and giving up
when the database has been gone for longer than a lease."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from jobdeck import errors
from jobdeck.runner import instruments, scheduler
from jobdeck.runner.options import WorkerOptions
from jobdeck.runner.pool import Pool
from jobdeck.runner.registry import Registry
from jobdeck.store import workers as worker_rows
from jobdeck.store.database import Database, translated_errors

log = logging.getLogger(__name__)
RETRY_AFTER_FAILURE_S = 0.5


def reap(db: Database) -> list[worker_rows.Reaped]:
    """Requeue or fail jobs whose worker stopped heartbeating (any process may do this)."""
    with db.read() as conn:
        if not worker_rows.any_expired(conn):
            return []  # the usual case: no write transaction, no lock taken
    with db.write() as conn:
        reaped = worker_rows.reap(db, conn)
    for r in reaped:
        log.warning("job %s: %s", r.job_id, r.message)
        instruments.REAPED.labels("requeued" if r.requeued else "failed").inc()
    return reaped


class KeepAlive:
    """A thread that heartbeats (so a busy job cannot starve the lease), reaps and schedules; when the
    database stays unreachable for longer than the lease it calls `give_up` and ends."""

    def __init__(
        self,
        db: Database,
        registry: Registry,
        pool: Pool,
        options: WorkerOptions,
        worker_id: str,
        give_up: Callable[[], None],
    ) -> None:
        self.db = db
        self.registry = registry
        self.pool = pool
        self.options = options
        self.worker_id = worker_id
        self._give_up = give_up
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobdeck-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()

    def _run(self) -> None:
        o = self.options
        next_reap = next_tick = time.monotonic()
        #: when the database first failed us in a row of failures; None while all is well
        failing_since: float | None = None
        while True:
            started = time.monotonic()
            try:
                with translated_errors():
                    # Heartbeat first: a worker back from an outage renews its own leases before it reaps.
                    self.beat(started)
                    if started >= next_reap:
                        next_reap = started + o.reap_seconds
                        reap(self.db)
                    if o.schedule_seconds and started >= next_tick:
                        next_tick = started + o.schedule_seconds
                        scheduler.tick(self.db, self.registry)
                failing_since = None
            except errors.DatabaseFailed as exc:
                log.warning("heartbeat failed: %s", exc)
                # Unreachable is measured from the first failure, not from the last success: a process
                # that was paused (SIGSTOP, a frozen VM) finds its connection gone but the database there.
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > o.lease_seconds:
                    log.error("database unreachable for longer than the lease (%.0fs); stopping", o.lease_seconds)
                    self._give_up()
                    return
            interval = min(o.heartbeat_seconds, o.reap_seconds)
            if self._done.wait(min(interval, RETRY_AFTER_FAILURE_S) if failing_since else interval):
                return

    def beat(self, started: float) -> None:
        """Extend every lease this worker holds; a job missing from the answer was reclaimed elsewhere."""
        with self.db.write() as conn:
            held = worker_rows.heartbeat(conn, self.worker_id, self.options.lease_seconds)
        by_id = {h.job_id: h for h in held}
        for ctx, claimed_at in self.pool.held():
            h = by_id.get(ctx.job.id)
            if h is None or h.lease_token != ctx.lease_token:
                if claimed_at < started:  # a claim newer than this heartbeat may not be visible to it
                    ctx.mark_lost()
            elif h.cancel_requested:
                ctx.mark_cancel_requested()
