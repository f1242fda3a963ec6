"""The ledger counted in one read: jobs by status and type, the queues, the workers' heartbeats. `jobdeck jobs
stats`, the service and /metrics all read these figures from here."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import queues as queue_rows
from jobdeck.store import rows, schedules, schema

j, w = schema.jobs, schema.workers


@dataclasses.dataclass(frozen=True)
class Queue:
    depth: int  #: jobs queued, delayed ones included
    oldest_at: dt.datetime | None  #: since when the longest-waiting due job has waited (`queues.waiting`)


@dataclasses.dataclass(frozen=True)
class Census:
    now: dt.datetime  #: the database clock, which every age is measured against
    jobs: dict[tuple[str, str], int]  #: (status, type) -> jobs
    queues: dict[str, Queue]  #: queue -> its queued jobs
    heartbeats: dict[str, dt.datetime | None]  #: worker id -> its last heartbeat

    def by_status(self) -> dict[str, int]:
        """Jobs per status, every status present (0 when there are none)."""
        counts = {s.value: 0 for s in model.Status}
        for (status, _type), count in self.jobs.items():
            counts[status] = counts.get(status, 0) + count
        return counts

    def oldest_queued_at(self) -> dt.datetime | None:
        times = [q.oldest_at for q in self.queues.values() if q.oldest_at is not None]
        return min(times, default=None)

    def age_s(self, then: dt.datetime | None) -> float:
        """Seconds from `then` to the database's now; 0 for none."""
        then = rows.utc(then)
        return 0.0 if then is None else max(0.0, (self.now - then).total_seconds())

    def live_workers(self, within_s: float) -> int:
        """Workers that heartbeated within `within_s` seconds."""
        return sum(1 for at in self.heartbeats.values() if at is not None and self.age_s(at) <= within_s)


def census(conn: sa.Connection) -> Census:
    now = schedules.database_now(conn)
    jobs = {
        (status, job_type): int(count)
        for status, job_type, count in conn.execute(
            sa.select(j.c.status, j.c.type, sa.func.count()).group_by(j.c.status, j.c.type)
        )
    }
    queues = {queue: Queue(depth, oldest_at) for queue, (depth, oldest_at) in queue_rows.waiting(conn).items()}
    heartbeats = {worker_id: rows.utc(at) for worker_id, at in conn.execute(sa.select(w.c.id, w.c.heartbeat_at))}
    return Census(now=now, jobs=jobs, queues=queues, heartbeats=heartbeats)


@dataclasses.dataclass(frozen=True)
class Stats:
    by_status: dict[str, int]
    oldest_queued_at: dt.datetime | None
    live_workers: int


def stats(conn: sa.Connection, live_within_s: float) -> Stats:
    """Jobs by status, the oldest queued job, and workers heard from within `live_within_s`."""
    found = census(conn)
    return Stats(
        by_status=found.by_status(),
        oldest_queued_at=found.oldest_queued_at(),
        live_workers=found.live_workers(live_within_s),
    )
