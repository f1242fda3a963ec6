"""Job types for the retry tests: each raises in a recognisable way, with a backoff the test can measure."""

from __future__ import annotations

import time

from jobdeck import errors
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import job_type

#: Long enough to tell apart from no backoff on a loaded machine; the tests read it from the ledger, never wait it.
SLOW_BASE_S = 4.0
ALWAYS = "t_retry_always"
FAIL_ON = "t_retry_fail_on"
ONLY_OS = "t_retry_only_os_errors"
REFUSES = "t_retry_refuses"
WAITS = "t_retry_waits_for_cancel"
SLOW = "t_retry_slow_backoff"
LATER = "t_retry_in_ten_minutes"
RAISES_WHEN_CANCELLED = "t_retry_raises_when_cancelled"


class Permanent(Exception):
    """An error the type declares hopeless (fail_on)."""


@job_type(ALWAYS, title="Always raises", audience="everyone", max_attempts=3, backoff_base=0.01, backoff_cap=0.02)
def always(ctx: JobContext) -> None:
    with ctx.subtask("Work"):
        ctx.progress(5, 10)
        raise ValueError(f"boom on attempt {ctx.attempt}")


@job_type(SLOW, title="Slow backoff", audience="everyone", max_attempts=4, backoff_base=SLOW_BASE_S, backoff_cap=60)
def slow(ctx: JobContext) -> None:
    raise ValueError(f"boom on attempt {ctx.attempt}")


@job_type(FAIL_ON, title="Fails on Permanent", audience="everyone", max_attempts=5, fail_on=(Permanent,))
def fail_on(ctx: JobContext) -> None:
    raise Permanent("the account is closed")


@job_type(ONLY_OS, title="Retries OSError only", audience="everyone", max_attempts=5, retry_on=(OSError,))
def only_os(ctx: JobContext) -> None:
    raise KeyError("missing")


@job_type(REFUSES, title="Refuses", audience="everyone", max_attempts=5)
def refuses(ctx: JobContext) -> None:
    raise errors.JobFailed("The input says no")


@job_type(WAITS, title="Waits for cancel", audience="everyone", max_attempts=5, backoff_base=0.01)
def waits(ctx: JobContext) -> None:
    deadline = time.monotonic() + float(ctx.params.get("seconds", 60))
    while time.monotonic() < deadline:
        ctx.raise_if_cancelled()
        time.sleep(0.02)


@job_type(RAISES_WHEN_CANCELLED, title="Raises when cancelled", audience="everyone", max_attempts=5)
def raises_when_cancelled(ctx: JobContext) -> None:
    while not ctx.cancelled():
        time.sleep(0.02)
    raise ValueError("stopped badly")


@job_type(LATER, title="Retries in ten minutes", audience="everyone", max_attempts=4, backoff_base=600, backoff_cap=600)
def later(ctx: JobContext) -> None:
    """Its retry waits 5 to 10 minutes: what a page shows while a job waits, on a machine of any speed."""
    raise ValueError(f"boom on attempt {ctx.attempt}")
