"""Job types for the runner tests, on top of tests/kinds.py: jobs a test ends when it chooses, so that what
it checks never depends on how fast a loaded machine runs them."""

from __future__ import annotations

import pathlib
import time

from jobdeck import errors
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import job_type

POLL_S = 0.02
UNTIL_RELEASED = "t_until_released"
#: The subtask these jobs open and close first: "In Progress" only says a job was claimed (it may still wait
#: for a thread, and a stopping worker hands such jobs back at once); this says its function is running.
STARTED = "Started"


def announce(ctx: JobContext) -> None:
    with ctx.subtask(STARTED):
        pass


def wait_for_file(path: str | None, seconds: float) -> None:
    """Return once `path` exists, or after `seconds` (just a sleep when there is no path)."""
    if path is None:
        time.sleep(seconds)
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not pathlib.Path(path).exists():
        time.sleep(POLL_S)


@job_type("t_stall_first_attempt", title="Stall on the first attempt", audience="everyone", max_attempts=2)
def stall_first_attempt(ctx: JobContext) -> None:
    """Announces its first attempt and hangs in it (so a killed or paused worker holds it) until the file
    `release` exists or
    `seconds` pass, without looking at cancellation; finishes at once when run again."""
    if ctx.attempt == 1:
        announce(ctx)
        release = ctx.params.get("release")
        wait_for_file(None if release is None else str(release), float(ctx.params.get("seconds", 60)))


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


#: what t_refuse says: the kind of refusal an import gives a file it cannot take
REFUSAL = "Unknown column(s) 'shoe_size'; the columns of Contacts are first_name, last_name, email."


@job_type("t_refuse", title="Refuse", audience="everyone")
def refuse(ctx: JobContext) -> None:
    raise errors.JobFailed(REFUSAL)


@job_type(UNTIL_RELEASED, title="Run until released", audience="everyone")
def until_released(ctx: JobContext) -> None:
    """Announces itself, runs until the file `release` exists, then completes; fails after `seconds`."""
    announce(ctx)
    release = str(ctx.params["release"])
    wait_for_file(release, float(ctx.params.get("seconds", 120)))
    if not pathlib.Path(release).exists():
        raise TimeoutError(f"{release} was never created")
