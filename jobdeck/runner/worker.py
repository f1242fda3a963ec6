"""The worker: claims jobs in batches, runs them on a pool of threads, heartbeats, reaps, stops gracefully."""

from __future__ import annotations

import logging
import os
import queue
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Sequence

import sqlalchemy as sa

from jobdeck import errors, files, model, settings
from jobdeck.runner import instruments, scheduler
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import Registry
from jobdeck.runner.wakeup import Wakeup
from jobdeck.store import claim as claiming
from jobdeck.store import transitions
from jobdeck.store import workers as worker_rows
from jobdeck.store.database import Database, is_transient

log = logging.getLogger(__name__)
DB_RETRY_MAX_S = 5.0
RETRY_AFTER_FAILURE_S = 0.5


class Worker:
    """One worker process's engine. `run()` until stopped, `run(burst=True)` until the queue is empty,
    `run_once()` for one batch in the calling thread (what tests drive)."""

    def __init__(
        self,
        db: Database,
        file_store: files.FileStore,
        registry: Registry,
        *,
        concurrency: int = 4,
        lease_seconds: float = 30.0,
        heartbeat_seconds: float | None = None,
        reap_seconds: float | None = None,
        poll_seconds: float = 1.0,
        shutdown_grace_seconds: float = 20.0,
        schedule_seconds: float = 5.0,
        prefetch: int = 0,
        queues: Sequence[str] = ("default",),
        config: settings.Settings | None = None,
    ) -> None:
        self.db = db
        self.files = file_store
        self.registry = registry
        self.concurrency = max(1, concurrency)
        #: jobs claimed beyond the free threads, so the next batch is ready when a thread frees up;
        #: they count as In Progress while they wait, so keep it small for long jobs
        self.prefetch = max(0, prefetch)
        #: handed to every JobContext; read once here rather than per job
        self.settings = config or settings.load()
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = heartbeat_seconds or lease_seconds / 4
        self.reap_seconds = reap_seconds or max(0.2, lease_seconds / 6)
        self.poll_seconds = poll_seconds
        self.shutdown_grace_seconds = shutdown_grace_seconds
        #: how often to look for due scheduled jobs; 0 turns the scheduler off in this worker
        self.schedule_seconds = schedule_seconds
        self.queues = tuple(queues)
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.id = f"{self.hostname}:{self.pid}:{secrets.token_hex(4)}"
        self._registered = False
        self._loop_conn: sa.Connection | None = None
        self._lock = threading.Lock()
        self._active: dict[int, tuple[JobContext, float]] = {}
        self._outcomes: list[transitions.Outcome] = []
        self._tasks: queue.SimpleQueue[JobContext | None] = queue.SimpleQueue()
        self._wakeup = Wakeup(db)
        self._stopping = threading.Event()
        self._stop_deadline: float | None = None
        self._done = threading.Event()
        self._fatal: BaseException | None = None
        #: counters, for logs, metrics and tests
        self.ran = 0
        self.stale_writes_rejected = 0
        self.released = 0

    # -- one job -------------------------------------------------------------------------------
    def execute(self, ctx: JobContext) -> transitions.Outcome | None:
        """Run one claimed job to its outcome; None when the lease was lost (the result is abandoned)."""
        started = time.perf_counter()
        outcome = self._run(ctx)
        label = outcome.status.value if outcome else "lost"
        instruments.JOB_DURATION.labels(ctx.job.type, label).observe(time.perf_counter() - started)
        return outcome

    def _run(self, ctx: JobContext) -> transitions.Outcome | None:
        job = ctx.job
        try:
            job_type = self.registry.get(job.type)
            job_type.func(ctx)
        except errors.LeaseLost:
            self.handle_lost(ctx)
            return None
        except errors.JobCancelled:
            return transitions.Outcome(job.id, ctx.lease_token, model.Status.CANCELLED, "Cancelled on request")
        except Exception as exc:
            if ctx.lost:  # an error after the lease was lost (say, the database went away) is not a result
                self.handle_lost(ctx)
                return None
            return self.handle_failure(ctx, exc)
        if ctx.lost:
            self.handle_lost(ctx)
            return None
        return self.handle_success(ctx)

    def handle_success(self, ctx: JobContext) -> transitions.Outcome:
        return transitions.Outcome(ctx.job.id, ctx.lease_token, model.Status.COMPLETED)

    def handle_failure(self, ctx: JobContext, exc: Exception) -> transitions.Outcome:
        message = str(exc) or type(exc).__name__
        return transitions.Outcome(
            ctx.job.id, ctx.lease_token, model.Status.FAILED, message, log="".join(traceback.format_exception(exc))
        )

    def handle_lost(self, ctx: JobContext) -> None:
        log.warning("job %s: lease lost (reclaimed elsewhere); its result is abandoned", ctx.job.id)
        with self._lock:
            self.stale_writes_rejected += 1
        instruments.STALE_WRITES.inc()

    # -- batches -------------------------------------------------------------------------------
    def _register(self) -> None:
        if not self._registered:
            with self.db.write() as conn:
                worker_rows.register(conn, self.id, self.hostname, self.pid, self.concurrency)
            self._registered = True

    def _deregister(self) -> None:
        if self._registered:
            try:
                with self.db.write() as conn:
                    worker_rows.deregister(conn, self.id)
            except sa.exc.SQLAlchemyError as exc:
                log.warning("could not deregister worker %s: %s", self.id, exc)
            self._registered = False

    def _record(self, outcomes: list[transitions.Outcome], accepted: set[int]) -> None:
        rejected = [o.job_id for o in outcomes if o.job_id not in accepted]
        with self._lock:
            self.ran += len(outcomes)
            self.stale_writes_rejected += len(rejected)
        if rejected:
            instruments.STALE_WRITES.inc(len(rejected))
        for job_id in rejected:
            log.warning("job %s: finished after its lease was lost; the result was not recorded", job_id)

    def run_once(self) -> int:
        """Claim one batch and run it in this thread; returns how many jobs ran."""
        self._register()
        with self.db.write() as conn:
            claimed = claiming.claim(self.db, conn, self.id, self.concurrency, self.lease_seconds, self.queues)
        outcomes = [
            o
            for c in claimed
            if (o := self.execute(JobContext(self.db, self.files, c, self.lease_seconds, self.settings))) is not None
        ]
        if outcomes:
            with self.db.write() as conn:
                accepted = transitions.finish_many(conn, outcomes)
            self._record(outcomes, accepted)
        return len(claimed)

    def reap(self) -> list[worker_rows.Reaped]:
        """Requeue or fail jobs whose worker stopped heartbeating (any process may do this)."""
        with self.db.read() as conn:
            if not worker_rows.any_expired(conn):
                return []  # the usual case: no write transaction, no lock taken
        with self.db.write() as conn:
            reaped = worker_rows.reap(self.db, conn)
        for r in reaped:
            log.warning("job %s: %s", r.job_id, r.message)
            instruments.REAPED.labels("requeued" if r.requeued else "failed").inc()
        return reaped

    # -- the loop ------------------------------------------------------------------------------
    def stop(self, grace_seconds: float | None = None) -> None:
        """Stop claiming; let running jobs finish for the grace period, then hand them back to the queue."""
        grace = self.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        with self._lock:
            deadline = time.monotonic() + grace
            if self._stop_deadline is None or deadline < self._stop_deadline:
                self._stop_deadline = deadline
        self._stopping.set()
        self._wakeup.event.set()

    def run(self, burst: bool = False) -> int:
        """Work until stopped (or, in burst mode, until nothing is queued or running); returns jobs run.
        Raises DatabaseUnreachable when the database was gone for longer than the lease."""
        self._register()
        self._wakeup.start()
        threads = [
            threading.Thread(target=self._run_tasks, name=f"jobdeck-job-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        keepalive = threading.Thread(target=self._keepalive, name="jobdeck-heartbeat", daemon=True)
        for t in [*threads, keepalive]:
            t.start()
        try:
            self._loop(burst)
        finally:
            self._done.set()
            self._wakeup.stop()
            for _ in threads:
                self._tasks.put(None)
            self._deregister()
        if self._fatal is not None:
            raise self._fatal
        return self.ran

    def _loop(self, burst: bool) -> None:
        backoff = 0.05
        capacity = self.concurrency + self.prefetch
        while True:
            with self._lock:
                outcomes, self._outcomes = self._outcomes, []
                busy = len(self._active)
            stopping = self._stopping.is_set()
            free = 0 if stopping else capacity - busy
            claimed: list[model.Claimed] = []
            if outcomes or free:
                try:
                    accepted, claimed = self._finish_and_claim(outcomes, free)
                    backoff = 0.05
                except sa.exc.SQLAlchemyError as exc:
                    if not is_transient(exc):
                        raise
                    log.warning("database error in the worker loop (%s); retrying in %.2fs", exc, backoff)
                    with self._lock:
                        self._outcomes[:0] = outcomes
                    self._wakeup.wait(backoff)
                    backoff = min(backoff * 2, DB_RETRY_MAX_S)
                    continue
                self._record(outcomes, accepted)
                now = time.monotonic()
                for c in claimed:
                    ctx = JobContext(self.db, self.files, c, self.lease_seconds, self.settings)
                    with self._lock:
                        self._active[c.job.id] = (ctx, now)
                    self._tasks.put(ctx)
            if stopping:
                if self._shutdown_step():
                    self._close_loop_connection()
                    return
                self._wakeup.wait(0.05)
                continue
            with self._lock:
                idle = not self._active and not self._outcomes
            if burst and not claimed and idle and not outcomes:
                self._close_loop_connection()
                return
            if claimed and len(claimed) == free:
                continue  # the queue may hold more: come back as soon as a thread is free
            self._wakeup.wait(self.poll_seconds)

    def _finish_and_claim(self, outcomes: list[transitions.Outcome], free: int) -> tuple[set[int], list[model.Claimed]]:
        """Record finished runs and claim the next batch in one transaction, on a connection the loop
        keeps (no pool checkout or ping per batch); a broken connection is dropped and reopened."""
        if self._loop_conn is None:
            self._loop_conn = self.db.engine.connect().execution_options(jobdeck_write=True)
        conn = self._loop_conn
        try:
            with conn.begin():
                accepted = transitions.finish_many(conn, outcomes) if outcomes else set()
                claimed = claiming.claim(self.db, conn, self.id, free, self.lease_seconds, self.queues) if free else []
        except sa.exc.SQLAlchemyError:
            self._close_loop_connection(broken=True)
            raise
        return accepted, claimed

    def _close_loop_connection(self, broken: bool = False) -> None:
        if self._loop_conn is not None:
            if broken:
                self._loop_conn.invalidate()
            self._loop_conn.close()
            self._loop_conn = None

    def _shutdown_step(self) -> bool:
        """During a stop: True once nothing is left to wait for."""
        with self._lock:
            waiting = {i: a for i, a in self._active.items() if not a[0].started}
            for ctx, _ in waiting.values():
                ctx.mark_lost()  # a thread that picks it up now skips it
            active = dict(self._active) if time.monotonic() >= (self._stop_deadline or 0.0) else waiting
            pending = bool(self._outcomes)
            if not self._active and not pending:
                return True
        if active:
            by_token: dict[str, list[int]] = {}
            for ctx, _ in active.values():
                ctx.mark_lost()  # its later writes are fenced out: the token is cleared below
                by_token.setdefault(ctx.lease_token, []).append(ctx.job.id)
            try:
                with self.db.write() as conn:
                    for token, ids in by_token.items():
                        self.released += len(transitions.release(conn, ids, token))
            except sa.exc.SQLAlchemyError as exc:
                log.warning("could not hand jobs back (%s); the reaper will requeue them", exc)
            with self._lock:
                for job_id in active:
                    self._active.pop(job_id, None)
                return not self._active and not pending
        return False

    def _run_tasks(self) -> None:
        while (ctx := self._tasks.get()) is not None:
            with self._lock:
                if ctx.lost:  # handed back while it waited in the prefetch buffer
                    continue
                ctx.started = True
            try:
                outcome = self.execute(ctx)
            except BaseException:  # a bug in the worker itself: never leave the slot taken
                log.exception("job %s: unexpected error in the worker", ctx.job.id)
                outcome = None
            with self._lock:
                self._active.pop(ctx.job.id, None)
                if outcome is not None and not ctx.lost:
                    self._outcomes.append(outcome)
            self._wakeup.event.set()

    def _keepalive(self) -> None:
        """Heartbeat, reap and schedule on a thread of its own, so a busy job cannot starve the lease."""
        next_reap = next_tick = time.monotonic()
        #: when the database first failed us in a row of failures; None while all is well
        failing_since: float | None = None
        while True:
            started = time.monotonic()
            try:
                # Heartbeat first: a worker back from an outage renews its own leases before it reaps.
                with self.db.write() as conn:
                    held = worker_rows.heartbeat(conn, self.id, self.lease_seconds)
                self._apply_heartbeat(held, started)
                if started >= next_reap:
                    next_reap = started + self.reap_seconds
                    self.reap()
                if self.schedule_seconds and started >= next_tick:
                    next_tick = started + self.schedule_seconds
                    scheduler.tick(self.db, self.registry)
                failing_since = None
            except sa.exc.SQLAlchemyError as exc:
                log.warning("heartbeat failed: %s", exc)
                # Unreachable is measured from the first failure, not from the last success: a process
                # that was paused (SIGSTOP, a frozen VM) finds its connection gone but the database there.
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > self.lease_seconds:
                    self._give_up()
                    return
            interval = min(self.heartbeat_seconds, self.reap_seconds)
            if self._done.wait(min(interval, RETRY_AFTER_FAILURE_S) if failing_since else interval):
                return

    def _apply_heartbeat(self, held: list[worker_rows.Held], started: float) -> None:
        by_id = {h.job_id: h for h in held}
        with self._lock:
            active = list(self._active.values())
        for ctx, claimed_at in active:
            h = by_id.get(ctx.job.id)
            if h is None or h.lease_token != ctx.lease_token:
                if claimed_at < started:  # a claim newer than this heartbeat may not be visible to it
                    ctx.mark_lost()
            elif h.cancel_requested:
                ctx.mark_cancel_requested()

    def _give_up(self) -> None:
        """The database was unreachable for longer than the lease: others may own our jobs now."""
        log.error("database unreachable for longer than the lease (%.0fs); stopping", self.lease_seconds)
        self._fatal = errors.DatabaseUnreachable()
        with self._lock:
            for ctx, _ in self._active.values():
                ctx.mark_lost()
            self._active.clear()
            self._outcomes.clear()
        self.stop(0)
