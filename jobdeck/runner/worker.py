"""The worker: a loop that claims batches for free threads (on SQLite recording finished runs in the same
transaction; on PostgreSQL a finisher thread records them beside the claims), with a pool of threads that
run the jobs and a keep-alive thread that holds their leases."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time

from jobdeck import errors, files, model
from jobdeck.runner.context import JobContext
from jobdeck.runner.finisher import Finisher
from jobdeck.runner.keepalive import KeepAlive, reap
from jobdeck.runner.options import WorkerOptions
from jobdeck.runner.pool import Pool
from jobdeck.runner.registry import Registry
from jobdeck.runner.wakeup import Wakeup
from jobdeck.store import claim as claiming
from jobdeck.store import transitions
from jobdeck.store import workers as worker_rows
from jobdeck.store.database import Database, HeldConnection, translated_errors

log = logging.getLogger(__name__)
DB_RETRY_FIRST_S = 0.05
DB_RETRY_MAX_S = 5.0
STOPPING_POLL_S = 0.05


class Worker:
    """One worker process's engine. `run()` until stopped, `run(burst=True)` until the queue is empty,
    `run_once()` for one batch in the calling thread (what tests drive)."""

    def __init__(self, db: Database, file_store: files.FileStore, registry: Registry, options: WorkerOptions) -> None:
        self.db = db
        self.files = file_store
        self.registry = registry
        self.options = options
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.id = f"{self.hostname}:{self.pid}:{secrets.token_hex(4)}"
        self._wakeup = Wakeup(db)
        self._held = HeldConnection(db)
        #: PostgreSQL: the loop only claims, in one round trip each (store/claim.py), and a finisher thread
        #: records the runs that ended (runner/finisher.py); SQLite writes both in one transaction
        self._claims = claiming.ClaimConnection(db) if db.is_postgresql else None
        self._ended = threading.Event()
        wakes = (self._wakeup.event, self._ended) if self._claims else (self._wakeup.event,)
        self.pool = Pool(db, registry, options, *wakes)
        self._registered = False
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._stop_deadline = 0.0
        self._fatal: BaseException | None = None
        self._backoff = DB_RETRY_FIRST_S

    # counters, for logs, metrics and tests
    @property
    def ran(self) -> int:
        return self.pool.ran

    @property
    def stale_writes_rejected(self) -> int:
        return self.pool.stale_writes_rejected

    @property
    def released(self) -> int:
        return self.pool.released

    # -- running ------------------------------------------------------------------------------
    def run(self, burst: bool = False) -> int:
        """Work until stopped (or, in burst mode, until nothing is queued or running); returns jobs run.
        Raises DatabaseUnreachable when the database was gone for longer than the lease."""
        self._register()
        keepalive = KeepAlive(self.db, self.registry, self.pool, self.options, self.id, self._give_up)
        finisher = Finisher(self.db, self.pool, self._ended, self._wakeup.event, self._failed) if self._claims else None
        self._wakeup.start()
        self.pool.start()
        keepalive.start()
        if finisher is not None:
            finisher.start()
        try:
            self._loop(burst)
        finally:
            if finisher is not None:
                finisher.stop()  # before the keep-alive: a finisher waiting out an outage needs its give-up
            keepalive.stop()
            self._wakeup.stop()
            self.pool.stop()
            if self._claims is not None:
                self._claims.close()  # also when the loop ended by an exception
            self._deregister()
        if self._fatal is not None:
            raise self._fatal
        return self.ran

    def _loop(self, burst: bool) -> None:
        while (delay := self.poll(burst)) is not None:
            if delay:
                self._wakeup.wait(delay)

    def poll(self, burst: bool = False) -> float | None:
        """One turn: record finished runs and claim for free threads (one transaction), or hand jobs
        back while stopping. Returns how long to wait before the next turn, None once the loop is done."""
        next_limit = self.pool.enforce_limits()
        if self.pool.abandoned >= self.options.max_abandoned_threads and not self._stopping.is_set():
            self._stuck()
        outcomes = [] if self._claims else self.pool.take_outcomes()
        stopping = self._stopping.is_set()
        free = 0 if stopping else self.pool.free()
        claimed = 0
        if outcomes or free:
            try:
                claimed = self._finish_and_claim(outcomes, free)
            except errors.DatabaseUnavailable as exc:
                log.warning("database error in the worker loop (%s); retrying in %.2fs", exc, self._backoff)
                self.pool.put_back(outcomes)
                delay, self._backoff = self._backoff, min(self._backoff * 2, DB_RETRY_MAX_S)
                return delay
            self._backoff = DB_RETRY_FIRST_S
        if stopping:
            if not self.pool.hand_back(grace_over=time.monotonic() >= self._stop_deadline):
                return STOPPING_POLL_S
        elif not (burst and not claimed and not outcomes and self.pool.idle()):
            # a full batch means the queue may hold more: come back as soon as a thread is free
            if claimed and claimed == free:
                return 0.0
            return min(self.options.poll_seconds, next_limit or self.options.poll_seconds)
        self._held.close()
        return None

    def _finish_and_claim(self, outcomes: list[transitions.Outcome], free: int) -> int:
        """Record finished runs and claim the next batch in one transaction, on the connection the loop
        holds; on PostgreSQL (no outcomes here: the finisher records them) claim alone, in autocommit.
        Returns how many jobs were claimed."""
        o = self.options
        if not outcomes and self._claims is not None:
            with self._claims.claiming() as conn:
                claimed = claiming.claim(self.db, conn, self.id, free, o.lease_seconds, o.queues)
            self.pool.hold(self._context(c) for c in claimed)
            return len(claimed)
        with self._held.write() as conn:
            accepted = transitions.finish_many(conn, outcomes) if outcomes else set()
            claimed = claiming.claim(self.db, conn, self.id, free, o.lease_seconds, o.queues) if free else []
        self.pool.record(outcomes, accepted)
        self.pool.hold(self._context(c) for c in claimed)
        return len(claimed)

    def _context(self, claimed: model.Claimed) -> JobContext:
        return JobContext(self.db, self.files, claimed, self.options.settings, self.options.lease_seconds)

    def run_once(self) -> int:
        """Claim one batch and run it in this thread; returns how many jobs ran."""
        self._register()
        with self.db.write() as conn:
            claimed = claiming.claim(
                self.db, conn, self.id, self.options.concurrency, self.options.lease_seconds, self.options.queues
            )
        outcomes = [o for c in claimed if (o := self.pool.execute(self._context(c))) is not None]
        if outcomes:
            with self.db.write() as conn:
                accepted = transitions.finish_many(conn, outcomes)
            self.pool.record(outcomes, accepted)
        return len(claimed)

    def reap(self) -> list[worker_rows.Reaped]:
        """Requeue or fail jobs whose worker stopped heartbeating (any process may do this)."""
        return reap(self.db)

    # -- stopping -----------------------------------------------------------------------------
    def stop(self, grace_seconds: float | None = None) -> None:
        """Stop claiming; let running jobs finish for the grace period, then hand them back to the queue."""
        grace = self.options.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        with self._lock:
            deadline = time.monotonic() + grace
            if not self._stopping.is_set() or deadline < self._stop_deadline:
                self._stop_deadline = deadline
            self._stopping.set()
        self._wakeup.event.set()

    def hurry(self) -> None:
        """Stop now: the running jobs are handed back to the queue at once instead of after the grace."""
        self.stop(0)

    def running(self) -> list[model.Job]:
        """The jobs a thread of this worker is running now (not those waiting in the prefetch buffer)."""
        return [ctx.job for ctx, _ in self.pool.held() if ctx.started]

    def _stuck(self) -> None:
        """Threads stuck in jobs that ignored their limit are lost to this worker: drain and stop, so
        that its supervisor (or process manager) starts a fresh one."""
        log.error("%d threads are stuck in jobs past their time limit; stopping", self.pool.abandoned)
        self._fatal = self._fatal or errors.WorkerStuck()
        self.stop()

    def _failed(self, exc: Exception) -> None:
        """Finished runs could not be recorded for a reason retrying will not cure: stop, and say why. Their
        jobs' leases run out and the reaper requeues them (at-least-once), as after a crash."""
        log.error("could not record finished runs: %s; stopping", exc)
        self._fatal = self._fatal or exc
        self.pool.abandon_all()
        self.stop(0)

    def _give_up(self) -> None:
        """The database was unreachable for longer than the lease: others may own our jobs now."""
        self._fatal = errors.DatabaseUnreachable()
        self.pool.abandon_all()
        self.stop(0)

    def _register(self) -> None:
        if not self._registered:
            with self.db.write() as conn:
                worker_rows.register(conn, self.id, self.hostname, self.pid, self.options.concurrency)
            self._registered = True

    def _deregister(self) -> None:
        if self._registered:
            try:
                with translated_errors(), self.db.write() as conn:
                    worker_rows.deregister(conn, self.id)
            except errors.DatabaseFailed as exc:
                log.warning("could not deregister worker %s: %s", self.id, exc)
            self._registered = False
