"""In Chromium: cancelling every job a filter matches through its confirmation page, and the Export CSV button."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import log_in
from tests.browser.test_accessibility import assert_accessible

pytestmark = pytest.mark.browser

GRID = "/settings/maintenance/jobs"
NewContext = Callable[[], BrowserContext]


def signed_in(new_context: NewContext, who: str) -> Page:
    page = new_context().new_page()
    log_in(page, who)
    return page


def csrf_token(page: Page) -> str:
    page.goto("/settings/maintenance")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    return token


def start(page: Page, token: str, type_name: str, params: dict[str, Any]) -> int:
    """Start a job through the API with the page's session (and its CSRF token), as a script on the page would."""
    response = page.request.post(
        "/api/v1/jobs", data={"type": type_name, "params": params}, headers={"X-CSRF-Token": token}
    )
    assert response.status == 202, response.text()
    return int(response.json()["id"])


def status(page: Page, job_id: int) -> str:
    response = page.request.get(f"/api/v1/jobs/{job_id}")
    assert response.ok, response.text()
    return str(response.json()["status"])


def test_cancel_matching_asks_with_the_count_then_cancels_only_the_users_matching_jobs(
    new_context: NewContext,
) -> None:
    ada = signed_in(new_context, "ada")
    ada_token = csrf_token(ada)
    # ada's job keeps the server's one worker busy, so alice's jobs stay queued until they are cancelled.
    busy = start(ada, ada_token, "t_wait_cancel", {"timeout": 120})
    alice = signed_in(new_context, "alice")
    alices = [start(alice, csrf_token(alice), "t_wait_cancel", {"timeout": 120}) for _ in range(3)]

    alice.goto(f"{GRID}?tab=general")
    alice.get_by_label("Job", exact=True).select_option(label="Wait for cancel")
    alice.get_by_role("button", name="Apply").click()
    alice.get_by_role("link", name="Cancel matching…").click()
    expect(alice.get_by_role("heading", name="Cancel 3 jobs?")).to_be_visible()
    assert_accessible(alice)
    alice.get_by_role("button", name="Cancel 3 jobs").click()
    expect(alice.locator("#bulk")).to_contain_text("3 of 3 matching jobs cancelled or asked to stop")

    assert [status(alice, job) for job in alices] == ["cancelled"] * 3
    assert status(ada, busy) in ("queued", "in_progress")
    alice.goto(f"{GRID}/{alices[0]}")
    history = alice.get_by_role("region", name="History")
    expect(history).to_contain_text("alice")
    expect(history).to_contain_text("Cancelled (bulk)")
    assert_accessible(alice)
    assert ada.request.post(f"/api/v1/jobs/{busy}/cancel", headers={"X-CSRF-Token": ada_token}).ok


def test_the_export_button_downloads_the_filtered_grid_as_csv(new_context: NewContext) -> None:
    alice = signed_in(new_context, "alice")
    token = csrf_token(alice)
    job = start(alice, token, "fail", {"message": "=1+1 on purpose"})
    alice.goto(f"{GRID}/{job}")
    expect(alice.locator("#job-detail")).to_have_attribute("data-status", "failed", timeout=30_000)

    alice.goto(f"{GRID}?tab=general&status=failed")
    with alice.expect_download() as downloading:
        alice.get_by_role("link", name="Export CSV").click()
    download = downloading.value
    assert download.suggested_filename == "jobs.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Status", "Job ID", "Job", "Description", "Start", "End", "Failed", "Run By"]
    assert [r[1] for r in rows[1:]] == [str(job)]
    assert rows[1][0] == "Failed" and rows[1][7] == "alice"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", rows[1][6])
