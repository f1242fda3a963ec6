"""One claimed job run to its outcome: what a return, an exception, a cancellation or a lost lease mean."""

from __future__ import annotations

import time
import traceback

from jobdeck import errors, model
from jobdeck.runner import instruments
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import Registry
from jobdeck.store import transitions


def execute(registry: Registry, ctx: JobContext) -> transitions.Outcome | None:
    """Run the job's function; None when the lease was lost (the result is abandoned)."""
    started = time.perf_counter()
    outcome = _run(registry, ctx)
    label = outcome.status.value if outcome else "lost"
    instruments.JOB_DURATION.labels(ctx.job.type, label).observe(time.perf_counter() - started)
    return outcome


def _run(registry: Registry, ctx: JobContext) -> transitions.Outcome | None:
    job = ctx.job
    try:
        registry.get(job.type).func(ctx)
    except errors.LeaseLost:
        return None
    except errors.JobCancelled:
        return transitions.Outcome(job.id, ctx.lease_token, model.Status.CANCELLED, "Cancelled on request")
    except Exception as exc:
        if ctx.lost:  # an error after the lease was lost (say, the database went away) is not a result
            return None
        return failed(ctx, exc)
    if ctx.lost:
        return None
    return transitions.Outcome(job.id, ctx.lease_token, model.Status.COMPLETED)


def failed(ctx: JobContext, exc: Exception) -> transitions.Outcome:
    message = str(exc) or type(exc).__name__
    return transitions.Outcome(
        ctx.job.id, ctx.lease_token, model.Status.FAILED, message, log="".join(traceback.format_exception(exc))
    )
