"""Many machines on one PostgreSQL: two web nodes (no workers) and three worker processes, files in the
database; a job started through one web node runs on some worker and is seen, with its files, through the other."""

from __future__ import annotations

import csv
import io
import os
import pathlib
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from jobdeck import settings
from jobdeck.service import Service
from jobdeck.store import schema
from jobdeck.store.database import Database
from tests import pgserver
from tests.conftest import wait_for

#: Five processes start per test: minutes, not seconds, on a loaded 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
ROOT = pathlib.Path(__file__).resolve().parents[2]
PASSWORD = "a long admin password"
#: How long a wait for something that takes a second on an idle machine may last before the test fails.
PATIENCE_S = 90
#: Seconds an HTTP request may take: a login hashes a password, slow on a loaded machine.
HTTP_S = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, url: str, tmp: pathlib.Path) -> None:
        self.url = url
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.web: list[str] = []

    def env(self, name: str) -> dict[str, str]:
        data_dir = self.tmp / name  # a private directory per node: files must travel through the database
        data_dir.mkdir()
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "JOBDECK_DATABASE_URL": self.url,
            "JOBDECK_DATA_DIR": str(data_dir),
            "JOBDECK_FILE_STORAGE": "database",
            "JOBDECK_SECRET_KEY": "shared-by-every-node",
            # Nothing here waits for a lease to expire: a long one keeps a loaded machine from reclaiming.
            "JOBDECK_LEASE_SECONDS": "60",
            "JOBDECK_HEARTBEAT_SECONDS": "1",
            "JOBDECK_POLL_SECONDS": "0.5",
            "JOBDECK_JOB_MODULES": "jobdeck.demo,tests.kinds",
        }

    def start(self, name: str, *args: str) -> None:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
        self.procs.append(
            subprocess.Popen([sys.executable, "-m", "jobdeck", *args], env=self.env(name), stdout=log, stderr=log)
        )

    def start_web(self, name: str) -> str:
        port = free_port()
        self.start(name, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "0")
        base = f"http://127.0.0.1:{port}"
        self.web.append(base)
        return base

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=HTTP_S).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def cluster(pg: pgserver.PostgresServer | str, tmp_path: pathlib.Path) -> Iterator[Cluster]:
    if isinstance(pg, str):
        pytest.skip("needs the PostgreSQL server the test set-up starts (to create a database)")
    url = pg.create_database("many_nodes")
    service = Service.open(settings.load(database_url=url, data_dir=tmp_path / "setup", job_modules="jobdeck.demo"))
    service.accounts.create_user("boss", PASSWORD, is_admin=True)
    service.close()
    nodes = Cluster(url, tmp_path)
    try:
        nodes.start_web("web-a")
        nodes.start_web("web-b")
        for i in range(3):
            nodes.start(f"worker-{i}", "worker", "--concurrency", "2")
        for base in nodes.web:
            wait_for(lambda base=base: healthy(base), timeout=PATIENCE_S, interval=0.2)
        yield nodes
    finally:
        nodes.stop()


def token(base: str) -> dict[str, str]:
    answer = httpx.post(f"{base}/api/v1/auth/token", data={"username": "boss", "password": PASSWORD}, timeout=HTTP_S)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def contacts_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["first_name", "last_name", "email", "country"])
    for i in range(40):
        writer.writerow([f"Ann{i}", "Lee", f"ann{i}@example.com" if i % 10 else "not-an-email", "FR"])
    return out.getvalue().encode()


def test_a_job_started_on_one_web_node_is_seen_with_its_files_on_the_other(cluster: Cluster) -> None:
    web_a, web_b = cluster.web
    started = httpx.post(
        f"{web_a}/api/v1/imports",
        headers=token(web_a),
        files={"file": ("contacts.csv", contacts_csv(), "text/csv")},
        data={"target": "contacts", "on_error": "skip"},
        timeout=HTTP_S,
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    auth_b = token(web_b)

    def finished() -> bool:
        body = httpx.get(f"{web_b}/api/v1/jobs/{job_id}", headers=auth_b, timeout=HTTP_S).json()
        return body["status"] in ("completed", "failed")

    wait_for(finished, timeout=PATIENCE_S, interval=0.3)
    detail = httpx.get(f"{web_b}/api/v1/jobs/{job_id}", headers=auth_b, timeout=HTTP_S).json()
    assert detail["status"] == "completed", detail
    kinds = {f["kind"]: f for f in detail["files"]}
    assert {"input", "error_report"} <= set(kinds)
    report = httpx.get(f"{web_b}{kinds['error_report']['download_url']}", headers=auth_b, timeout=HTTP_S)
    assert report.status_code == 200 and b"not-an-email" in report.content
    original = httpx.get(f"{web_b}{kinds['input']['download_url']}", headers=auth_b, timeout=HTTP_S)
    assert original.content == contacts_csv()


def test_jobs_spread_over_the_worker_processes(cluster: Cluster) -> None:
    web_a, web_b = cluster.web
    auth = token(web_b)
    ids = []
    # Long enough that one worker alone would take a while, however slowly the jobs are submitted.
    for _ in range(12):
        answer = httpx.post(
            f"{web_b}/api/v1/jobs", headers=auth, json={"type": "sleep", "params": {"seconds": 3}}, timeout=HTTP_S
        )
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    auth_a = token(web_a)

    def all_done() -> bool:
        page = httpx.get(f"{web_a}/api/v1/jobs", params={"type": "sleep", "limit": 50}, headers=auth_a, timeout=HTTP_S)
        return {j["status"] for j in page.json()["items"]} == {"completed"}

    wait_for(all_done, timeout=PATIENCE_S, interval=0.3)
    db = Database(cluster.url)
    try:
        with db.read() as conn:
            j = schema.jobs
            workers = set(conn.execute(sa.select(j.c.worker_id).where(j.c.id.in_(ids))).scalars())
    finally:
        db.dispose()
    assert len(workers) >= 2, f"12 three-second jobs on 3 workers x 2 threads ran on {workers}"
