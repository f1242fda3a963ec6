"""The orders example end to end: its own process (`python -m examples.orders`), real sockets, a SQLite file."""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import signal
import socket
import subprocess  # nosec B404: the test runs the repository's own example
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

ROOT = pathlib.Path(__file__).parents[2]
JOBS = "/admin/jobs"
PATIENCE_S = 120


class Example:
    """The example application in a process of its own, on a free port, with one embedded worker thread."""

    def __init__(self, tmp_path: pathlib.Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_")}
        env.update({"JOBDECK_DATA_DIR": str(tmp_path / "data"), "JOBDECK_WORKERS": "1", "PYTHONUNBUFFERED": "1"})
        self.log = tmp_path / "example.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(  # nosec B603: a fixed argument list
                [sys.executable, "-m", "examples.orders", "--port", str(self.port)],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + PATIENCE_S
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url + "/sign-in", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the example never answered:\n" + self.log.read_text()
            time.sleep(0.2)

    @contextlib.contextmanager
    def signed_in(self, name: str, password: str) -> Iterator[httpx.Client]:
        """A browser of its own, signed in through the example's sign-in form."""
        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=60) as client:
            answer = client.post("/sign-in", data={"username": name, "password": password})
            assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
            yield client


@pytest.fixture
def example(tmp_path: pathlib.Path) -> Iterator[Example]:
    running = Example(tmp_path)
    try:
        running.wait_until_up()
        yield running
    finally:
        running.proc.send_signal(signal.SIGTERM)
        try:
            running.proc.wait(PATIENCE_S)
        except subprocess.TimeoutExpired:
            running.proc.kill()
            running.proc.wait()


def finished(client: httpx.Client, job_id: int) -> dict[str, object]:
    """The job once it has ended (whichever way), waiting for it."""
    deadline = time.monotonic() + PATIENCE_S
    while (found := job(client, job_id))["status"] in ("queued", "in_progress"):
        assert time.monotonic() < deadline, f"job {job_id} never ended: {found}"
        time.sleep(0.3)
    return found


def csrf_of(client: httpx.Client) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get(JOBS + "/settings/maintenance/jobs").text)
    assert found, "no CSRF token on the jobs page"
    return found.group(1)


def job(client: httpx.Client, job_id: int) -> dict[str, object]:
    answer = client.get(f"{JOBS}/api/v1/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


@pytest.mark.slow
def test_an_order_enqueues_its_export_in_the_same_transaction_and_the_export_runs(example: Example) -> None:
    with example.signed_in("clerk", "clerk-password") as clerk:
        placed = clerk.post("/orders", data={"customer": "Ada Shop", "amount": "120.50"})
        assert placed.status_code == 303, placed.text
        job_id = int(placed.headers["location"].split("job=")[1])
        detail = finished(clerk, job_id)
        assert detail["status"] == "completed", (detail.get("error"), detail.get("log"))
        assert detail["type"] == "export_orders" and detail["run_by"] == "clerk"
        (output,) = detail["files"]  # type: ignore[misc]
        assert str(output["download_url"]).startswith(JOBS + "/api/v1/jobs/")
        exported = clerk.get(output["download_url"])
        assert exported.status_code == 200
        assert "Ada Shop,120.50" in exported.text


@pytest.mark.slow
def test_an_order_over_the_credit_limit_rolls_back_and_leaves_no_job(example: Example) -> None:
    with example.signed_in("clerk", "clerk-password") as clerk:
        refused = clerk.post("/orders", data={"customer": "Big Spender", "amount": "20000"})
        assert refused.status_code == 422
        assert "over the limit" in refused.json()["detail"]
        assert clerk.get(JOBS + "/api/v1/jobs").json()["items"] == []
        assert clerk.get("/orders.json").json() == []


@pytest.mark.slow
def test_a_csv_imported_through_the_mounted_api_lands_in_the_orders_table(example: Example) -> None:
    csv = b"number,customer,amount,ordered_on\r\nX-1,Grace Ltd,10.00,2026-01-02\r\nX-2,Grace Ltd,32.25,2026-01-03\r\n"
    with example.signed_in("clerk", "clerk-password") as clerk:
        started = clerk.post(
            JOBS + "/api/v1/imports",
            data={"target": "orders"},
            files={"file": ("orders.csv", csv, "text/csv")},
            headers={"X-CSRF-Token": csrf_of(clerk)},
        )
        assert started.status_code == 202, started.text
        job_id = int(started.json()["id"])
        detail = finished(clerk, job_id)
        assert detail["status"] == "completed", (detail.get("error"), detail.get("log"))
        listed = clerk.get("/orders.json").json()
    assert listed == [
        {"number": "X-1", "customer": "Grace Ltd", "amount": "10.00"},
        {"number": "X-2", "customer": "Grace Ltd", "amount": "32.25"},
    ]


@pytest.mark.slow
def test_the_admin_sees_everyones_jobs_on_the_page_at_admin_jobs(example: Example) -> None:
    with example.signed_in("clerk", "clerk-password") as clerk:
        placed = clerk.post("/orders", data={"customer": "Ada Shop", "amount": "5"})
        job_id = int(placed.headers["location"].split("job=")[1])
    with example.signed_in("boss", "boss-password") as boss:
        home = boss.get(JOBS + "/")
        assert home.status_code == 303 and home.headers["location"] == JOBS + "/settings/maintenance/jobs"
        page = boss.get(home.headers["location"])
    assert page.status_code == 200
    assert f'href="{JOBS}/settings/maintenance/jobs/{job_id}"' in page.text
    assert "Bob Boss" in page.text


@pytest.mark.slow
def test_the_jobs_page_without_signing_in_goes_to_the_examples_sign_in(example: Example) -> None:
    answer = httpx.get(example.url + JOBS + "/settings/maintenance/jobs", follow_redirects=False, timeout=60)
    assert answer.status_code == 303 and answer.headers["location"] == "/sign-in"
