"""`jobdeck serve` as a newcomer starts it: its own process, real sockets, a SQLite file in a data folder."""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import sqlite3
import subprocess  # nosec B404: the test runs jobdeck's own command
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from jobdeck import settings
from jobdeck.service import Service

STARTED = "Application startup complete"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """A `python -m jobdeck serve …` process whose merged output is collected line by line."""

    def __init__(self, tmp_path: pathlib.Path, *args: str, **env: str) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_")}
        clean.update(
            {"JOBDECK_DATA_DIR": str(tmp_path / "data"), "JOBDECK_SHUTDOWN_GRACE_SECONDS": "2", "PYTHONUNBUFFERED": "1"}
        )
        clean.update(env)
        self.port = _free_port()
        self.proc = subprocess.Popen(  # nosec B603: a fixed argument list
            [sys.executable, "-m", "jobdeck", "serve", "--port", str(self.port), *args],
            env=clean,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 120.0) -> int:
        """The index of the first line containing text, waiting for it to be printed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, line in enumerate(list(self.lines)):
                if text in line:
                    return i
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never printed:\n" + "\n".join(self.lines))

    def stop(self, timeout: float = 120.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        return code


@pytest.fixture
def served() -> Iterator[list[Served]]:
    running: list[Served] = []
    yield running
    for s in running:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait(60)


@pytest.mark.slow
def test_serve_demo_shows_the_new_passwords_in_one_block_after_the_start_up_lines(
    tmp_path: pathlib.Path, served: list[Served]
) -> None:
    server = Served(tmp_path, "--demo", "--workers", "1")
    served.append(server)
    started = server.wait_for(STARTED)
    assert server.wait_for(f"Database: sqlite:///{tmp_path / 'data' / 'jobdeck.sqlite3'}") < started
    title = server.wait_for("Demo accounts (shown once — note them down):")
    assert title > started
    frame = server.lines[title - 1]
    assert set(frame) == {"+", "-"}
    block = server.lines[title : server.lines.index(frame, title)]
    assert all(line.startswith("| ") for line in block)
    shown = dict(line.strip("| ").split(" / ") for line in block if " / " in line)
    assert set(shown) == {"admin", "demo"}
    assert any("jobdeck users set-password NAME" in line for line in block)
    server.stop()

    service = Service.open(settings.Settings(database_url=f"sqlite:///{tmp_path / 'data' / 'jobdeck.sqlite3'}"))
    try:
        for name, password in shown.items():
            assert service.accounts.authenticate(name, password.strip()).username == name
    finally:
        service.close()

    again = Served(tmp_path, "--demo", "--workers", "1")
    served.append(again)
    again.wait_for(STARTED)
    again.stop()
    assert not any("Demo accounts" in line for line in again.lines)  # shown once: the accounts exist now


def _long_sleep(database: pathlib.Path) -> tuple[str, int] | None:
    """The status and progress of the demo's 90-second sleep job, read straight from the SQLite file."""
    with sqlite3.connect(database) as conn:
        row = conn.execute(
            "select status, progress_done from jobs where type = 'sleep' order by id desc limit 1"
        ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


@pytest.mark.slow
def test_ctrl_c_says_what_serve_waits_for_and_a_second_one_hands_the_running_job_back(
    tmp_path: pathlib.Path, served: list[Served]
) -> None:
    # A grace far longer than the test waits: the server can only be done in time if the second Ctrl-C hurries it.
    server = Served(tmp_path, "--demo", "--workers", "1", JOBDECK_SHUTDOWN_GRACE_SECONDS="600")
    served.append(server)
    server.wait_for(STARTED)
    database = tmp_path / "data" / "jobdeck.sqlite3"
    deadline = time.monotonic() + 120
    while (state := _long_sleep(database)) is None or state[0] != "in_progress" or state[1] < 1:
        assert time.monotonic() < deadline, f"the long demo job never got going: {state}"
        time.sleep(0.5)

    server.proc.send_signal(signal.SIGINT)
    server.wait_for("Stopping: waiting up to 600 s for 1 running job(s) to finish (Ctrl-C again to hand them back now)")
    server.proc.send_signal(signal.SIGINT)
    server.wait_for("Stopping now: handing the running jobs back to the queue")
    assert server.proc.wait(240) == 0, "\n".join(server.lines)
    server.stop()
    stopping = server.wait_for("Stopping:")
    assert not any("Traceback" in line for line in server.lines[stopping:]), "\n".join(server.lines)
    state = _long_sleep(database)
    assert state is not None and state[0] == "queued"
