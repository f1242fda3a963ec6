"""The wiring of one process: the database, the file store, the metrics, the schema and the job modules.

A process (server, worker, one CLI command) builds one `Wiring` at start and closes it at exit; the service
(jobs and imports) and the workers are made from it.
"""

from __future__ import annotations

import importlib
import logging
import pathlib
from typing import Any

import sqlalchemy as sa

from jobdeck import errors, files, metrics
from jobdeck.imports import targets
from jobdeck.runner import enqueue
from jobdeck.runner.options import WorkerOptions
from jobdeck.runner.registry import REGISTRY, Registry
from jobdeck.runner.worker import Worker
from jobdeck.settings import Settings, normalize_database_url, shown_url
from jobdeck.store import migrate
from jobdeck.store.database import Database

log = logging.getLogger(__name__)
#: The modules that always register job types, before JOBDECK_JOB_MODULES.
BUILTIN_JOB_MODULES = ("jobdeck.runner.builtin",)


class Wiring:
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
        metrics.watch(
            self.db, settings.lease_seconds, registry=self.registry, worker_label=settings.metrics_worker_label
        )

    @classmethod
    def open(cls, settings: Settings, *, upgrade: bool = True) -> Wiring:
        """Import the job modules, connect, and bring an empty or older schema up to date (or, with
        `upgrade=False`, refuse one that is not current)."""
        load_job_modules(settings)
        wiring = cls(settings)
        if upgrade:
            migrate.ensure(wiring.db)
        else:
            migrate.check(wiring.db)
        targets.ensure_tables(wiring.db)
        enqueue.use(wiring.db, settings)  # what `export_orders.enqueue(...)` writes to without a connection
        return wiring

    def close(self) -> None:
        enqueue.forget(self.db)
        self.db.dispose()

    def worker(self, concurrency: int | None = None, **overrides: Any) -> Worker:
        """A worker over this process's database, files and job types; `overrides` (WorkerOptions fields) win
        over the settings."""
        options = WorkerOptions.from_settings(self.settings, concurrency=concurrency, **overrides)
        return Worker(self.db, self.files, self.registry, options)


def load_job_modules(settings: Settings) -> None:
    """Import the modules that register job types and import targets (JOBDECK_JOB_MODULES), after
    jobdeck's own job types."""
    for name in [*BUILTIN_JOB_MODULES, *settings.job_module_names]:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise errors.ConfigInvalid(
                f"JOBDECK_JOB_MODULES={settings.job_modules!r}: cannot import {name}: {exc}"
            ) from exc


# -- the schema on its own, for `jobdeck db` (no job modules, no file store) ----------------------
def _schema_database(settings: Settings) -> Database:
    return Database(settings.resolved_database_url, pool_size=1, sqlite_synchronous=settings.sqlite_synchronous)


def schema_head() -> str | None:
    """The newest schema revision this code knows."""
    return migrate.head()


def schema_revision(settings: Settings) -> str | None:
    """The database's schema revision; None for an empty database, or a SQLite file not there yet (which is
    not created by asking)."""
    if _missing_sqlite_file(settings.resolved_database_url):
        return None
    db = _schema_database(settings)
    try:
        return migrate.current(db)
    finally:
        db.dispose()


def upgrade_schema(settings: Settings) -> tuple[str | None, str | None]:
    """Bring the database's schema up to date; returns the revisions before and after."""
    db = _schema_database(settings)
    try:
        before = migrate.current(db)
        migrate.upgrade(db)
        return before, migrate.current(db)
    finally:
        db.dispose()


#: What every refusal of a database that is not there yet tells the user to do.
CREATE_HINT = "run `jobdeck db upgrade`, or start `jobdeck serve`, to create it"


def require_database(settings: Settings) -> None:
    """Refuse, with ConfigInvalid naming it, a database that does not exist yet: a missing SQLite file (SQLite
    would create an empty one on connecting) or a database without jobdeck's tables. Only `db upgrade`,
    `serve` and `worker` create one; any other command on the wrong database would otherwise answer from an
    empty one as if it were real. A database that cannot be reached is left for the command to report."""
    url = settings.resolved_database_url
    if _missing_sqlite_file(url):
        raise errors.ConfigInvalid(f"no database at {shown_url(url)}; {CREATE_HINT}")
    try:
        revision = schema_revision(settings)
    except sa.exc.DBAPIError:
        return
    if revision is None:
        raise errors.ConfigInvalid(f"the database {shown_url(url)} has no jobdeck tables yet; {CREATE_HINT}")


def _missing_sqlite_file(url: str) -> bool:
    """A SQLite URL whose file is not there: connecting would create it, empty."""
    parsed = sa.engine.make_url(normalize_database_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return False
    return not pathlib.Path(parsed.database).is_file()
