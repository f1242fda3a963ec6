"""Job types the tests share (as rq's fixtures.py): each does one recognisable thing."""

from __future__ import annotations

import os
import time

import sqlalchemy as sa

from jobdeck import errors, model
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import job_type

#: A side-effect ledger: every run writes a row, so tests count executions.
ledger = sa.Table(
    "test_ledger",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.BigInteger, nullable=False),
    sa.Column("lease_token", sa.String(32), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
)


def create_ledger(engine: sa.Engine) -> None:
    ledger.metadata.create_all(engine)


@job_type("t_echo", title="Echo", audience="everyone", describe=lambda p: f"Echo {p.get('text', '')}")
def echo(ctx: JobContext) -> None:
    ctx.log(str(ctx.params.get("text", "")))


@job_type("t_record", title="Record", audience="everyone", max_attempts=3)
def record(ctx: JobContext) -> None:
    """Writes one ledger row per run, then sleeps `ms` milliseconds."""
    with ctx.db.write() as conn:
        conn.execute(sa.insert(ledger).values(job_id=ctx.job.id, lease_token=ctx.lease_token, pid=os.getpid()))
    time.sleep(float(ctx.params.get("ms", 0)) / 1000)


@job_type("t_fail_always", title="Fail always", audience="everyone")
def fail_always(ctx: JobContext) -> None:
    with ctx.subtask("Doomed step"):
        raise ValueError("boom: the input was bad")


@job_type("t_steps", title="Steps", audience="everyone")
def steps(ctx: JobContext) -> None:
    total = int(ctx.params.get("n", 3))
    for i in range(total):
        with ctx.subtask(f"Step {i + 1}"):
            ctx.progress(i + 1, total)
    ctx.attach(model.FileKind.OUTPUT, "result.txt", [b"hello ", b"world"], content_type="text/plain")


@job_type("t_wait_cancel", title="Wait for cancel", audience="everyone")
def wait_cancel(ctx: JobContext) -> None:
    deadline = time.monotonic() + float(ctx.params.get("timeout", 10))
    while time.monotonic() < deadline:
        ctx.raise_if_cancelled()
        time.sleep(0.01)


@job_type("t_hang", title="Hang", audience="everyone", max_attempts=int(os.environ.get("T_HANG_ATTEMPTS", "1")))
def hang(ctx: JobContext) -> None:
    """Sleeps without looking at cancellation: for lease and shutdown tests."""
    time.sleep(float(ctx.params.get("seconds", 30)))


@job_type("t_crash", title="Crash", audience="everyone", max_attempts=2)
def crash(ctx: JobContext) -> None:
    """Kills its own process: a worker dying mid-job."""
    os._exit(9)


@job_type("t_lose_lease", title="Lose lease", audience="everyone")
def lose_lease(ctx: JobContext) -> None:
    raise errors.LeaseLost()
