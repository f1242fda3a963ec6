"""Job types: a decorator registers a function with its name, tab, title, audience and attempts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import croniter
import pydantic

from jobdeck import access, errors, model
from jobdeck.runner import calling
from jobdeck.runner.enqueue import RegisteredJobType
from jobdeck.runner.retrying import DEFAULT as DEFAULT_RETRY
from jobdeck.runner.retrying import ExceptionTypes, RetryPolicy
from jobdeck.settings import Settings
from jobdeck.store.jobs import NewJob

#: f(ctx), f(params), f(ctx, params) or f(), sync or async: see runner/calling.py
JobFunction = Callable[..., Any]
P = ParamSpec("P")
R = TypeVar("R")
#: A child process's limit: a number, or read from the settings of the worker running the job.
ChildLimit = int | Callable[[Settings], int] | None
#: jobs.unique_key's length
UNIQUE_KEY_MAX = 200


@dataclasses.dataclass(frozen=True)
class JobType:
    name: str  #: stored in jobs.type; stable
    func: JobFunction
    title: str  #: the grid's "Job" column: the type of action performed
    tab: model.Tab
    audience: access.Audience  #: who may start it
    max_attempts: int  #: runs allowed: after an exception its `retry` policy allows, or a lost worker
    params: type[pydantic.BaseModel] | None  #: validates params at enqueue time
    describe: Callable[[dict[str, Any]], str] | None  #: the grid's "Description" for given params
    schedule: str | None  #: cron expression for a system job that runs by itself
    queue: str
    #: seconds a run may take before it is asked to stop; None: JOBDECK_JOB_TIMEOUT_SECONDS; 0: no limit
    timeout: float | None = None
    #: whether its work on untrusted input runs in a child process (runner/isolation.py), with these limits
    isolated: bool = False
    memory_mb: ChildLimit = None
    cpu_seconds: ChildLimit = None
    #: at most one job of this type with the same key is queued or in progress; the key is `unique_key(params)`,
    #: or the params themselves when only `unique` is set
    unique: bool = False
    unique_key: Callable[[dict[str, Any]], str] | None = None
    #: what the function is given, read from its signature (runner/calling.py)
    takes: calling.Calling = dataclasses.field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Read once, here: a signature the worker could not serve fails the import that registers it.
        how, model = calling.read(self.name, self.func, self.params)
        object.__setattr__(self, "takes", how)
        object.__setattr__(self, "params", model)

    #: which exceptions run the job again while attempts remain, and the backoff between attempts
    retry: RetryPolicy = DEFAULT_RETRY

    def validate_params(self, params: dict[str, Any], max_bytes: int | None = None) -> dict[str, Any]:
        """The params as the type's model reads them; over `max_bytes` of JSON (JOBDECK_MAX_PARAMS_BYTES, the
        only bound of a type without a model) they are refused."""
        clean = params
        if self.params is not None:
            try:
                clean = self.params.model_validate(params).model_dump(mode="json")
            except pydantic.ValidationError as exc:
                detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors())
                raise errors.InvalidParams(f"Invalid parameters for {self.name}: {detail}") from None
        if max_bytes is not None:
            size = len(json.dumps(clean, separators=(",", ":"), default=str).encode())
            if size > max_bytes:
                raise errors.InvalidParams(
                    f"params: {size:,} bytes of JSON, more than the limit of {max_bytes:,} (JOBDECK_MAX_PARAMS_BYTES)."
                )
        return clean

    def description_for(self, params: dict[str, Any]) -> str:
        return self.describe(params) if self.describe else self.title

    def key_for(self, params: dict[str, Any]) -> str | None:
        """The unique key of a job with these validated params; None for a type that is not unique. A key
        longer than the column is stored as its sha256."""
        if self.unique_key is not None:
            key = str(self.unique_key(params))
        elif self.unique:
            key = "params:" + json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
        else:
            return None
        return key if len(key) <= UNIQUE_KEY_MAX else "sha256:" + hashlib.sha256(key.encode()).hexdigest()

    def new_job(
        self,
        params: dict[str, Any],
        *,
        description: str | None = None,
        run_by_id: int | None = None,
        run_at: str | None = None,
        idempotency_key: str | None = None,
        retry_of: int | None = None,
        not_before: dt.datetime | None = None,
        delay_seconds: float | None = None,
    ) -> NewJob:
        """A job of this type for validated `params`: on its queue and tab, with its attempts, described for
        its params unless `description` says otherwise; not run before `not_before` (or `delay_seconds` from
        now by the database's clock) when given."""
        return NewJob(
            type=self.name,
            tab=self.tab,
            description=self.description_for(params) if description is None else description,
            params=params,
            run_by_id=run_by_id,
            run_at=run_at,
            queue=self.queue,
            max_attempts=self.max_attempts,
            idempotency_key=idempotency_key,
            retry_of=retry_of,
            unique_key=self.key_for(params),
            not_before=not_before,
            delay_seconds=delay_seconds,
        )


class Registry:
    def __init__(self) -> None:
        self._types: dict[str, JobType] = {}

    def job_type(
        self,
        name: str,
        *,
        title: str | None = None,
        tab: model.Tab = model.Tab.GENERAL,
        audience: access.Audience = "admins",
        max_attempts: int = 1,
        params: type[pydantic.BaseModel] | None = None,
        describe: Callable[[dict[str, Any]], str] | None = None,
        schedule: str | None = None,
        queue: str = "default",
        timeout: float | None = None,
        isolated: bool = False,
        memory_mb: ChildLimit = None,
        cpu_seconds: ChildLimit = None,
        unique: bool = False,
        unique_key: Callable[[dict[str, Any]], str] | None = None,
        retry_on: ExceptionTypes = DEFAULT_RETRY.retry_on,
        fail_on: ExceptionTypes = DEFAULT_RETRY.fail_on,
        backoff_base: float = DEFAULT_RETRY.backoff_base,
        backoff_cap: float = DEFAULT_RETRY.backoff_cap,
    ) -> Callable[[Callable[P, R]], RegisteredJobType[P, R]]:
        """Register the decorated function as job type `name`. What it returns calls like the function and
        also enqueues jobs of the type (`.enqueue`, `.enqueue_many`: runner/enqueue.py). An exception runs it
        again (after a backoff) while `max_attempts` allow: see runner/retrying.py for `retry_on`, `fail_on` and
        the backoff."""
        retry = RetryPolicy(retry_on=retry_on, fail_on=fail_on, backoff_base=backoff_base, backoff_cap=backoff_cap)

        def register(func: Callable[P, R]) -> RegisteredJobType[P, R]:
            registered = JobType(
                name=name,
                func=func,
                title=title or name.replace("_", " ").capitalize(),
                tab=tab,
                audience=audience,
                max_attempts=max_attempts,
                params=params,
                describe=describe,
                schedule=schedule,
                queue=queue,
                timeout=timeout,
                isolated=isolated,
                memory_mb=memory_mb,
                cpu_seconds=cpu_seconds,
                unique=unique or unique_key is not None,
                unique_key=unique_key,
                retry=retry,
            )
            self.add(registered)
            return RegisteredJobType(registered, func)

        return register

    def add(self, job_type: JobType) -> None:
        if job_type.schedule is not None and not croniter.croniter.is_valid(job_type.schedule):
            raise ValueError(f"job type {job_type.name!r}: {job_type.schedule!r} is not a cron expression")
        existing = self._types.get(job_type.name)
        if existing is not None and existing.func is not job_type.func:
            raise ValueError(f"job type {job_type.name!r} is registered twice")
        self._types[job_type.name] = job_type

    def get(self, name: str) -> JobType:
        try:
            return self._types[name]
        except KeyError:
            raise errors.UnknownJobType(f"No job type named {name!r} is registered.") from None

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def startable_by(self, user: model.User) -> list[JobType]:
        """The types this user may start by name (what GET /job-types lists)."""
        return [t for t in self.all() if access.can_start(user, t.audience) and t.tab is model.Tab.GENERAL]

    def for_user(self, user: model.User, name: str, *, by_name: bool = False) -> JobType:
        """A job type this user may start; an unknown one and a forbidden one look the same. `by_name`: only
        those a user starts by name, so an internal type (the import an upload starts) is refused like a
        missing one."""
        job_type = self._types.get(name)
        if job_type is None or not access.can_start(user, job_type.audience):
            raise errors.UnknownJobType(f"No job type named {name!r} is registered.")
        if by_name and job_type.tab is not model.Tab.GENERAL:
            raise errors.UnknownJobType(f"No job type named {name!r} is registered.")
        return job_type

    def title(self, name: str) -> str:
        """A job type's title; a type no module registers any more is shown by its name."""
        return self._types[name].title if name in self._types else name

    def all(self) -> list[JobType]:
        return sorted(self._types.values(), key=lambda t: t.name)


#: The registry that JOBDECK_JOB_MODULES register into.
REGISTRY = Registry()
job_type = REGISTRY.job_type
