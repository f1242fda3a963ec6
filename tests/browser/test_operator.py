"""The operator's view in Chromium: an admin pauses a queue from the Queues page (a job started on it stays
Queued), resumes it, and finds the worker running that job on the Workers page; others are not shown the pages."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GRID = "/settings/maintenance/jobs"
#: The server's workers poll every 0.2 s: this many seconds is many polls (and the wake-up an enqueue sends).
SEVERAL_POLLS_S = 2.0
NewContext = Callable[[], BrowserContext]


def sidebar(page: Page, item: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=item, exact=True).click()


def start_sleep(page: Page, seconds: int) -> int:
    sidebar(page, "Application Maintenance")
    form = page.locator("form", has=page.locator("input[name=type][value=sleep]"))
    form.get_by_label("Seconds").fill(str(seconds))
    form.get_by_label("Steps").fill(str(seconds))
    form.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_an_admin_pauses_a_queue_resumes_it_and_sees_the_worker_run_the_job(new_context: NewContext) -> None:
    page = new_context().new_page()
    log_in(page, "ada")
    sidebar(page, "Queues")
    expect(page.get_by_role("heading", name="Queues")).to_be_visible()
    page.get_by_role("button", name="Pause queue default").click()
    page.wait_for_url("**/settings/maintenance/queues")
    row = page.locator("tr[data-queue='default']")
    expect(row).to_contain_text("Paused")
    expect(row).to_contain_text("by ada")

    job_id = start_sleep(page, 60)
    time.sleep(SEVERAL_POLLS_S)
    page.goto(f"{GRID}/{job_id}")
    expect(page.locator("#job-detail")).to_have_attribute("data-status", "queued")
    sidebar(page, "Queues")
    expect(row.locator("td").nth(1)).to_have_text("1")  # one job waiting on the paused queue

    page.get_by_role("button", name="Resume queue default").click()
    page.wait_for_url("**/settings/maintenance/queues")
    expect(row).to_contain_text("Running")
    expect(row.locator("td").nth(1)).to_have_text("0", timeout=30_000)  # the live table follows the claim
    try:
        sidebar(page, "Workers")
        expect(page.get_by_role("heading", name="Workers")).to_be_visible()
        running = page.get_by_role("link", name=f"Job {job_id}")
        expect(running).to_be_visible(timeout=30_000)
        expect(page.locator("tr[data-worker]", has=running)).to_contain_text("Sleep")
    finally:
        page.goto(f"{GRID}/{job_id}")
        page.get_by_role("button", name="Cancel job").click()
        expect(page.locator("#job-detail")).to_have_attribute("data-status", "cancelled", timeout=30_000)


def test_an_ordinary_user_has_no_link_to_the_operator_pages_and_cannot_open_them(new_context: NewContext) -> None:
    page = new_context().new_page()
    log_in(page, "alice")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Job Management")).to_be_visible()
    expect(nav.get_by_role("link", name="Queues")).to_have_count(0)
    expect(nav.get_by_role("link", name="Workers")).to_have_count(0)
    response = page.goto("/settings/maintenance/queues")
    assert response is not None and response.status == 404
