"""Browser fixtures: a real `jobdeck serve` (uvicorn, SQLite, one embedded worker) on a free port, and Chromium."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from jobdeck import settings
from jobdeck.service import Service
from tests.web.serving import jobdeck_server

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
    """The base URL of a server with one worker thread over a fresh SQLite database with ada (admin), alice and
    bob."""
    folder = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{folder / 'jobdeck.sqlite3'}"
    config = settings.load(
        data_dir=folder / "seed-data", job_modules="jobdeck.demo,tests.kinds", database_url=database_url
    )
    service = Service.open(config)
    service.accounts.create_user("ada", PASSWORDS["ada"], is_admin=True, display_name="Ada Admin")
    service.accounts.create_user("alice", PASSWORDS["alice"], display_name="Alice")
    service.accounts.create_user("bob", PASSWORDS["bob"], display_name="Bob")
    service.close()
    with jobdeck_server(database_url, folder, workers="1", poll_seconds="0.2") as url:
        yield url


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
