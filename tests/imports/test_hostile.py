"""Hostile files against a real `jobdeck serve`: each ends as a Failed job with a clear message (or a 4xx
before anything is queued), while /healthz answers 200 throughout, the embedded worker goes on to import a
good file, and the serving process's peak RSS stays under 250 MB (the reading happens in capped children)."""

from __future__ import annotations

import pathlib
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from jobdeck import settings
from jobdeck.service import Service
from tests.conftest import wait_for
from tests.imports import hostile
from tests.web.serving import jobdeck_process

pytestmark = pytest.mark.slow
PASSWORD = "a long admin password"
PEAK_RSS_MB = 250


class Server:
    """`jobdeck serve` with two embedded workers, watched by a thread that asks /healthz all along."""

    def __init__(self, base: str, proc: subprocess.Popen[bytes]) -> None:
        self.base, self.proc = base, proc
        self.unhealthy: list[str] = []
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watch_health, daemon=True)
        self._watch.start()

    def _watch_health(self) -> None:
        while not self._stop.wait(0.5):
            try:
                status = httpx.get(f"{self.base}/healthz", timeout=30).status_code
                if status != 200:
                    self.unhealthy.append(f"/healthz answered {status}")
            except httpx.HTTPError as exc:
                self.unhealthy.append(f"/healthz failed: {exc!r}")

    def peak_rss_mb(self) -> float:
        status = pathlib.Path(f"/proc/{self.proc.pid}/status").read_text()
        [line] = [line for line in status.splitlines() if line.startswith("VmHWM:")]
        return int(line.split()[1]) / 1024

    def stop_watching(self) -> None:
        self._stop.set()
        self._watch.join()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("hostile")
    database_url = f"sqlite:///{tmp / 'jobdeck.sqlite3'}"
    service = Service.open(settings.load(database_url=database_url, data_dir=tmp / "data"))
    service.accounts.create_user("boss", PASSWORD, is_admin=True)
    service.close()
    limits = {"max_upload_mb": "150", "import_max_memory_mb": "256"}
    with jobdeck_process(database_url, tmp, job_modules="jobdeck.demo", workers="2", poll_seconds="0.2", **limits) as (
        base,
        proc,
    ):
        node = Server(base, proc)
        try:
            yield node
        finally:
            node.stop_watching()


@pytest.fixture(scope="module")
def auth(server: Server) -> dict[str, str]:
    answer = httpx.post(f"{server.base}/api/v1/auth/token", data={"username": "boss", "password": PASSWORD}, timeout=30)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def upload(server: Server, auth: dict[str, str], name: str, data: bytes, **options: str) -> httpx.Response:
    return httpx.post(
        f"{server.base}/api/v1/imports",
        headers=auth,
        files={"file": (name, data, "application/octet-stream")},
        data={"target": "contacts", **options},
        timeout=300,
    )


def ended(server: Server, auth: dict[str, str], job_id: int) -> dict[str, object]:
    def job() -> dict[str, object]:
        answer = httpx.get(f"{server.base}/api/v1/jobs/{job_id}", headers=auth, timeout=30)
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        return body

    wait_for(lambda: job()["status"] in ("completed", "failed", "cancelled"), timeout=600, interval=0.5)
    return job()


MEMORY = "Reading this file needed more than 256 MB"
#: file name, contents, and the messages that would each be a clear answer
CASES: dict[str, tuple[str, Callable[[], bytes], tuple[str, ...]]] = {
    "far cell": ("far.xlsx", hostile.far_cell, ("The sheet has 16,384 columns, over the limit of 200",)),
    "huge dimension": ("dimension.xlsx", hostile.huge_dimension, ("The sheet has 16,384 columns, over the limit",)),
    "deep nesting": ("nested.xlsx", hostile.deeply_nested, ("The file is empty",)),
    "huge shared strings": ("strings.xlsx", hostile.huge_shared_strings, (MEMORY,)),
    "thousands of sheets": ("sheets.xlsx", hostile.many_sheets, ("The file is empty",)),
    # The line is read whole before the csv module can count its cells: the memory cap, or the cell limit.
    "a 100 MB line": ("line.csv", hostile.long_line_csv, (MEMORY, "Row 1 has a cell longer than the limit")),
    "a million columns": ("wide.csv", hostile.million_columns_csv, ("over the limit of 200", MEMORY)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_file_fails_its_job_clearly(server: Server, auth: dict[str, str], case: str) -> None:
    name, make, messages = CASES[case]
    # The delimiter named for the wide file: detecting it on a long header line is the readers' own matter.
    answer = upload(server, auth, name, make(), **({"delimiter": "comma"} if name.endswith(".csv") else {}))
    assert answer.status_code == 202, answer.text
    job = ended(server, auth, answer.json()["id"])
    assert job["status"] == "failed"
    assert any(m in str(job["error"]) for m in messages), job["error"]
    assert "Traceback" not in str(job["error"])


def test_a_nul_byte_at_the_start_is_refused_before_queueing(server: Server, auth: dict[str, str]) -> None:
    answer = upload(server, auth, "nul.csv", hostile.nul_at_start_csv())
    assert 400 <= answer.status_code < 500
    assert "NUL" in answer.text


def test_a_nul_byte_at_the_end_ends_the_job_naming_the_nul(server: Server, auth: dict[str, str]) -> None:
    """One rule wherever the NUL sits: past the first 4 KB (which the upload checks) the job refuses the file."""
    answer = upload(server, auth, "nul-end.csv", hostile.nul_at_end_csv())
    assert answer.status_code == 202, answer.text
    job = ended(server, auth, answer.json()["id"])
    assert job["status"] == "failed", job
    assert "NUL" in str(job["error"]), job["error"]


def test_after_every_hostile_file_the_server_was_healthy_throughout_and_small(
    server: Server, auth: dict[str, str]
) -> None:
    good = (hostile.CONTACTS + "\r\nAda,Lovelace,ada@example.com,,,GB,\r\n").encode()
    answer = upload(server, auth, "good.csv", good)
    assert answer.status_code == 202, answer.text
    job = ended(server, auth, answer.json()["id"])
    assert job["status"] == "completed", job  # the embedded worker is alive and well
    assert server.proc.poll() is None
    time.sleep(1)  # one more health probe after the last job
    assert server.unhealthy == []
    assert server.peak_rss_mb() < PEAK_RSS_MB
