"""Job types for the process tests, on top of tests/kinds.py."""

from __future__ import annotations

import time

from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import job_type


@job_type("t_stall_first_attempt", title="Stall on the first attempt", audience="everyone", max_attempts=2)
def stall_first_attempt(ctx: JobContext) -> None:
    """Hangs on its first attempt (so a killed worker holds it) and finishes at once when run again."""
    if ctx.attempt == 1:
        time.sleep(float(ctx.params.get("seconds", 60)))
