"""Every heartbeat of every worker, logged by a trigger the workers do not know about: when a lease was
reclaimed, this tells whether its worker really fell silent for that long or the lease was misjudged."""

from __future__ import annotations

import collections
import itertools

import sqlalchemy as sa

from jobdeck.store.database import Database

beats = sa.Table(
    "chaos_beats",
    sa.MetaData(),
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("worker_id", sa.String(64), nullable=False),
    #: seconds since the epoch by the clock of whoever ran the heartbeat (on SQLite, the worker's own)
    sa.Column("at", sa.Float, nullable=False),
)
_INSERT = "INSERT INTO chaos_beats (worker_id, at) VALUES (NEW.id, {now})"
_SQLITE_NOW = "(julianday('now') - 2440587.5) * 86400.0"
_PG_TRIGGER = [
    "CREATE FUNCTION chaos_beat() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    + _INSERT.format(now="extract(epoch from clock_timestamp())")
    + "; RETURN NULL; END $$",
    "CREATE TRIGGER chaos_beats AFTER UPDATE OF heartbeat_at ON workers FOR EACH ROW EXECUTE FUNCTION chaos_beat()",
]
_SQLITE_TRIGGER = [
    "CREATE TRIGGER chaos_beats AFTER UPDATE OF heartbeat_at ON workers FOR EACH ROW BEGIN "
    + _INSERT.format(now=_SQLITE_NOW)
    + "; END",
]


def record(db: Database) -> None:
    """From now on, log every heartbeat of every worker on this database."""
    beats.metadata.create_all(db.engine)
    with db.write() as conn:
        for ddl in _PG_TRIGGER if db.is_postgresql else _SQLITE_TRIGGER:
            conn.exec_driver_sql(ddl)


def longest_silences(db: Database) -> dict[str, float]:
    """Each worker's longest gap between two of its heartbeats, in seconds: what its leases had to outlast."""
    with db.read() as conn:
        rows = conn.execute(sa.select(beats.c.worker_id, beats.c.at).order_by(beats.c.worker_id, beats.c.at)).all()
    times: dict[str, list[float]] = collections.defaultdict(list)
    for worker_id, at in rows:
        times[worker_id].append(at)
    return {w: round(max((b - a for a, b in itertools.pairwise(ts)), default=0.0), 2) for w, ts in times.items()}
