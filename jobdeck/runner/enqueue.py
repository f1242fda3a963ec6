"""The application API: a registered job type enqueues jobs of its own kind from application code.

    @job_type("export_orders", params=ExportParams)
    def export_orders(ctx, params: ExportParams) -> None: ...

    export_orders.enqueue({"region": "north"}, run_by=user_id, connection=session)

The decorator returns a `RegisteredJobType`: it calls like the function it wraps, and its `enqueue` and
`enqueue_many` build every job through `JobType.new_job` (the type's queue, attempts, tab, description and
unique key), after validating the params with the type's model. With `connection=` (a SQLAlchemy Connection or
ORM Session) the job row is written in the caller's transaction; without it, in a transaction of its own on the
database the process was configured with (`jobdeck.configure()`, or the wiring a jobdeck process opened).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

import pydantic

from jobdeck import errors, model
from jobdeck.settings import Settings
from jobdeck.store import jobs, users
from jobdeck.store.database import Connection, Database

if TYPE_CHECKING:
    from jobdeck.runner.registry import JobType

P = ParamSpec("P")
R = TypeVar("R")
#: A job's params: a mapping, an instance of the type's model, or None for no params.
Params = Mapping[str, Any] | pydantic.BaseModel | None
#: Who the job belongs to (the grid's "Job Run By"): a user id or a User; None for the system.
RunBy = int | model.User | None


@dataclasses.dataclass(frozen=True)
class Configured:
    """The database jobs are enqueued into when the caller gives no connection, and the params bound."""

    db: Database
    max_params_bytes: int


_lock = threading.Lock()
_configured: Configured | None = None


def use(db: Database, settings: Settings) -> None:
    """Enqueue into `db` from now on when no connection is given (the last configured wins)."""
    global _configured
    with _lock:
        _configured = Configured(db, settings.max_params_bytes)


def forget(db: Database) -> None:
    """`db` is closing: stop enqueueing into it (another database configured since is kept)."""
    global _configured
    with _lock:
        if _configured is not None and _configured.db is db:
            _configured = None


def configured() -> Configured | None:
    with _lock:
        return _configured


def _default_max_params_bytes() -> int:
    default = Settings.model_fields["max_params_bytes"].default
    return int(default)


class RegisteredJobType(Generic[P, R]):
    """What `@job_type(...)` returns: the function itself when called, and the type's enqueueing calls."""

    def __init__(self, job_type: JobType, func: Callable[P, R]) -> None:
        functools.update_wrapper(self, func)
        self.job_type = job_type
        self._func = func

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<job type {self.job_type.name!r}: {self._func!r}>"

    def enqueue(
        self,
        params: Params = None,
        *,
        run_by: RunBy = None,
        page: str | None = None,
        run_at: dt.datetime | None = None,
        delay: float | dt.timedelta | None = None,
        key: str | None = None,
        connection: jobs.Transactional | None = None,
    ) -> int:
        """Enqueue one job of this type and return its id. `key` is an idempotency key: while a job with this
        key is in the ledger (whatever its status), enqueueing again returns that job's id. A unique type
        (`unique=` / `unique_key=`) also returns the id of its queued or running job with the same key."""
        when = When(run_at, delay)
        return enqueue_jobs(
            self.job_type, [params], run_by=run_by, page=page, when=when, key=key, connection=connection
        )[0]

    def enqueue_many(
        self,
        params: Iterable[Params],
        *,
        run_by: RunBy = None,
        page: str | None = None,
        run_at: dt.datetime | None = None,
        delay: float | dt.timedelta | None = None,
        connection: jobs.Transactional | None = None,
    ) -> list[int]:
        """Enqueue one job per params, in one transaction (all or none), and return their ids in order."""
        when = When(run_at, delay)
        return enqueue_jobs(self.job_type, list(params), run_by=run_by, page=page, when=when, connection=connection)


@dataclasses.dataclass(frozen=True)
class When:
    """When a job may run: not before `run_at` (a time; naive means UTC), or `delay` (seconds or a timedelta)
    from now by the database's clock; neither: as soon as a worker is free."""

    run_at: dt.datetime | None = None
    delay: float | dt.timedelta | None = None

    def __post_init__(self) -> None:
        if self.run_at is not None and self.delay is not None:
            raise errors.InvalidParams("Give run_at or delay, not both.")
        if self.run_at is not None and not isinstance(self.run_at, dt.datetime):
            raise errors.InvalidParams(f"run_at takes a datetime, not {type(self.run_at).__name__}.")

    @property
    def delay_seconds(self) -> float | None:
        return self.delay.total_seconds() if isinstance(self.delay, dt.timedelta) else self.delay


def enqueue_jobs(
    job_type: JobType,
    params: list[Params],
    *,
    run_by: RunBy = None,
    page: str | None = None,
    when: When = When(),
    key: str | None = None,
    connection: jobs.Transactional | None = None,
) -> list[int]:
    """Validate every job's params (InvalidParams names the first bad one) before writing any, then write
    them all in the caller's transaction or in one of their own."""
    target = configured()
    limit = target.max_params_bytes if target else _default_max_params_bytes()
    run_by_id = run_by.id if isinstance(run_by, model.User) else run_by
    news = [
        job_type.new_job(
            job_type.validate_params(_as_dict(job_type, p), limit),
            run_by_id=run_by_id,
            run_at=model.safe_run_at(page),
            idempotency_key=key,
            not_before=when.run_at,
            delay_seconds=when.delay_seconds,
        )
        for p in params
    ]
    if connection is not None:
        return _submit(target.db if target else None, jobs.connection_of(connection), news)
    if target is None:
        raise errors.ConfigInvalid(
            f"{job_type.name}.enqueue() has no database: call jobdeck.configure() once at start-up, "
            "or pass connection= (your SQLAlchemy Connection or Session)"
        )
    if run_by_id is None:
        # No user to check first: the store writes one job as one statement committed by itself.
        return jobs.submit_many(target.db, news)
    with target.db.write() as conn:
        return _submit(target.db, conn, news)


def _submit(db: Database | None, conn: Connection, news: list[jobs.NewJob]) -> list[int]:
    run_by_id = news[0].run_by_id if news else None
    if run_by_id is not None:
        try:
            users.get(conn, run_by_id)
        except errors.UserNotFound:
            raise errors.UserNotFound(f"No user with id {run_by_id}: run_by takes a jobdeck user id.") from None
    return jobs.submit_many(db, news, conn)


def _as_dict(job_type: JobType, params: Params) -> dict[str, Any]:
    if params is None:
        return {}
    if isinstance(params, pydantic.BaseModel):
        if job_type.params is not None and not isinstance(params, job_type.params):
            raise errors.InvalidParams(
                f"Invalid parameters for {job_type.name}: a {type(params).__name__} given, "
                f"{job_type.params.__name__} expected."
            )
        return params.model_dump(mode="json")
    if not isinstance(params, Mapping):
        raise errors.InvalidParams(
            f"Invalid parameters for {job_type.name}: a mapping or a pydantic model expected, "
            f"not {type(params).__name__}."
        )
    return dict(params)
