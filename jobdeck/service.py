"""Jobs and imports: the operations the web pages, the API and the CLI share. Access is checked here, once,
for all of them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from jobdeck import access, accounts, errors, importing, model
from jobdeck.files import FileStore
from jobdeck.imports import targets as target_registry
from jobdeck.model import safe_run_at as safe_run_at  # the one rule for a page path, used by the edges too
from jobdeck.query import JobQuery
from jobdeck.runner.registry import JobType, Registry
from jobdeck.runner.worker import Worker
from jobdeck.settings import Settings
from jobdeck.store import attempts as attempt_rows
from jobdeck.store import audit, listing, transitions
from jobdeck.store import jobs as job_rows
from jobdeck.store import stats as job_stats
from jobdeck.store.database import Connection, Database
from jobdeck.wiring import Wiring

#: Who an action is recorded as, and as which action (see store.audit).
Actor = tuple[model.User | None, model.EventAction]


@dataclasses.dataclass(frozen=True)
class JobDetail:
    """A job as its reader may see it: titled, with its subtasks, files and the log lines they may read."""

    job: model.Job
    title: str  #: the job type's title (the grid's Job column)
    subtasks: list[model.Subtask]
    files: list[model.JobFile]
    log: list[model.LogLine]
    events: list[model.JobEvent]  #: the audit trail: who cancelled or retried it, and when
    #: every run of it, oldest first (subtasks are the current, or last, attempt's)
    attempts: list[model.Attempt] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class InputFile:
    """A stored file that a new job takes as its Input File."""

    name: str
    content_type: str
    size: int
    sha256: str
    storage_key: str

    @classmethod
    def of(cls, f: model.JobFile) -> InputFile:
        return cls(f.name, f.content_type, f.size, f.sha256, f.storage_key)


def _detail(conn: Connection, job: model.Job, title: str, user: model.User | None) -> JobDetail:
    """The detail of a job `user` may see: the subtasks of its current (or last) attempt, every attempt."""
    return JobDetail(
        job=job,
        title=title,
        subtasks=job_rows.subtasks(conn, job.id, attempt=job.attempt),
        files=job_rows.files(conn, job.id),
        log=access.visible_log(user, job_rows.log_lines(conn, job.id)),
        events=audit.events(conn, job.id),
        attempts=attempt_rows.for_job(conn, job),
    )


class Service:
    """Jobs and imports over one process's wiring (its database, file store, job types and settings)."""

    def __init__(self, wiring: Wiring) -> None:
        self.wiring = wiring
        self.accounts = accounts.Accounts(wiring.db, wiring.settings)

    # What the service works with is the wiring's, read through: one object owns each of them.
    @property
    def settings(self) -> Settings:
        return self.wiring.settings

    @property
    def db(self) -> Database:
        return self.wiring.db

    @property
    def files(self) -> FileStore:
        return self.wiring.files

    @property
    def registry(self) -> Registry:
        return self.wiring.registry

    @classmethod
    def open(cls, settings: Settings, *, upgrade: bool = True) -> Service:
        """The service over a newly opened wiring (see Wiring.open)."""
        return cls(Wiring.open(settings, upgrade=upgrade))

    def close(self) -> None:
        self.wiring.close()

    def worker(self, concurrency: int | None = None, **overrides: Any) -> Worker:
        """A worker pool from this process's wiring."""
        return self.wiring.worker(concurrency, **overrides)

    # -- job types (who may start which: the registry's rule, over the access rule) ---------------
    def job_types_for(self, user: model.User) -> list[JobType]:
        return self.registry.startable_by(user)

    def job_type_for(self, user: model.User, name: str) -> JobType:
        return self.registry.for_user(user, name)

    def startable_type(self, user: model.User, name: str) -> JobType:
        return self.registry.for_user(user, name, by_name=True)

    # -- starting jobs -------------------------------------------------------------------------
    def start_job(
        self,
        user: model.User | None,
        type_name: str,
        params: dict[str, Any] | None = None,
        *,
        run_at: str | None = None,
        idempotency_key: str | None = None,
        not_before: dt.datetime | None = None,
        delay_seconds: float | None = None,
    ) -> model.Job:
        """Enqueue a job as `user` (None: the system), after checking they may start its type; not run before
        `not_before` (naive: UTC) or `delay_seconds` from now, when given."""
        job_type = self.registry.get(type_name) if user is None else self.startable_type(user, type_name)
        clean = job_type.validate_params(params or {}, self.settings.max_params_bytes)
        new = job_type.new_job(
            clean,
            run_by_id=user.id if user else None,
            run_at=safe_run_at(run_at),
            idempotency_key=idempotency_key,
            not_before=not_before,
            delay_seconds=delay_seconds,
        )
        return self._submit(new)

    def enqueue_many(
        self,
        user: model.User | None,
        type_name: str,
        params: dict[str, Any] | list[dict[str, Any]],
        count: int = 1,
        **when: Any,
    ) -> list[int]:
        """`count` jobs with the same params, or one per item of a list of params; all validated, then written.
        `when`: not_before or delay_seconds, as JobType.new_job takes them."""
        job_type = self.registry.get(type_name) if user is None else self.startable_type(user, type_name)
        each = [params] if isinstance(params, dict) else params
        news = new_jobs(job_type, each, user, self.settings.max_params_bytes, **when)
        return job_rows.submit_many(self.db, news if isinstance(params, list) else news * count)

    # -- reading jobs --------------------------------------------------------------------------
    def list_jobs(self, user: model.User, query: JobQuery) -> model.Page:
        """A page of the jobs this user may see (the visibility rule applied inside the query)."""
        if not access.can_list(user):
            return model.Page(items=[], next_cursor=None)
        with self.db.read() as conn:
            return listing.list_jobs(conn, query.filtered(visible_to=access.visible_to(user)))

    def get_job(self, user: model.User | None, job_id: int) -> model.Job:
        """The job, if this user may see it; JobNotFound otherwise, exactly as for a missing job."""
        with self.db.read() as conn:
            job = job_rows.get(conn, job_id)
        if not access.can_view(user, job):
            raise errors.JobNotFound()
        return job

    def job_detail(self, user: model.User | None, job_id: int) -> JobDetail:
        with self.db.read() as conn:
            job = job_rows.get(conn, job_id)
            if not access.can_view(user, job):
                raise errors.JobNotFound()
            return _detail(conn, job, self.registry.title(job.type), user)

    def open_file(self, user: model.User | None, job_id: int, file_id: int) -> tuple[model.JobFile, Iterator[bytes]]:
        """A job's file and its bytes, checked against the same job row the user may see."""
        with self.db.read() as conn:
            job = job_rows.get(conn, job_id)
            if not access.can_view(user, job):
                raise errors.JobNotFound()  # exactly as for a missing job: no hint that the job exists
            job_file = job_rows.get_file(conn, job_id, file_id)
        return job_file, self.files.open(job_file.storage_key)

    # -- acting on jobs ------------------------------------------------------------------------
    def cancel(self, user: model.User | None, job_id: int, action: model.EventAction = "cancel") -> model.Job:
        job = self.get_job(user, job_id)
        if not access.can_cancel(user, job):
            raise errors.InvalidTransition(
                f"Job {job_id} is {job.status.value}; only queued or running jobs can be cancelled."
            )
        with self.db.write() as conn:
            if audit.cancel(conn, job_id, user, action) is None:
                raise errors.InvalidTransition(f"Job {job_id} finished before it could be cancelled.")
            return job_rows.get(conn, job_id)

    def retry(self, user: model.User | None, job_id: int, action: model.EventAction = "retry") -> model.Job:
        """A new job with the same type, params and input files; the failed one stays as it was."""
        job = self.get_job(user, job_id)
        job_type = self.registry.get(job.type) if job.type in self.registry else None
        if job_type is None or user is None or not access.can_retry(user, job, job_type.audience):
            raise errors.InvalidTransition(f"Job {job_id} is {job.status.value}; only failed jobs can be retried.")
        if model.stopped_its_workers(job) and not user.is_admin:
            raise errors.InvalidTransition(
                f"Job {job_id} cannot be retried: {job.error}. Only an administrator may retry it."
            )
        new = job_type.new_job(
            job.params, description=job.description, run_by_id=job.run_by_id, run_at=job.run_at, retry_of=job.id
        )
        return self._submit(new, actor=(user, action))

    def stats(self) -> job_stats.Stats:
        """Jobs by status, the oldest queued job, and the workers heard from within a lease."""
        with self.db.read() as conn:
            return job_stats.stats(conn, live_within_s=self.settings.lease_seconds)

    # -- imports -------------------------------------------------------------------------------
    def import_targets(self) -> list[target_registry.Target]:
        """Every registered import target."""
        return target_registry.TARGETS.all()

    def import_target(self, name: str) -> target_registry.Target:
        """The import target of this name; UnknownTarget otherwise."""
        return target_registry.TARGETS.get(name)

    #: Store an upload and queue its import, its mapping, sheet and header row checked first; and the mapping a
    #: user's earlier import of the same header used (importing.py holds both).
    start_import = importing.start_import
    previous_mapping = importing.previous_mapping

    def _submit(self, new: job_rows.NewJob, inputs: Iterable[InputFile] = (), actor: Actor | None = None) -> model.Job:
        """Enqueue a job with its input files in one transaction: both are in the ledger, or neither. A retry
        takes the input files of the job it retries, and is recorded in that job's trail."""
        with self.db.write() as conn:
            job_id = job_rows.submit(self.db, new, conn)
            if new.retry_of is not None:
                audit.record(conn, new.retry_of, *(actor or (None, "retry")), f"as job {job_id}")
                earlier = job_rows.files(conn, new.retry_of)
                inputs = [*inputs, *(InputFile.of(f) for f in earlier if f.kind is model.FileKind.INPUT)]
            for f in inputs:
                transitions.add_file(
                    conn, job_id, model.FileKind.INPUT, f.name, f.content_type, f.size, f.sha256, f.storage_key
                )
            return job_rows.get(conn, job_id)


def new_jobs(
    job_type: JobType, params: list[dict[str, Any]], user: model.User | None, max_params_bytes: int, **when: Any
) -> list[job_rows.NewJob]:
    """A new job of this type per params, each validated, run by `user` (None: the system); `when`: not_before
    or delay_seconds."""
    run_by_id = user.id if user else None
    return [
        job_type.new_job(job_type.validate_params(p, max_params_bytes), run_by_id=run_by_id, **when) for p in params
    ]
