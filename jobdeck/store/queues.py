"""Queues in the ledger: which are paused (and by whom), how many jobs wait on each, and how long the oldest has
waited. A queue has a row here once it has been paused; every other queue is running by default."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from jobdeck import model
from jobdeck.store import rows, schedules, schema
from jobdeck.store.database import db_now

j, q, u = schema.jobs, schema.queues, schema.users
QUEUED = model.Status.QUEUED.value
ACTIVE = (model.Status.QUEUED.value, model.Status.IN_PROGRESS.value)


@dataclasses.dataclass(frozen=True)
class QueueState:
    name: str
    depth: int  #: jobs queued on it, delayed ones included
    oldest_at: dt.datetime | None  #: since when its longest-waiting due job has waited (see `waiting`)
    oldest_age_s: float  #: how long that is, by the database clock; 0 when no job is due
    paused: bool
    paused_at: dt.datetime | None  #: when it was last paused (kept after a resume, as the record of it)
    paused_by: str | None  #: who last paused it (None: the console, or a user since deleted)


def paused_names(conn: sa.Connection) -> set[str]:
    return set(conn.execute(sa.select(q.c.name).where(q.c.paused.is_(True))).scalars())


def recorded(conn: sa.Connection) -> set[str]:
    """The queues with a row of their own (paused now or once)."""
    return set(conn.execute(sa.select(q.c.name)).scalars())


def in_use(conn: sa.Connection) -> set[str]:
    """The queues of jobs waiting or running. Finished jobs are left out on purpose: their queues would cost a
    scan of the whole ledger and say nothing about work to be done."""
    return set(conn.execute(sa.select(j.c.queue).where(j.c.status.in_(ACTIVE)).distinct()).scalars())


def known(conn: sa.Connection, registered: Iterable[str]) -> set[str]:
    """The queues an operator is shown: the registered types' queues, those in use, those with a row."""
    return set(registered) | in_use(conn) | recorded(conn)


def set_paused(conn: sa.Connection, name: str, paused: bool, by_user_id: int | None) -> bool:
    """Pause or resume a queue; True when its state changed. Pausing records when and by whom; resuming keeps
    that record (the last pause) and only lifts the pause."""
    if not paused:
        stmt = sa.update(q).where(q.c.name == name, q.c.paused.is_(True)).values(paused=False).returning(q.c.name)
        return conn.execute(stmt).first() is not None
    # A caller without a row of its own (the console) is recorded as nobody rather than refused by the key.
    by = sa.select(u.c.id).where(u.c.id == by_user_id).scalar_subquery()
    values = {"paused": True, "paused_at": db_now(), "paused_by_id": by}
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(q).values(name=name, **values)
    upsert = insert.on_conflict_do_update(
        index_elements=[q.c.name],
        set_=values,
        where=q.c.paused.is_(False),
    )
    return conn.execute(upsert.returning(q.c.name)).first() is not None


def waiting(conn: sa.Connection) -> dict[str, tuple[int, dt.datetime | None]]:
    """Per queue with queued jobs: how many (delayed ones included), and since when its longest-waiting due job
    has waited -- from its creation, or from its `not_before` when that came later. A job delayed into the
    future is not waiting yet: an hour's delay must not read as an hour's backlog. None when no job is due."""
    since = sa.case((j.c.not_before > j.c.created_at, j.c.not_before), else_=j.c.created_at)
    due = sa.or_(j.c.not_before.is_(None), j.c.not_before <= db_now())
    found = conn.execute(
        sa.select(j.c.queue, sa.func.count(), sa.func.min(sa.case((due, since))))
        .where(j.c.status == QUEUED)
        .group_by(j.c.queue)
    )
    return {name: (int(count), rows.utc(first)) for name, count, first in found}


def states(conn: sa.Connection, names: Iterable[str]) -> list[QueueState]:
    """Each named queue's depth, oldest waiting job and pause, in name order; ages by the database clock."""
    now = schedules.database_now(conn)
    depths = waiting(conn)
    pauses = {
        row.name: row
        for row in conn.execute(
            sa.select(q.c.name, q.c.paused, q.c.paused_at, u.c.username).select_from(
                q.outerjoin(u, u.c.id == q.c.paused_by_id)
            )
        )
    }
    found = []
    for name in sorted(set(names) | set(depths) | set(pauses)):
        depth, oldest = depths.get(name, (0, None))
        pause = pauses.get(name)
        found.append(
            QueueState(
                name=name,
                depth=depth,
                oldest_at=oldest,
                oldest_age_s=0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()),
                paused=bool(pause.paused) if pause else False,
                paused_at=rows.utc(pause.paused_at) if pause else None,
                paused_by=pause.username if pause else None,
            )
        )
    return found
