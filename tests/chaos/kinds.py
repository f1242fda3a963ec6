"""Job types for the chaos bench and tests: each run leaves a fenced, countable trace in `chaos_ledger`."""

from __future__ import annotations

import os
import threading
import time

import sqlalchemy as sa

from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import job_type
from jobdeck.store.database import db_now

RECORD = "chaos_record"
MAX_ATTEMPTS = 5

#: One row per run that got as far as its write: the job, the lease it ran under, the process and
#: both clocks (the database's, and the worker process's own, which faketime may have moved).
ledger = sa.Table(
    "chaos_ledger",
    sa.MetaData(),
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("lease_token", sa.String(32), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("process_time", sa.Float, nullable=False),
)


def create_ledger(engine: sa.Engine) -> None:
    ledger.metadata.create_all(engine)


def pause(seconds: float) -> None:
    # An Event wait rather than time.sleep: under libfaketime with the real monotonic clock (the only
    # setting in which Python's waits work), time.sleep fails with EINVAL.
    if seconds > 0:
        threading.Event().wait(seconds)


@job_type(RECORD, title="Chaos record", audience="everyone", max_attempts=MAX_ATTEMPTS)
def record(ctx: JobContext) -> None:
    """Params: `before_ms` to wait, then the ledger row (unless `write` is false), then `after_ms` to wait.
    `announce` first opens and closes a "Started" subtask, so a test can see the run has begun.
    The ledger row commits together with its subtask, fenced by the lease (a stale run cannot write it)
    and retried through a database restart."""
    params = ctx.params
    if params.get("announce"):
        with ctx.subtask("Started"):
            pass
    pause(float(params.get("before_ms", 0)) / 1000)
    if params.get("write", True):
        row = {"job_id": ctx.job.id, "lease_token": ctx.lease_token, "pid": os.getpid(), "process_time": time.time()}
        with ctx.subtask("Record") as step:
            step.commit(lambda conn: conn.execute(sa.insert(ledger).values(written_at=db_now(), **row)))
    pause(float(params.get("after_ms", 0)) / 1000)
