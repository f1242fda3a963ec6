"""Isolated job types for tests/runner/test_isolation.py: each sends its job one kind of trouble from a child."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from typing import Any

from jobdeck import errors
from jobdeck.runner import isolation
from jobdeck.runner.child import Send
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import REGISTRY, job_type

WORDING = isolation.Wording(subject="doing the test work", memory_advice="give it less", cpu_advice="give it less")


def run_in_child(ctx: JobContext) -> None:
    """Runs `behave(params)` in the child and describes the job with what it sent."""
    caps = isolation.Caps.of(REGISTRY.get(ctx.job.type), ctx.settings)
    entry = f"{__name__}:behave"
    with isolation.child(ctx, caps, entry, ctx.params, WORDING) as messages:
        got = [str(m) for m in messages]
    ctx.describe(" ".join(got))


def behave(params: dict[str, Any], send: Send) -> None:
    """What the child does, by params["do"]."""
    do = params["do"]
    if do == "count":
        for n in range(3):
            send(("n", n))
    elif do == "hog":
        send(("hog", bytearray(2 * 1024 * 1024 * 1024)))
    elif do == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif do == "spin":
        while True:
            pass
    elif do == "sleep":
        send(("pid", os.getpid()))
        time.sleep(600)
    elif do == "whoami":
        send(("pid", os.getpid()))
    elif do == "refuse":
        raise errors.InvalidParams("the child refuses")
    elif do == "object":
        send(("when", dt.datetime(2024, 1, 1)))


job_type("t_isolated", title="Isolated", audience="everyone", isolated=True, memory_mb=256, cpu_seconds=2)(run_in_child)
