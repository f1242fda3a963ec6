"""R4, clock skew: workers whose clocks are ten minutes ahead or behind run jobs that outlive their lease
without a single false reclaim, because leases are timed by the database's clock, never a worker's.

A lease of a few seconds against a skew of ten minutes: a lease timed by a worker's clock would be reclaimed at
once (or never expire). Every heartbeat is recorded, so a failure says whether a worker really fell silent."""

from __future__ import annotations

import collections
import glob
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from bench import chaos
from jobdeck.service import Service
from jobdeck.store import schema
from tests.chaos import heartbeats, kinds
from tests.chaos.conftest import LEASE_S
from tests.conftest import wait_for

#: Debian's libfaketime, preloaded into the worker itself. Not through the `faketime` wrapper: the wrapper
#: keeps shared memory and a semaphore named after its pid, which a killed wrapper leaves behind, and a later
#: wrapper given the same pid then refuses to start ("faketime: sem_open: File exists").
LIBFAKETIME = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))), None)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(LIBFAKETIME is None, reason="Debian's faketime is not installed (make test does)"),
]
j = schema.jobs
JOBS = 12
#: Each job outlives its lease by a margin: it lives only because its worker's heartbeats keep extending it.
RUN_MS = int((LEASE_S + 2) * 1000)


def under(offset: str | None) -> dict[str, str]:
    """The environment of a process whose clock is off by `offset` (libfaketime's syntax, "+10m"). The
    monotonic clock is left alone: Python's timed waits hang on a faked one."""
    if offset is None:
        return {}
    assert LIBFAKETIME is not None
    return {"LD_PRELOAD": LIBFAKETIME, "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def registered(service: Service) -> int:
    with service.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(schema.workers)).scalar_one())


def statuses(service: Service) -> dict[str, int]:
    with service.db.read() as conn:
        return dict(conn.execute(sa.select(j.c.status, sa.func.count()).group_by(j.c.status)).all())


def until(predicate: Callable[[], bool], timeout: float, service: Service, processes: chaos.Processes) -> None:
    try:
        wait_for(predicate, timeout=timeout)
    except AssertionError:
        raise AssertionError(f"jobs: {statuses(service)}; workers: {registered(service)}\n{processes.logs()}") from None


@pytest.mark.parametrize(
    ("backend", "offsets"),
    [
        # PostgreSQL has one clock, the server's: each worker may be wrong in its own way.
        ("postgresql", [None, "+10m", "-10m"]),
        # SQLite's 'now' is the clock of the process running the statement, and all its processes share a
        # host: what can be wrong is that host's clock, for every process alike.
        ("sqlite", ["+10m", "+10m", "+10m"]),
        ("sqlite", ["-10m", "-10m", "-10m"]),
    ],
)
def test_workers_with_skewed_clocks_never_reclaim_a_live_lease(
    backend: str, offsets: list[str | None], chaos_service: Service, processes: chaos.Processes
) -> None:
    svc = chaos_service
    heartbeats.record(svc.db)
    procs = [processes.start("worker", "--concurrency", "2", **under(o)) for o in offsets]
    until(lambda: registered(svc) == len(procs), 90, svc, processes)
    ids = [svc.start_job(None, kinds.RECORD, {"before_ms": RUN_MS}).id for _ in range(JOBS)]
    until(lambda: statuses(svc) == {"completed": JOBS}, 300, svc, processes)

    with svc.db.read() as conn:
        runs = conn.execute(
            sa.select(kinds.ledger.c.job_id, kinds.ledger.c.pid, kinds.ledger.c.process_time, kinds.ledger.c.written_at)
        ).all()
        changes = conn.execute(
            sa.select(chaos.audit.c.job_id, chaos.audit.c.old_status, chaos.audit.c.new_status)
        ).all()
        lost_notes = conn.execute(
            sa.select(sa.func.count()).where(schema.job_log.c.message.like("Worker lost%"))
        ).scalar_one()
    # A reclaim with every silence well under the lease is the bug this test is for; one after a silence
    # near the lease means the machine stalled a worker for that long.
    why = f"longest silence between heartbeats, by worker (lease {LEASE_S:g} s): {heartbeats.longest_silences(svc.db)}"
    assert sorted(r.job_id for r in runs) == ids, f"every job ran exactly once; {why}"
    assert sorted(c.job_id for c in changes if c.new_status == "in_progress") == ids, f"claimed once; {why}"
    assert [c for c in changes if c.old_status == "in_progress" and c.new_status != "completed"] == [], why
    assert lost_notes == 0, why

    skew_by_pid = collections.defaultdict(list)
    for r in runs:
        skew_by_pid[r.pid].append(r.process_time - chaos.epoch(r.written_at))
    for proc, offset in zip(procs, offsets, strict=True):
        assert proc.poll() is None, processes.log_of(proc)
        skews = skew_by_pid.get(proc.pid)
        assert skews, f"the worker under {offset} ran no job"
        if backend == "postgresql":  # the worker's own clock really was off by the offset
            expected = {None: 0, "+10m": 600, "-10m": -600}[offset]
            assert all(abs(s - expected) < 60 for s in skews), skews
