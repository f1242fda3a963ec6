"""The workers as an operator sees them: each registered worker with the jobs it is running now."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import rows, schedules, schema

j, w = schema.jobs, schema.workers


@dataclasses.dataclass(frozen=True)
class Running:
    job_id: int
    type: str
    started_at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class WorkerState:
    id: str
    hostname: str
    pid: int
    concurrency: int
    started_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    heartbeat_age_s: float  #: by the database clock
    running: list[Running]


def workers(conn: sa.Connection) -> list[WorkerState]:
    """Every registered worker, by host and pid, with its running jobs (the partial index of running jobs by
    worker finds them)."""
    now = schedules.database_now(conn)
    running: dict[str, list[Running]] = {}
    held = (
        sa.select(j.c.worker_id, j.c.id, j.c.type, j.c.started_at)
        .where(j.c.status == model.Status.IN_PROGRESS.value, j.c.worker_id.is_not(None))
        .order_by(j.c.id)
    )
    for row in conn.execute(held):
        running.setdefault(row.worker_id, []).append(Running(row.id, row.type, rows.utc(row.started_at)))
    found = []
    for row in conn.execute(sa.select(w).order_by(w.c.hostname, w.c.pid, w.c.id)):
        beat = rows.utc(row.heartbeat_at)
        found.append(
            WorkerState(
                id=row.id,
                hostname=row.hostname,
                pid=row.pid,
                concurrency=row.concurrency,
                started_at=rows.utc(row.started_at),
                heartbeat_at=beat,
                heartbeat_age_s=0.0 if beat is None else max(0.0, (now - beat).total_seconds()),
                running=running.get(row.id, []),
            )
        )
    return found
