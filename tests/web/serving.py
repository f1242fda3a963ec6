"""A real `jobdeck serve` with settings of the test's choosing, and a real OpenID provider beside it."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import httpx
import oidc_provider_mock

ROOT = pathlib.Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def jobdeck_server(database_url: str, tmp_path: pathlib.Path, **settings: str) -> Iterator[str]:
    """`jobdeck serve` (uvicorn, no workers) over the test's database with these JOBDECK_* settings (given by
    their lower-case names); its base URL. Its log is tmp_path/server.log."""
    with jobdeck_process(database_url, tmp_path, **settings) as (url, _process):
        yield url


@contextlib.contextmanager
def jobdeck_process(
    database_url: str, tmp_path: pathlib.Path, **settings: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """jobdeck_server, with the server's process too (its pid, its memory)."""
    data_dir, temp_dir = tmp_path / "server-data", tmp_path / "server-tmp"
    temp_dir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "JOBDECK_DATABASE_URL": database_url,
        "JOBDECK_DATA_DIR": str(data_dir),
        "JOBDECK_JOB_MODULES": "jobdeck.demo,tests.kinds",
        "JOBDECK_WORKERS": "0",
        "TMPDIR": str(temp_dir),
        **{f"JOBDECK_{key.upper()}": value for key, value in settings.items()},
    }
    port = free_port()
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jobdeck", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, f"jobdeck serve exited: {log_path.read_text()}"
                with contextlib.suppress(OSError), urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
                assert time.monotonic() < deadline, "jobdeck serve did not answer /healthz within 60 s"
                time.sleep(0.1)
            yield url, process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def identity_provider() -> Iterator[str]:
    """oidc-provider-mock on a free port, in a thread: its issuer URL. Any client id and secret are accepted;
    a test names a person's claims with `put_person` and picks them on the provider's authorization form."""
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def put_person(issuer: str, sub: str, **claims: object) -> None:
    response = httpx.put(f"{issuer}/users/{urllib.parse.quote(sub, safe='')}", json=claims, timeout=30)
    assert response.status_code == 204, response.text


def sign_in_at_provider(browser: httpx.Client, sub: str, next_url: str = "") -> httpx.Response:
    """What a person does in a browser: Sign in with the provider, pick `sub` on its form, come back.
    Returns jobdeck's answer to the callback (a 303 to the page when signed in)."""
    start = browser.get("/login/oidc", params={"next": next_url} if next_url else None)
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    chosen = httpx.post(authorize, data={"sub": sub}, timeout=30)  # the provider's own form
    assert chosen.status_code == 302, chosen.text
    return browser.get(chosen.headers["location"])
