"""R5, the zombie worker: a worker paused (SIGSTOP) for twice the lease while another worker reclaims and
finishes its jobs, then resumed, has every late write refused: heartbeat, subtask and finish."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time

import pytest
import sqlalchemy as sa

from bench import chaos
from jobdeck.service import Service
from jobdeck.store import schema
from jobdeck.store.database import db_now
from tests.chaos import kinds
from tests.chaos.conftest import LEASE_S
from tests.conftest import wait_for

pytestmark = pytest.mark.slow
j = schema.jobs
s = schema.subtasks
#: How long X and Y wait between their "Started" subtask and their write: the time the test has to pause the
#: zombie once it sees them started, however slowly a loaded machine lets it run.
WINDOW_MS = 5000
PATIENCE_S = 90


def started_by(service: Service, job_ids: list[int], pid: int) -> bool:
    """Every job is in progress under this worker process and has finished its "Started" subtask."""
    with service.db.read() as conn:
        held = conn.execute(
            sa.select(sa.func.count()).where(
                j.c.id.in_(job_ids), j.c.status == "in_progress", j.c.worker_id.like(f"%:{pid}:%")
            )
        ).scalar_one()
        started = conn.execute(
            sa.select(sa.func.count()).where(s.c.job_id.in_(job_ids), s.c.name == "Started", s.c.status == "completed")
        ).scalar_one()
    return held == started == len(job_ids)


def in_a_write(service: Service) -> bool:
    """Whether some other client is inside a transaction (a paused one would block the reaper)."""
    if service.db.is_postgresql:
        with service.db.read() as conn:
            busy = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state <> 'idle'"
            ).scalar_one()
        return bool(busy)
    path = sa.engine.make_url(service.db.url).database
    probe = sqlite3.connect(str(path), timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def pause_between_transactions(service: Service, proc: subprocess.Popen[bytes]) -> None:
    """SIGSTOP the process at a moment it holds no transaction open: a process frozen inside one would
    freeze every other writer too (SQLite's lock) or hide its rows from the reaper (SKIP LOCKED)."""
    for _ in range(200):
        os.kill(proc.pid, signal.SIGSTOP)
        if not in_a_write(service):
            return
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.02)
    raise AssertionError("the worker never left its transactions alone")


def job_rows(service: Service, ids: list[int]) -> dict[int, tuple[object, ...]]:
    cols = [j.c.id, j.c.status, j.c.ended_at, j.c.worker_id, j.c.lease_token, j.c.lease_expires_at, j.c.attempt]
    with service.db.read() as conn:
        return {r.id: tuple(r) for r in conn.execute(sa.select(*cols).where(j.c.id.in_(ids)))}


def test_a_resumed_zombie_worker_has_its_heartbeat_subtask_and_finish_refused(
    chaos_service: Service, processes: chaos.Processes
) -> None:
    svc = chaos_service
    # X writes its ledger row (a fenced subtask transaction) after its wait; Y only waits: its late write is the finish.
    x = svc.start_job(None, kinds.RECORD, {"announce": True, "before_ms": WINDOW_MS}).id
    y = svc.start_job(None, kinds.RECORD, {"announce": True, "before_ms": WINDOW_MS, "write": False}).id
    zombie = processes.start("worker", "--concurrency", "2")
    wait_for(lambda: started_by(svc, [x, y], zombie.pid), timeout=PATIENCE_S)

    pause_between_transactions(svc, zombie)
    paused_at = time.monotonic()
    with svc.db.read() as conn:
        written = conn.execute(sa.select(sa.func.count()).select_from(kinds.ledger)).scalar_one()
    assert started_by(svc, [x, y], zombie.pid) and written == 0, "the zombie was paused after its writes"
    rescuer = processes.start("worker", "--concurrency", "2")
    wait_for(lambda: {r[1] for r in job_rows(svc, [x, y]).values()} == {"completed"}, timeout=PATIENCE_S)
    wait_for(lambda: time.monotonic() - paused_at >= 2 * LEASE_S, timeout=2 * LEASE_S + 1)
    finished = job_rows(svc, [x, y])
    for row in finished.values():
        assert f":{rescuer.pid}:" in str(row[3]) and row[6] == 2, row

    os.kill(zombie.pid, signal.SIGCONT)
    refusals = ("lease lost (reclaimed elsewhere)", "finished after its lease was lost")
    for job_id in (x, y):
        wait_for(
            lambda job_id=job_id: any(f"job {job_id}: {r}" in processes.log_of(zombie) for r in refusals),
            timeout=PATIENCE_S,
        )
    with svc.db.read() as conn:  # a heartbeat of the zombie after it woke (it beats every HEARTBEAT_S)
        resumed_at = conn.execute(sa.select(db_now())).scalar_one()
    wait_for(lambda: zombie_beat_since(svc, zombie.pid, resumed_at), timeout=PATIENCE_S)

    assert job_rows(svc, [x, y]) == finished, "a late write of the zombie changed a finished job"
    with svc.db.read() as conn:
        ledger = conn.execute(sa.select(kinds.ledger.c.job_id, kinds.ledger.c.lease_token, kinds.ledger.c.pid)).all()
        terminal = conn.execute(
            sa.select(chaos.audit.c.job_id, chaos.audit.c.old_token)
            .where(chaos.audit.c.new_status.in_(chaos.TERMINAL) | chaos.audit.c.old_status.in_(chaos.TERMINAL))
            .order_by(chaos.audit.c.job_id)
        ).all()
        late_subtasks = conn.execute(
            sa.select(sa.func.count()).where(s.c.job_id.in_([x, y]), s.c.name == "Record", s.c.status != "completed")
        ).scalar_one()
    assert ledger == [(x, finished[x][4], rescuer.pid)], "only the rescuer's run of X may leave its side effect"
    assert terminal == [(x, finished[x][4]), (y, finished[y][4])], "exactly one terminal write per job"
    assert late_subtasks == 0
    assert zombie.poll() is None, "the zombie should carry on, not crash"


def zombie_beat_since(service: Service, pid: int, since: object) -> bool:
    with service.db.read() as conn:
        return bool(
            conn.execute(
                sa.select(sa.func.count()).where(
                    schema.workers.c.pid == pid, schema.workers.c.heartbeat_at > sa.literal(since, schema.Timestamp)
                )
            ).scalar_one()
        )
