"""The worker's threads: the jobs it holds (running or prefetched), their outcomes, and handing them back."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable

from jobdeck import errors
from jobdeck.runner import instruments
from jobdeck.runner.context import JobContext
from jobdeck.runner.execute import execute, past_its_limit
from jobdeck.runner.options import WorkerOptions
from jobdeck.runner.registry import Registry
from jobdeck.store import transitions
from jobdeck.store.database import Database, translated_errors

log = logging.getLogger(__name__)


class Pool:
    """`concurrency` threads take held jobs from a queue; finished runs wait in `outcomes` for the loop's
    next transaction (SQLite) or the finisher (PostgreSQL). Holds up to `concurrency + prefetch` jobs."""

    def __init__(self, db: Database, registry: Registry, options: WorkerOptions, *wake: threading.Event) -> None:
        self.db = db
        self.registry = registry
        self.options = options
        self.capacity = options.concurrency + options.prefetch
        #: set whenever a run ends, so the loop (or the finisher, runner/finisher.py) records it at once
        self._wake = wake
        self._lock = threading.Lock()
        #: job id -> (context, when it was claimed)
        self._active: dict[int, tuple[JobContext, float]] = {}
        self._outcomes: list[transitions.Outcome] = []
        #: outcomes taken and not yet recorded or put back: being written now
        self._recording = 0
        #: set for good by `abandon_all`: an outcome put back after it is dropped, never written
        self._given_up = False
        self._tasks: queue.SimpleQueue[JobContext | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        #: counters, for logs, metrics and tests
        self.ran = 0
        self.stale_writes_rejected = 0
        self.released = 0
        #: threads still stuck in a run that was failed for ignoring its time limit
        self.abandoned = 0
        #: running jobs this worker handed back itself (a stop): their end is no lost lease
        self._handed_back: set[int] = set()

    # -- threads ------------------------------------------------------------------------------
    def start(self) -> None:
        for _ in range(self.options.concurrency):
            self._add_thread()

    def _add_thread(self) -> None:
        thread = threading.Thread(target=self._run_tasks, name=f"jobdeck-job-{len(self._threads)}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        for _ in self._threads:
            self._tasks.put(None)

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
                if ctx.abandoned:  # failed already, and a new thread took this one's place
                    self.abandoned -= 1
                    return
                self._active.pop(ctx.job.id, None)
                if outcome is not None and not ctx.lost:
                    self._outcomes.append(outcome)
            for event in self._wake:
                event.set()

    def execute(self, ctx: JobContext) -> transitions.Outcome | None:
        """Run one job in this thread; None when its lease was lost."""
        outcome = execute(self.registry, ctx, self.options)
        if outcome is None and ctx.abandoned:
            log.warning("job %s: its abandoned thread ended; the job had been failed at its time limit", ctx.job.id)
        elif outcome is None and self._was_handed_back(ctx.job.id):
            log.info("job %s: handed back at shutdown; it runs again from the queue", ctx.job.id)
        elif outcome is None:
            log.warning("job %s: lease lost (reclaimed elsewhere); its result is abandoned", ctx.job.id)
            with self._lock:
                self.stale_writes_rejected += 1
            instruments.STALE_WRITES.inc()
        return outcome

    def _was_handed_back(self, job_id: int) -> bool:
        with self._lock:
            if job_id in self._handed_back:
                self._handed_back.discard(job_id)
                return True
            return False

    # -- what the loop asks -------------------------------------------------------------------
    def free(self) -> int:
        with self._lock:
            return self.capacity - len(self._active)

    def idle(self) -> bool:
        with self._lock:
            return not self._active and not self._outcomes and not self._recording

    def take_outcomes(self) -> list[transitions.Outcome]:
        """The outcomes to record now; each must come back through `record` or `put_back`."""
        with self._lock:
            outcomes, self._outcomes = self._outcomes, []
            self._recording += len(outcomes)
        return outcomes

    def put_back(self, outcomes: list[transitions.Outcome]) -> None:
        """Outcomes that could not be recorded (the database was away): recorded in a later turn."""
        with self._lock:
            self._recording = max(0, self._recording - len(outcomes))
            if not self._given_up:
                self._outcomes[:0] = outcomes

    def hold(self, contexts: Iterable[JobContext]) -> None:
        """Queue claimed jobs for the threads, all in place before the first thread wakes (and competes)."""
        now = time.monotonic()
        batch = list(contexts)
        with self._lock:
            self._active.update((ctx.job.id, (ctx, now)) for ctx in batch)
        for ctx in batch:
            self._tasks.put(ctx)

    def held(self) -> list[tuple[JobContext, float]]:
        """Every job held now, with the time it was claimed."""
        with self._lock:
            return list(self._active.values())

    def record(self, outcomes: list[transitions.Outcome], accepted: set[int]) -> None:
        rejected = [o.job_id for o in outcomes if o.job_id not in accepted]
        with self._lock:
            self._recording = max(0, self._recording - len(outcomes))
            self.ran += len(outcomes)
            self.stale_writes_rejected += len(rejected)
        if rejected:
            instruments.STALE_WRITES.inc(len(rejected))
        for job_id in rejected:
            log.warning("job %s: finished after its lease was lost; the result was not recorded", job_id)

    # -- time limits --------------------------------------------------------------------------
    def enforce_limits(self) -> float | None:
        """Fail the runs still going a grace period after their time limit: their threads are abandoned
        (Python cannot stop a thread) and replaced. Returns the seconds until the next run reaches that
        point, None when no run has a limit."""
        now = time.monotonic()
        grace = self.options.timeout_grace_seconds
        overdue: list[JobContext] = []
        nearest: float | None = None
        with self._lock:
            for ctx, _ in list(self._active.values()):
                if ctx.deadline is None:
                    continue
                if now < ctx.deadline + grace:
                    left = ctx.deadline + grace - now
                    nearest = left if nearest is None else min(nearest, left)
                    continue
                ctx.abandon()
                del self._active[ctx.job.id]
                self._outcomes.append(past_its_limit(ctx))
                self.abandoned += 1
                overdue.append(ctx)
        for ctx in overdue:
            log.error(
                "job %s (%s): still running %g s after its limit of %g s; failed, and its thread abandoned",
                ctx.job.id,
                ctx.job.type,
                grace,
                ctx.time_limit or 0,
            )
            self._add_thread()
        return nearest

    # -- stopping -----------------------------------------------------------------------------
    def hand_back(self, grace_over: bool) -> bool:
        """One step of a stop: jobs no thread started go back to the queue at once, running ones once the
        grace is over. True once nothing is left to wait for."""
        with self._lock:
            waiting = {i: a for i, a in self._active.items() if not a[0].started}
            for ctx, _ in waiting.values():
                ctx.mark_lost()  # a thread that picks it up now skips it
            chosen = dict(self._active) if grace_over else waiting
            pending = bool(self._outcomes) or self._recording > 0
            if not self._active and not pending:
                return True
        if not chosen:
            return False
        with self._lock:
            self._handed_back.update(i for i, (ctx, _) in chosen.items() if ctx.started)
        for ctx, _ in chosen.values():
            ctx.mark_lost()  # its later writes are fenced out: the token is cleared below
        self.released += release(self.db, [ctx for ctx, _ in chosen.values()])
        with self._lock:
            for job_id in chosen:
                self._active.pop(job_id, None)
            return not self._active and not pending

    def abandon_all(self) -> None:
        """Others may own these jobs now: nothing this worker holds may write or be recorded."""
        with self._lock:
            for ctx, _ in self._active.values():
                ctx.mark_lost()
            self._active.clear()
            self._outcomes.clear()
            self._recording = 0
            self._given_up = True


def release(db: Database, contexts: list[JobContext]) -> int:
    """Hand these jobs back to the queue; how many were. A failure is left to the reaper."""
    by_token: dict[str, list[int]] = {}
    for ctx in contexts:
        by_token.setdefault(ctx.lease_token, []).append(ctx.job.id)
    released = 0
    try:
        with translated_errors(), db.write() as conn:
            for token, ids in by_token.items():
                released += len(transitions.release(conn, ids, token))
    except errors.DatabaseFailed as exc:
        log.warning("could not hand jobs back (%s); the reaper will requeue them", exc)
    return released
