"""JobContext: everything a job function may do to the ledger, each write fenced by the job's lease."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO, TypeVar

import sqlalchemy as sa

from jobdeck import errors, files, model, settings
from jobdeck.store import jobs, transitions
from jobdeck.store.database import Database, is_transient

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
    def transaction(self) -> Iterator[sa.Connection]:
        """A write transaction that also marks this subtask completed; it commits only while the lease holds."""
        ctx = self._ctx
        with ctx.db.write() as conn:
            if not transitions.holds(ctx.db, conn, ctx.job.id, ctx.lease_token):
                ctx.mark_lost()
                raise errors.LeaseLost()
            yield conn
            transitions.end_subtask(
                ctx.db, conn, ctx.job.id, ctx.lease_token, self.id, model.SubtaskStatus.COMPLETED, self.message
            )
        self.finished = True

    def commit(self, write: Callable[[sa.Connection], T]) -> T:
        """Run `write(conn)` and mark this subtask completed in one transaction, retried from the start
        through a lost connection (a database restart) for up to the lease. `write` must do nothing
        but database work on `conn`, so running it again after a rollback is safe."""

        def attempt(_: sa.Connection) -> T:
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
        retry_seconds: float = 30.0,
        config: settings.Settings | None = None,
    ) -> None:
        self.db = db
        #: the settings of the process running the job (limits, chunk sizes)
        self.settings = config or settings.load()
        #: how long a write keeps retrying while the database is unreachable (the worker's lease)
        self.retry_seconds = retry_seconds
        self.files = file_store
        self.job = claimed.job
        self.lease_token = claimed.lease_token
        self._cancel = threading.Event()
        self._lost = threading.Event()
        #: set by the worker thread that runs it (a prefetched job waits for a thread first)
        self.started = False

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    @property
    def run_by_id(self) -> int | None:
        return self.job.run_by_id

    @property
    def attempt(self) -> int:
        return self.job.attempt

    # -- cancellation and lost leases, set by the worker's heartbeat --------------------------
    def cancelled(self) -> bool:
        """Whether a user asked this job to stop (or the worker is shutting down): check it between steps."""
        return self._cancel.is_set() or self._lost.is_set()

    def raise_if_cancelled(self) -> None:
        if self._lost.is_set():
            raise errors.LeaseLost()
        if self._cancel.is_set():
            raise errors.JobCancelled()

    def mark_cancel_requested(self) -> None:
        self._cancel.set()

    def mark_lost(self) -> None:
        self._lost.set()

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    # -- fenced writes --------------------------------------------------------------------------
    def _write(self, operation: Callable[[sa.Connection], T]) -> T:
        """One short transaction, retried through a database restart for up to the lease: a job
        is not failed because the database blinked (its lease is what decides whether it lives)."""

        def attempt(_: sa.Connection | None) -> T:
            with self.db.write() as conn:
                return operation(conn)

        return self._retrying(attempt)

    def _retrying(self, attempt: Callable[[Any], T]) -> T:
        deadline = time.monotonic() + self.retry_seconds
        delay = RETRY_FIRST_S
        while True:
            try:
                return attempt(None)
            except sa.exc.SQLAlchemyError as exc:
                if not is_transient(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    def _fenced(self, changed: bool) -> None:
        if not changed:
            self._lost.set()
            raise errors.LeaseLost()

    def progress(self, done: int, total: int | None = None) -> None:
        self._fenced(self._write(lambda c: transitions.progress(c, self.job.id, self.lease_token, done, total)))

    def describe(self, description: str) -> None:
        """Replace the job's description, e.g. with what it did ("contacts.csv: 9,982 imported")."""
        self._fenced(self._write(lambda c: transitions.describe(c, self.job.id, self.lease_token, description)))

    def log(self, message: str, level: str = "info") -> None:
        def write(conn: sa.Connection) -> bool:
            if not transitions.holds(self.db, conn, self.job.id, self.lease_token):
                return False
            transitions.log(conn, self.job.id, level, message)
            return True

        self._fenced(self._write(write))

    def _end_subtask(self, subtask_id: int, status: model.SubtaskStatus, message: str | None) -> bool:
        return self._write(
            lambda c: transitions.end_subtask(self.db, c, self.job.id, self.lease_token, subtask_id, status, message)
        )

    @contextlib.contextmanager
    def subtask(self, name: str) -> Iterator[SubtaskHandle]:
        """Record a step: In Progress on entry, Completed on a clean exit, Failed (with the error) on an exception."""
        subtask_id = self._write(lambda c: transitions.start_subtask(self.db, c, self.job.id, self.lease_token, name))
        if subtask_id is None:
            self._lost.set()
            raise errors.LeaseLost()
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

        def record(conn: sa.Connection) -> int | None:
            if not transitions.holds(self.db, conn, self.job.id, self.lease_token):
                return None
            return transitions.add_file(
                conn, self.job.id, kind, name, content_type, stored.size, stored.sha256, stored.key
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
        write: Callable[[sa.Connection], T],
        message: str | None = None,
        progress: tuple[int, int | None] | None = None,
    ) -> T:
        """Run `write(conn)`, record a subtask already Completed and, if given, the progress (done, total),
        all in one transaction and one commit, retried from the start through a lost connection. A step
        that is either wholly done or not at all needs no In Progress row of its own."""

        def attempt(_: sa.Connection | None) -> T:
            with self.db.write() as conn:
                if not transitions.holds(self.db, conn, self.job.id, self.lease_token):
                    self.mark_lost()
                    raise errors.LeaseLost()
                result = write(conn)
                subtask_id = transitions.start_subtask(self.db, conn, self.job.id, self.lease_token, name)
                assert subtask_id is not None  # the lease is held (and share-locked) in this transaction
                done = model.SubtaskStatus.COMPLETED
                transitions.end_subtask(self.db, conn, self.job.id, self.lease_token, subtask_id, done, message)
                if progress is not None:
                    transitions.progress(conn, self.job.id, self.lease_token, *progress)
                return result

        return self._retrying(attempt)
