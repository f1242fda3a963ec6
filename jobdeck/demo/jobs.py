"""Demo job types: `noop`, `sleep` and `fail` for tests and benchmarks."""

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
