"""JobContext: everything a job function may do to the ledger, each write fenced by the job's lease."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO, TypeVar

from jobdeck import errors, files, model, settings
from jobdeck.store import jobs, transitions
from jobdeck.store.database import Connection, Database, translated_errors

T = TypeVar("T")
RETRY_FIRST_S = 0.05
RETRY_MAX_S = 2.0


class SubtaskHandle:
    """A running subtask; `commit(write)` (or `transaction()`) commits the caller's writes and this
    subtask's completion together."""

    def __init__(self, ctx: JobContext, subtask_id: int, name: str) -> None:
        self._ctx = ctx
        self.id = subtask_id
        self.name = name
        self.finished = False
        self.message: str | None = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction that also marks this subtask completed; it commits only while the lease holds."""
        ctx = self._ctx
        with ctx.db.write() as conn:
            ctx._fenced(transitions.hold(conn, ctx.lease))
            yield conn
            ctx._fenced(transitions.end_subtask(conn, ctx.lease, self.id, model.SubtaskStatus.COMPLETED, self.message))
        self.finished = True

    def commit(self, write: Callable[[Connection], T]) -> T:
        """Run `write(conn)` and mark this subtask completed in one transaction, retried from the start
        through a lost connection (a database restart) for up to the lease. `write` must do nothing
        but database work on `conn`, so running it again after a rollback is safe."""

        def attempt(_: Connection) -> T:
            with self.transaction() as conn:
                return write(conn)

        return self._ctx._retrying(attempt)


class JobContext:
    """What a job function gets: its params and user, subtasks, progress, files, a log, cancellation."""

    def __init__(
        self,
        db: Database,
        file_store: files.FileStore,
        claimed: model.Claimed,
        config: settings.Settings,
        retry_seconds: float = 30.0,
    ) -> None:
        self.db = db
        #: the settings of the process running the job (limits, chunk sizes)
        self.settings = config
        #: how long a write keeps retrying while the database is unreachable (the worker's lease)
        self.retry_seconds = retry_seconds
        self.files = file_store
        self.job = claimed.job
        self.lease_token = claimed.lease_token
        #: what fences every write this job makes
        self.lease = claimed.lease
        self._cancel = threading.Event()
        #: seconds this run may take (its type's limit), and when that is up (time.monotonic); set at start
        self.time_limit: float | None = None
        self.deadline: float | None = None
        self._lost = threading.Event()
        #: set by the worker thread that runs it (a prefetched job waits for a thread first)
        self.started = False
        #: failed by the worker for ignoring its time limit; its thread is left to end on its own
        self.abandoned = False

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    @property
    def run_by_id(self) -> int | None:
        return self.job.run_by_id

    @property
    def attempt(self) -> int:
        return self.job.attempt

    # -- cancellation, time limit and lost leases ---------------------------------------------
    def start_clock(self, time_limit: float | None) -> None:
        """The run begins now, with this many seconds before it is asked to stop (None: no limit)."""
        self.time_limit = time_limit
        self.deadline = None if time_limit is None else time.monotonic() + time_limit

    def timed_out(self) -> bool:
        """Whether the run is past its time limit."""
        return self.deadline is not None and time.monotonic() >= self.deadline

    def seconds_left(self) -> float | None:
        """Seconds until the time limit (never below 0); None when the run has no limit."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def cancelled(self) -> bool:
        """Whether the job should stop: a user asked, its time limit is up, or its lease is gone.
        Check it between steps; a job that runs a child process kills the child when this turns true."""
        return self._cancel.is_set() or self._lost.is_set() or self.timed_out()

    def raise_if_cancelled(self) -> None:
        if self._lost.is_set():
            raise errors.LeaseLost()
        if self._cancel.is_set() or self.timed_out():
            raise errors.JobCancelled()

    def mark_cancel_requested(self) -> None:
        self._cancel.set()

    def mark_lost(self) -> None:
        self._lost.set()

    def abandon(self) -> None:
        """The worker gave up on this run (past its limit and the grace): none of its writes count now."""
        self.abandoned = True
        self._lost.set()

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    # -- fenced writes --------------------------------------------------------------------------
    def _write(self, operation: Callable[[Connection], T]) -> T:
        """One short transaction, retried through a database restart for up to the lease: a job
        is not failed because the database blinked (its lease is what decides whether it lives)."""

        def attempt(_: Connection | None) -> T:
            with self.db.write() as conn:
                return operation(conn)

        return self._retrying(attempt)

    def _retrying(self, attempt: Callable[[Any], T]) -> T:
        deadline = time.monotonic() + self.retry_seconds
        delay = RETRY_FIRST_S
        while True:
            try:
                with translated_errors():
                    return attempt(None)
            except errors.DatabaseUnavailable:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    def _fenced(self, held: bool) -> None:
        """A fenced write that did not hold: this run has lost its job."""
        if not held:
            self._lost.set()
            raise errors.LeaseLost()

    def progress(self, done: int, total: int | None = None) -> None:
        self._fenced(self._write(lambda c: transitions.progress(c, self.lease, done, total)))

    def describe(self, description: str) -> None:
        """Replace the job's description, e.g. with what it did ("contacts.csv: 9,982 imported")."""
        self._fenced(self._write(lambda c: transitions.describe(c, self.lease, description)))

    def log(self, message: str, level: str = "info") -> None:
        self._fenced(self._write(lambda c: transitions.log(c, self.lease, level, message)))

    def _end_subtask(self, subtask_id: int, status: model.SubtaskStatus, message: str | None) -> bool:
        return self._write(lambda c: transitions.end_subtask(c, self.lease, subtask_id, status, message))

    @contextlib.contextmanager
    def subtask(self, name: str) -> Iterator[SubtaskHandle]:
        """Record a step: In Progress on entry, Completed on a clean exit, Failed (with the error) on an exception."""
        subtask_id = self._write(lambda c: transitions.start_subtask(c, self.lease, name))
        self._fenced(subtask_id is not None)
        assert subtask_id is not None
        handle = SubtaskHandle(self, subtask_id, name)
        try:
            yield handle
        except BaseException as exc:
            if not isinstance(exc, errors.LeaseLost):
                with contextlib.suppress(Exception):
                    self._end_subtask(subtask_id, model.SubtaskStatus.FAILED, str(exc) or type(exc).__name__)
            raise
        if not handle.finished:
            self._fenced(self._end_subtask(subtask_id, model.SubtaskStatus.COMPLETED, handle.message))

    def finished_subtasks(self) -> set[str]:
        """Names of this job's subtasks completed by earlier attempts: what a resumed job skips."""
        return self._write(lambda c: jobs.completed_subtask_names(c, self.job.id))

    def attach(
        self,
        kind: model.FileKind,
        name: str,
        source: BinaryIO | Iterable[bytes],
        content_type: str = "text/csv",
    ) -> int:
        """Store a file and list it under the job (Output Files, Error Reports…); returns its file id."""
        stored = self.files.put(source)

        def record(conn: Connection) -> int | None:
            return transitions.attach_file(
                conn, self.lease, kind, name, content_type, stored.size, stored.sha256, stored.key
            )

        try:
            file_id = self._write(record)
            self._fenced(file_id is not None)
        except BaseException:
            self.files.delete(stored.key)
            raise
        assert file_id is not None
        return file_id

    def input_files(self) -> list[model.JobFile]:
        files_ = self._write(lambda c: jobs.files(c, self.job.id))
        return [f for f in files_ if f.kind is model.FileKind.INPUT]

    def completed_subtask(
        self,
        name: str,
        write: Callable[[Connection], T],
        message: str | None = None,
        progress: tuple[int, int | None] | None = None,
    ) -> T:
        """Run `write(conn)`, record a subtask already Completed and, if given, the progress (done, total),
        all in one transaction and one commit, retried from the start through a lost connection. A step
        that is either wholly done or not at all needs no In Progress row of its own."""

        def attempt(_: Connection | None) -> T:
            with self.db.write() as conn:
                self._fenced(transitions.hold(conn, self.lease))
                result = write(conn)
                subtask_id = transitions.start_subtask(conn, self.lease, name)
                self._fenced(subtask_id is not None)  # the lease is held (and share-locked) in this transaction
                assert subtask_id is not None
                done = model.SubtaskStatus.COMPLETED
                self._fenced(transitions.end_subtask(conn, self.lease, subtask_id, done, message))
                if progress is not None:
                    self._fenced(transitions.progress(conn, self.lease, *progress))
                return result

        return self._retrying(attempt)
