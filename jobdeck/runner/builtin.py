"""The job types jobdeck itself ships: the nightly retention purge."""

from __future__ import annotations

import datetime as dt

import pydantic

from jobdeck.runner.context import JobContext, SubtaskHandle
from jobdeck.runner.registry import REGISTRY
from jobdeck.store import retention, schedules
from jobdeck.store.database import Connection

PURGE_BATCH = 500


class PurgeParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    #: keep this many days; empty means JOBDECK_RETENTION_DAYS
    days: int | None = pydantic.Field(default=None, ge=1, le=36500)


def _describe(params: dict[str, object]) -> str:
    days = params.get("days")
    return f"Purge jobs older than {days} days" if days else "Purge jobs older than the retention period"


@REGISTRY.job_type(
    "purge_jobs",
    title="Purge old jobs",
    params=PurgeParams,
    describe=_describe,
    schedule="17 3 * * *",
)
def purge_jobs(ctx: JobContext) -> None:
    """Delete finished jobs, their subtasks, log lines and files, older than the retention period.

    The ledger is jobdeck's own table, so this system job works on the store directly, one batch
    per subtask; the bytes of a batch's files are removed once its rows are gone.
    """
    days = PurgeParams.model_validate(ctx.params).days or ctx.settings.retention_days
    with ctx.db.read() as conn:
        cutoff = schedules.database_now(conn) - dt.timedelta(days=days)
    total, batch_no = 0, 0
    while not ctx.cancelled():
        batch_no += 1
        with ctx.subtask(f"Batch {batch_no}") as sub:

            def purge(conn: Connection, sub: SubtaskHandle = sub) -> retention.PurgedBatch:
                purged = retention.purge_batch(conn, cutoff, PURGE_BATCH)
                sub.message = f"{purged.jobs} jobs deleted"  # recorded with the subtask, in this transaction
                return purged

            batch = sub.commit(purge)
        for key in batch.orphaned_keys:
            ctx.files.delete(key)
        total += batch.jobs
        if batch.jobs < PURGE_BATCH:
            break
    ctx.log(f"Deleted {total} jobs that ended before {cutoff:%Y-%m-%d %H:%M} UTC")
