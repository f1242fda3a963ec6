"""Job types for the process tests, on top of tests/kinds.py."""

from __future__ import annotations

import time

from jobdeck import errors
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import job_type


@job_type("t_stall_first_attempt", title="Stall on the first attempt", audience="everyone", max_attempts=2)
def stall_first_attempt(ctx: JobContext) -> None:
    """Hangs on its first attempt (so a killed worker holds it) and finishes at once when run again."""
    if ctx.attempt == 1:
        time.sleep(float(ctx.params.get("seconds", 60)))


@job_type("t_sleep_until_stopped", title="Sleep until stopped", audience="everyone", timeout=0.5)
def sleep_until_stopped(ctx: JobContext) -> None:
    """Waits for ctx.cancelled() (at most a minute), then stops as asked: a cooperative job with a limit."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ctx.raise_if_cancelled()
        time.sleep(0.01)


@job_type("t_ignore_stop", title="Ignore stop", audience="everyone", timeout=0.3)
def ignore_stop(ctx: JobContext) -> None:
    """Sleeps through its limit without looking at ctx.cancelled(): an uncooperative job."""
    time.sleep(float(ctx.params.get("seconds", 8)))


@job_type("t_started_then_sleep", title="Started, then sleep", audience="everyone")
def started_then_sleep(ctx: JobContext) -> None:
    """Records a "Started" subtask (so a test sees that a thread runs it), then sleeps through cancellation."""
    with ctx.subtask("Started"):
        pass
    time.sleep(float(ctx.params.get("seconds", 30)))


#: what t_refuse says: the kind of refusal an import gives a file it cannot take
REFUSAL = "Unknown column(s) 'shoe_size'; the columns of Contacts are first_name, last_name, email."


@job_type("t_refuse", title="Refuse", audience="everyone")
def refuse(ctx: JobContext) -> None:
    raise errors.JobFailed(REFUSAL)
