"""Browser fixtures: a real `jobdeck serve` (uvicorn, SQLite, one embedded worker) on a free port, and Chromium."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from jobdeck import settings
from jobdeck.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORDS = {"ada": "admin's long password", "alice": "alice's long password", "bob": "bob's long password"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jobdeck serve exited with {process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url + "/healthz", timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("jobdeck serve did not answer /healthz in time")


@pytest.fixture
def screenshots(tmp_path: pathlib.Path) -> pathlib.Path:
    """The folder the screenshot test writes to: a temporary one unless JOBDECK_SCREENSHOTS_DIR names one.

    The README's copies in docs/screenshots are refreshed only on request (`make screenshots`), so a test run
    never rewrites tracked files.
    """
    chosen = os.environ.get("JOBDECK_SCREENSHOTS_DIR")
    folder = pathlib.Path(chosen) if chosen else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a server over a fresh SQLite database with ada (admin), alice and bob."""
    data_dir = tmp_path_factory.mktemp("browser")
    env = {
        **os.environ,
        "JOBDECK_DATA_DIR": str(data_dir),
        "JOBDECK_JOB_MODULES": "jobdeck.demo,tests.kinds",
        "JOBDECK_POLL_SECONDS": "0.2",
        "JOBDECK_DATABASE_URL": "",
    }
    config = settings.load(data_dir=data_dir, job_modules="jobdeck.demo,tests.kinds", database_url="")
    service = Service.open(config)
    service.accounts.create_user("ada", PASSWORDS["ada"], is_admin=True, display_name="Ada Admin")
    service.accounts.create_user("alice", PASSWORDS["alice"], display_name="Alice")
    service.accounts.create_user("bob", PASSWORDS["bob"], display_name="Bob")
    service.close()
    port = _free_port()
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 (closed at teardown)
    process = subprocess.Popen(
        [sys.executable, "-m", "jobdeck", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=pathlib.Path(__file__).parents[2],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not pathlib.Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make test installs it)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser: Browser, server: str) -> Iterator[object]:
    """Open fresh browser contexts (separate cookie jars: separate people), closed after the test."""
    contexts: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(base_url=server, viewport={"width": 1440, "height": 900}, accept_downloads=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/settings/maintenance/jobs**")
