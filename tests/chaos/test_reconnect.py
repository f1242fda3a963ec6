"""A PostgreSQL restart under a worker process and a web process: both reconnect by themselves, the
worker keeps the job it was running, and nothing is marked failed that did not fail."""

from __future__ import annotations

import io
import random
import socket
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa

from bench import chaos
from jobdeck.demo.imports import contacts_table
from jobdeck.service import Service
from jobdeck.store import schema
from jobdeck.store.database import db_now
from tests import pgserver
from tests.conftest import wait_for

pytestmark = pytest.mark.slow
j = schema.jobs
#: Longer than a restart takes, even on a loaded machine: a worker that lived through it must keep its jobs.
LEASE = {"JOBDECK_LEASE_SECONDS": "120"}
PATIENCE_S = 90
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def job(service: Service, job_id: int) -> Any:
    with service.db.read() as conn:
        return conn.execute(sa.select(j).where(j.c.id == job_id)).one()


def changes(service: Service, job_id: int) -> list[tuple[str, str]]:
    with service.db.read() as conn:
        rows = conn.execute(
            sa.select(chaos.audit.c.old_status, chaos.audit.c.new_status)
            .where(chaos.audit.c.job_id == job_id)
            .order_by(chaos.audit.c.id)
        )
        return [(r.old_status, r.new_status) for r in rows]


def subtasks_done(service: Service, job_id: int) -> int:
    s = schema.subtasks
    with service.db.read() as conn:
        stmt = sa.select(sa.func.count()).where(s.c.job_id == job_id, s.c.status == "completed")
        return int(conn.execute(stmt).scalar_one())


def answers(client: httpx.Client) -> bool:
    """The web node serves a health check and an authenticated API call."""
    try:
        if client.get("/healthz").status_code != 200:
            return False
        token = client.post("/api/v1/auth/token", data={"username": "ada", "password": PASSWORD})
        if token.status_code != 200:
            return False
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        return client.get("/api/v1/jobs", headers=headers).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("backend", ["postgresql"])
def test_worker_and_web_node_ride_out_a_postgresql_restart(
    chaos_pg: pgserver.PostgresServer, chaos_service: Service, processes: chaos.Processes
) -> None:
    svc = chaos_service
    svc.accounts.create_user("ada", PASSWORD, is_admin=True)
    port = free_port()
    worker = processes.start("worker", "--concurrency", "2", **LEASE)
    web = processes.start("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "0")
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    wait_for(lambda: answers(client), timeout=PATIENCE_S)
    long = svc.start_job(None, "sleep", {"seconds": 20, "steps": 20}).id
    wait_for(lambda: subtasks_done(svc, long) >= 1, timeout=PATIENCE_S)

    chaos_pg.restart()
    after = [svc.start_job(None, "noop").id for _ in range(3)]
    with svc.db.read() as conn:
        back_at = conn.execute(sa.select(db_now())).scalar_one()

    wait_for(lambda: job(svc, long).status == "completed", timeout=PATIENCE_S)
    assert job(svc, long).attempt == 1
    assert job(svc, long).ended_at > back_at, "the job must outlast the restart for this test to prove anything"
    assert f":{worker.pid}:" in job(svc, long).worker_id, "the job should stay with the worker that lived"
    assert changes(svc, long) == [("queued", "in_progress"), ("in_progress", "completed")], "requeued or failed"
    wait_for(lambda: all(job(svc, i).status == "completed" for i in after), timeout=PATIENCE_S)
    wait_for(lambda: answers(client), timeout=PATIENCE_S)
    assert worker.poll() is None and web.poll() is None, "neither process had to be restarted"


def waiting_on_a_lock(service: Service) -> bool:
    with service.db.read() as conn:
        stmt = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        return bool(conn.exec_driver_sql(stmt).scalar_one())


@pytest.mark.parametrize("backend", ["postgresql"])
def test_an_import_whose_chunk_write_is_cut_by_a_postgresql_restart_completes(
    chaos_pg: pgserver.PostgresServer, chaos_url: str, chaos_service: Service, processes: chaos.Processes
) -> None:
    svc = chaos_service
    ada = svc.accounts.create_user("ada", PASSWORD, is_admin=True)
    data, valid = chaos.contacts_csv("restart-", 2000, random.Random(5))
    processes.start("worker", "--concurrency", "1", JOBDECK_IMPORT_CHUNK_ROWS="500", **LEASE)
    # Hold the target table, so the first chunk waits inside its transaction; the restart then cuts it.
    blocker = psycopg.connect(chaos_url, autocommit=False)
    blocker.execute("LOCK TABLE demo_contacts IN EXCLUSIVE MODE")
    imported = svc.start_import(ada, io.BytesIO(data), "contacts.csv", "contacts").id
    wait_for(lambda: waiting_on_a_lock(svc), timeout=PATIENCE_S)
    chaos_pg.restart()
    blocker.close()

    wait_for(lambda: job(svc, imported).status in chaos.TERMINAL, timeout=120)
    assert job(svc, imported).status == "completed", job(svc, imported).error
    with svc.db.read() as conn:
        stmt = sa.select(sa.func.count()).select_from(contacts_table).where(contacts_table.c.email.like("restart-%"))
        assert conn.execute(stmt).scalar_one() == valid
