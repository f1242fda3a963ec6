"""Retention: deleting finished jobs (with their subtasks, files and log) older than a cutoff, in batches."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import rows, schema

j = schema.jobs
f = schema.job_files
FINISHED = [s.value for s in model.TERMINAL]


@dataclasses.dataclass(frozen=True)
class PurgedBatch:
    jobs: int
    #: storage keys no remaining job refers to: the caller deletes their bytes after the commit
    orphaned_keys: list[str]


def purge_batch(conn: sa.Connection, cutoff: dt.datetime, limit: int) -> PurgedBatch:
    """Delete up to `limit` finished jobs that ended before `cutoff`; never a queued or running job."""
    ids = list(
        conn.execute(
            sa.select(j.c.id)
            .where(j.c.status.in_(FINISHED), sa.func.coalesce(j.c.ended_at, j.c.created_at) < rows.to_db_time(cutoff))
            .order_by(j.c.id)
            .limit(limit)
        ).scalars()
    )
    if not ids:
        return PurgedBatch(0, [])
    keys = set(conn.execute(sa.select(f.c.storage_key).where(f.c.job_id.in_(ids)).distinct()).scalars())
    shared = set()
    if keys:  # a retried job shares its input file with the original
        shared = set(
            conn.execute(
                sa.select(f.c.storage_key).where(f.c.storage_key.in_(keys), f.c.job_id.not_in(ids)).distinct()
            ).scalars()
        )
    for table in (schema.subtasks, schema.job_log, schema.job_files):
        conn.execute(sa.delete(table).where(table.c.job_id.in_(ids)))
    conn.execute(sa.update(j).where(j.c.retry_of.in_(ids)).values(retry_of=None))
    conn.execute(sa.delete(j).where(j.c.id.in_(ids)))
    return PurgedBatch(len(ids), sorted(keys - shared))
