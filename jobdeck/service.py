"""The operations the web pages, the API and the CLI share. Access is checked here, once, for all of them."""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from jobdeck import access, errors, files, metrics, model, passwords
from jobdeck.imports import job as import_job
from jobdeck.imports import targets as target_registry
from jobdeck.imports import upload
from jobdeck.runner.options import WorkerOptions
from jobdeck.runner.registry import REGISTRY, JobType, Registry
from jobdeck.runner.worker import Worker
from jobdeck.settings import Settings
from jobdeck.store import auth as auth_rows
from jobdeck.store import jobs as job_rows
from jobdeck.store import migrate, transitions
from jobdeck.store import users as user_rows
from jobdeck.store.database import Database

_RUN_AT = re.compile(r"^/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@%/?#-]*$")


def safe_run_at(path: str | None) -> str | None:
    """Only a path on this site is kept as "Job Run At": no scheme, no host, no `//`, no backslashes."""
    if not path or len(path) > 500 or not _RUN_AT.match(path):
        return None
    return path


@dataclasses.dataclass(frozen=True)
class JobDetail:
    job: model.Job
    subtasks: list[model.Subtask]
    files: list[model.JobFile]
    log: list[model.LogLine]


class Service:
    """One per process: the database, the file store, the job types, and the settings they came from."""

    def __init__(
        self,
        settings: Settings,
        db: Database | None = None,
        file_store: files.FileStore | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.settings = settings
        self.db = db or Database(
            settings.resolved_database_url,
            pool_size=max(5, settings.workers + 5),
            sqlite_synchronous=settings.sqlite_synchronous,
            idle_in_transaction_timeout_s=settings.lease_seconds,
        )
        self.files = file_store or files.open_store(settings.file_storage, self.db, settings.data_dir)
        self.registry = registry or REGISTRY
        metrics.watch(self.db, live_within_s=settings.lease_seconds)

    @classmethod
    def open(cls, settings: Settings, *, upgrade: bool = True) -> Service:
        """Connect, bring an empty or older schema up to date, and import the job modules."""
        load_job_modules(settings)
        service = cls(settings)
        if upgrade:
            migrate.ensure(service.db)
        else:
            migrate.check(service.db)
        target_registry.ensure_tables(service.db)
        return service

    def close(self) -> None:
        self.db.dispose()

    # -- users ---------------------------------------------------------------------------------
    def create_user(
        self, username: str, password: str, *, is_admin: bool = False, display_name: str = ""
    ) -> model.User:
        username = username.strip()
        if not re.fullmatch(r"[A-Za-z0-9._@-]{1,150}", username):
            raise errors.InvalidParams("A username is 1-150 letters, digits, dots, dashes, underscores or @.")
        passwords.check_policy(password)
        with self.db.write() as conn:
            return user_rows.create(conn, username, display_name, passwords.hash_password(password), is_admin)

    def users(self) -> list[model.User]:
        with self.db.read() as conn:
            return user_rows.list_all(conn)

    def set_disabled(self, username: str, disabled: bool) -> model.User:
        """Disable (or enable) an account; disabling ends its sessions and API tokens at once."""
        with self.db.write() as conn:
            user = user_rows.by_username(conn, username)
            user_rows.set_disabled(conn, user.id, disabled)
            if disabled:
                auth_rows.revoke_user(conn, user.id)
            return user_rows.get(conn, user.id)

    def user(self, username: str) -> model.User:
        with self.db.read() as conn:
            return user_rows.by_username(conn, username)

    # -- job types -----------------------------------------------------------------------------
    def job_types_for(self, user: model.User) -> list[JobType]:
        return [t for t in self.registry.all() if access.can_start(user, t.audience) and t.tab is model.Tab.GENERAL]

    def job_type_for(self, user: model.User, name: str) -> JobType:
        """A job type this user may start; an unknown one and a forbidden one look the same."""
        if name not in self.registry:
            raise errors.UnknownJobType(f"No job type named {name!r} is registered.")
        job_type = self.registry.get(name)
        if not access.can_start(user, job_type.audience):
            raise errors.UnknownJobType(f"No job type named {name!r} is registered.")
        return job_type

    # -- starting jobs -------------------------------------------------------------------------
    def start_job(
        self,
        user: model.User | None,
        type_name: str,
        params: dict[str, Any] | None = None,
        *,
        run_at: str | None = None,
        idempotency_key: str | None = None,
    ) -> model.Job:
        """Enqueue a job as `user` (None: the system), after checking they may start its type."""
        job_type = self.registry.get(type_name) if user is None else self.job_type_for(user, type_name)
        clean = job_type.validate_params(params or {})
        new = job_rows.NewJob(
            type=job_type.name,
            tab=job_type.tab,
            description=job_type.description_for(clean),
            params=clean,
            run_by_id=user.id if user else None,
            run_at=safe_run_at(run_at),
            queue=job_type.queue,
            max_attempts=job_type.max_attempts,
            idempotency_key=idempotency_key,
        )
        with self.db.write() as conn:
            return job_rows.get(conn, job_rows.submit(self.db, new, conn))

    def enqueue_many(self, user: model.User | None, type_name: str, params: dict[str, Any], count: int) -> list[int]:
        job_type = self.registry.get(type_name) if user is None else self.job_type_for(user, type_name)
        clean = job_type.validate_params(params)
        new = job_rows.NewJob(
            type=job_type.name,
            tab=job_type.tab,
            description=job_type.description_for(clean),
            params=clean,
            run_by_id=user.id if user else None,
            queue=job_type.queue,
            max_attempts=job_type.max_attempts,
        )
        return job_rows.submit_many(self.db, [new] * count)

    # -- reading jobs --------------------------------------------------------------------------
    def list_jobs(
        self,
        user: model.User,
        flt: job_rows.JobFilter,
        *,
        sort: str = "id",
        order: str = "desc",
        limit: int = 50,
        cursor: str | None = None,
    ) -> model.Page:
        """A page of the jobs this user may see (the visibility rule applied inside the query)."""
        if not access.can_list(user):
            return model.Page(items=[], next_cursor=None)
        flt = dataclasses.replace(flt, visible_to=access.visible_to(user))
        with self.db.read() as conn:
            return job_rows.list_jobs(conn, flt, sort=sort, order=order, limit=limit, cursor=cursor)

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
            return JobDetail(
                job=job,
                subtasks=job_rows.subtasks(conn, job_id),
                files=job_rows.files(conn, job_id),
                log=job_rows.log_lines(conn, job_id),
            )

    def open_file(self, user: model.User | None, job_id: int, file_id: int) -> tuple[model.JobFile, Iterator[bytes]]:
        """A job's file and its bytes, checked against the same job row the user may see."""
        with self.db.read() as conn:
            job = job_rows.get(conn, job_id)
            if not access.can_view(user, job):
                raise errors.FileNotFound()
            job_file = job_rows.get_file(conn, job_id, file_id)
        return job_file, self.files.open(job_file.storage_key)

    # -- acting on jobs ------------------------------------------------------------------------
    def cancel(self, user: model.User | None, job_id: int) -> model.Job:
        job = self.get_job(user, job_id)
        if not access.can_cancel(user, job):
            raise errors.InvalidTransition(
                f"Job {job_id} is {job.status.value}; only queued or running jobs can be cancelled."
            )
        with self.db.write() as conn:
            if transitions.request_cancel(conn, job_id) is None:
                raise errors.InvalidTransition(f"Job {job_id} finished before it could be cancelled.")
            return job_rows.get(conn, job_id)

    def retry(self, user: model.User | None, job_id: int) -> model.Job:
        """A new job with the same type, params and input files; the failed one stays as it was."""
        job = self.get_job(user, job_id)
        job_type = self.registry.get(job.type) if job.type in self.registry else None
        if job_type is None or user is None or not access.can_retry(user, job, job_type.audience):
            raise errors.InvalidTransition(f"Job {job_id} is {job.status.value}; only failed jobs can be retried.")
        if model.stopped_its_workers(job) and not user.is_admin:
            raise errors.InvalidTransition(
                f"Job {job_id} cannot be retried: {job.error}. Only an administrator may retry it."
            )
        new = job_rows.NewJob(
            type=job.type,
            tab=job.tab,
            description=job.description,
            params=job.params,
            run_by_id=job.run_by_id,
            run_at=job.run_at,
            queue=job.queue,
            max_attempts=job.max_attempts,
            retry_of=job.id,
        )
        with self.db.write() as conn:
            new_id = job_rows.submit(self.db, new, conn)
            for f in job_rows.files(conn, job.id):
                if f.kind is model.FileKind.INPUT:
                    transitions.add_file(conn, new_id, f.kind, f.name, f.content_type, f.size, f.sha256, f.storage_key)
            return job_rows.get(conn, new_id)

    def stats(self) -> job_rows.Stats:
        with self.db.read() as conn:
            return job_rows.stats(conn, live_within_s=self.settings.lease_seconds)

    # -- running -------------------------------------------------------------------------------
    def worker(self, concurrency: int | None = None, **overrides: Any) -> Worker:
        """A worker on this process's settings; `overrides` (WorkerOptions fields) win over them."""
        options = WorkerOptions.from_settings(self.settings, concurrency=concurrency, **overrides)
        return Worker(self.db, self.files, self.registry, options)

    # -- imports -------------------------------------------------------------------------------
    def import_targets(self) -> list[target_registry.Target]:
        """Every registered import target."""
        return target_registry.TARGETS.all()

    def start_import(
        self,
        user: model.User,
        source: BinaryIO,
        filename: str,
        target: str,
        *,
        on_error: str = "skip",
        dry_run: bool = False,
        encoding: str | None = None,
        delimiter: str | None = None,
        run_at: str | None = "/imports/new",
    ) -> model.Job:
        """Store an upload and queue its import, the file recorded as the job's Input File in the same transaction."""
        chosen = target_registry.TARGETS.get(target)
        name = upload.clean_filename(filename)
        job_type = self.job_type_for(user, import_job.JOB_TYPE)
        params = job_type.validate_params(
            {
                "target": chosen.name,
                "filename": name,
                "on_error": upload.check_on_error(on_error),
                "dry_run": bool(dry_run),
                "encoding": upload.check_encoding(encoding),
                "delimiter": upload.check_delimiter(delimiter),
            }
        )
        limit_mb = self.settings.max_upload_mb
        try:
            stored = self.files.put(source, max_bytes=limit_mb * 1024 * 1024)
        except errors.FileTooLarge:
            raise errors.FileTooLarge(
                f"{name} is larger than the upload limit of {limit_mb:,} MB (JOBDECK_MAX_UPLOAD_MB)."
            ) from None
        try:
            upload.check_content(next(iter(self.files.open(stored.key)), b"")[:4096], name)
            new = job_rows.NewJob(
                type=job_type.name,
                tab=job_type.tab,
                description=job_type.description_for(params),
                params=params,
                run_by_id=user.id,
                run_at=safe_run_at(run_at),
                queue=job_type.queue,
                max_attempts=job_type.max_attempts,
            )
            with self.db.write() as conn:
                job_id = job_rows.submit(self.db, new, conn)
                transitions.add_file(
                    conn,
                    job_id,
                    model.FileKind.INPUT,
                    name,
                    upload.content_type(name),
                    stored.size,
                    stored.sha256,
                    stored.key,
                )
                return job_rows.get(conn, job_id)
        except BaseException:
            self.files.delete(stored.key)
            raise


def load_job_modules(settings: Settings) -> None:
    """Import the modules that register job types and import targets (JOBDECK_JOB_MODULES), after
    jobdeck's own job types."""
    for name in ["jobdeck.runner.builtin", *settings.job_module_names]:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise errors.ConfigInvalid(
                f"JOBDECK_JOB_MODULES={settings.job_modules!r}: cannot import {name}: {exc}"
            ) from exc
