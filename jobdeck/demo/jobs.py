"""Demo job types: `noop`, `sleep`, `fail` and `flaky` for tests, benchmarks and a look at retries."""

from __future__ import annotations

import time

import pydantic

from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import job_type


@job_type("noop", title="No-op", audience="everyone", describe=lambda p: "Does nothing (benchmarks and checks)")
def noop(ctx: JobContext) -> None:
    """Does nothing: what throughput benchmarks run."""


class SleepParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    seconds: float = pydantic.Field(default=1.0, ge=0, le=3600)
    steps: int = pydantic.Field(default=1, ge=1, le=1000)


def _sleep_description(seconds: float, steps: int) -> str:
    unit = "second" if seconds == 1 else "seconds"
    return f"Sleeps for {seconds:g} {unit}" + (f" in {steps} steps" if steps > 1 else "")


@job_type(
    "sleep",
    title="Sleep",
    audience="everyone",
    params=SleepParams,
    describe=lambda p: _sleep_description(p["seconds"], p["steps"]),
)
def sleep(ctx: JobContext) -> None:
    """Sleeps in steps, one subtask each, and stops early when cancelled."""
    params = SleepParams.model_validate(ctx.params)
    step = params.seconds / params.steps
    for i in range(params.steps):
        with ctx.subtask(f"Step {i + 1} of {params.steps}"):
            deadline = time.monotonic() + step
            while (left := deadline - time.monotonic()) > 0:
                ctx.raise_if_cancelled()
                time.sleep(min(left, 0.05))
        ctx.progress(i + 1, params.steps)


class FailParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    message: str = pydantic.Field(default="This job always fails", max_length=500)


@job_type("fail", title="Fail", audience="everyone", params=FailParams, describe=lambda p: "Raises an error on purpose")
def fail(ctx: JobContext) -> None:
    """Raises: for tests of the failure path."""
    raise RuntimeError(FailParams.model_validate(ctx.params).message)


class FlakyParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    fail_times: int = pydantic.Field(default=2, ge=0, le=10)


class FlakyError(RuntimeError):
    """What `flaky` raises on the attempts it is told to fail."""


@job_type(
    "flaky",
    title="Flaky",
    audience="everyone",
    params=FlakyParams,
    describe=lambda p: f"Fails its first {p['fail_times']} attempts, then succeeds",
    max_attempts=5,
    backoff_base=0.5,
    backoff_cap=5.0,
)
def flaky(ctx: JobContext) -> None:
    """Raises on its first `fail_times` attempts, then succeeds: shows retries with backoff."""
    params = FlakyParams.model_validate(ctx.params)
    with ctx.subtask(f"Attempt {ctx.attempt}"):
        ctx.progress(0, 1)
        if ctx.attempt <= params.fail_times:
            raise FlakyError(f"Failing on purpose: attempt {ctx.attempt} of the first {params.fail_times}")
    ctx.progress(1, 1)
