"""A worker cut off from PostgreSQL for longer than its lease stops itself (exit status 3), so its
supervisor restarts it; its job is then reclaimed, not left in progress."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench import chaos
from jobdeck.service import Service
from jobdeck.store import schema
from tests import pgserver
from tests.chaos.conftest import LEASE_S
from tests.conftest import wait_for

pytestmark = pytest.mark.slow
PATIENCE_S = 90


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_worker_without_its_database_for_longer_than_the_lease_exits_3_and_its_job_is_reclaimed(
    chaos_pg: pgserver.PostgresServer, chaos_service: Service, processes: chaos.Processes
) -> None:
    svc = chaos_service
    job_id = svc.start_job(None, "sleep", {"seconds": 600, "steps": 600}).id
    worker = processes.start("worker", "--concurrency", "1")  # lease: LEASE_S

    def status() -> str:
        with svc.db.read() as conn:
            return str(conn.execute(sa.select(schema.jobs.c.status).where(schema.jobs.c.id == job_id)).scalar_one())

    wait_for(lambda: status() == "in_progress", timeout=PATIENCE_S)
    chaos_pg.stop()
    try:
        wait_for(lambda: worker.poll() is not None, timeout=LEASE_S + PATIENCE_S)
    finally:
        chaos_pg.restart()
    assert worker.returncode == 3, processes.log_of(worker)
    successor = processes.start("worker", "--concurrency", "1")
    wait_for(lambda: status() in ("queued", "failed", "completed"), timeout=LEASE_S + PATIENCE_S)
    assert status() == "failed", "sleep has one attempt: the lost run fails, naming the worker"
    with svc.db.read() as conn:
        error = conn.execute(sa.select(schema.jobs.c.error).where(schema.jobs.c.id == job_id)).scalar_one()
    assert f"pid {worker.pid}" in error
    assert successor.poll() is None
