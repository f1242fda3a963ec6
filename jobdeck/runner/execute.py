"""One claimed job run to its outcome: what a return, an exception, a cancellation or a lost lease mean."""

from __future__ import annotations

import logging
import time
import traceback

from jobdeck import errors, model
from jobdeck.runner import calling, instruments
from jobdeck.runner.context import JobContext
from jobdeck.runner.options import WorkerOptions
from jobdeck.runner.registry import Registry
from jobdeck.runner.retrying import DEFAULT as DEFAULT_RETRY
from jobdeck.runner.retrying import RetryPolicy, is_refusal
from jobdeck.store import transitions

log = logging.getLogger(__name__)


def execute(registry: Registry, ctx: JobContext, options: WorkerOptions) -> transitions.Outcome | None:
    """Run the job's function; None when the lease was lost (the result is abandoned)."""
    started = time.perf_counter()
    outcome = _run(registry, ctx, options)
    label = outcome.status.value if outcome else "lost"
    instruments.JOB_DURATION.labels(ctx.job.type, label).observe(time.perf_counter() - started)
    return outcome


def _run(registry: Registry, ctx: JobContext, options: WorkerOptions) -> transitions.Outcome | None:
    job = ctx.job
    policy = DEFAULT_RETRY
    try:
        job_type = registry.get(job.type)
        policy = job_type.retry
        ctx.start_clock(options.time_limit(job_type))
        calling.call(job_type, ctx)  # (ctx), (params) or (ctx, params); a coroutine on its own loop
    except errors.LeaseLost:
        return None
    except errors.JobCancelled:
        if ctx.timed_out():
            return past_its_limit(ctx)
        return transitions.Outcome(job.id, ctx.lease_token, model.Status.CANCELLED, "Cancelled on request")
    except Exception as exc:
        if ctx.lost:  # an error after the lease was lost (say, the database went away) is not a result
            return None
        if ctx.timed_out():  # e.g. its child process, killed at the limit: time limits never retry
            return past_its_limit(ctx)
        # a run asked to stop is not run again, whatever it raised on the way out
        if policy.retries(exc) and job.attempt < job.max_attempts and not ctx.cancelled():
            return retrying(ctx, exc, policy)
        return failed(ctx, exc)
    if ctx.lost:
        return None
    if ctx.timed_out():  # it saw ctx.cancelled() and returned early: its work is not done
        return past_its_limit(ctx)
    return transitions.Outcome(job.id, ctx.lease_token, model.Status.COMPLETED)


def past_its_limit(ctx: JobContext) -> transitions.Outcome:
    message = f"Stopped after {ctx.time_limit or 0:g} s (the limit for this job type)"
    return transitions.Outcome(ctx.job.id, ctx.lease_token, model.Status.FAILED, message)


def retrying(ctx: JobContext, exc: Exception, policy: RetryPolicy) -> transitions.Outcome:
    """The run raised and attempts remain: back to the queue, not claimed before the backoff is over."""
    job = ctx.job
    message = str(exc) or type(exc).__name__
    delay = policy.delay(job.attempt)
    log.warning(
        "job %s (%s) attempt %d of %d failed: %s; next attempt in %.1f s",
        *(job.id, job.type, job.attempt, job.max_attempts, message, delay),
        exc_info=exc,
    )
    line = f"Attempt {job.attempt} of {job.max_attempts} failed; next attempt in {delay:.1f} s\n"
    trace = "".join(traceback.format_exception(exc))
    return transitions.Outcome(job.id, ctx.lease_token, model.Status.QUEUED, message, line + trace, delay)


def failed(ctx: JobContext, exc: Exception) -> transitions.Outcome:
    """A refusal (the job saying why it cannot go on) is one line in the logs; anything else is a
    bug or an outage somewhere, and keeps its traceback (in the job log too, for administrators)."""
    job = ctx.job
    message = str(exc) or type(exc).__name__
    if is_refusal(exc):
        log.warning("job %s (%s) failed: %s", job.id, job.type, message)
        return transitions.Outcome(job.id, ctx.lease_token, model.Status.FAILED, message, log=message)
    log.error("job %s (%s) failed: %s", job.id, job.type, message, exc_info=exc)
    return transitions.Outcome(
        job.id, ctx.lease_token, model.Status.FAILED, message, log="".join(traceback.format_exception(exc))
    )
