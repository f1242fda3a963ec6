"""Every page passes axe-core with no serious or critical violation, as an admin and as an ordinary user."""

from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import log_in
from tests.web.serving import jobdeck_server

pytestmark = pytest.mark.browser

GRID = "/settings/maintenance/jobs"
BLOCKING = ("serious", "critical")
# WCAG 2.2 A and AA (target sizes included) and axe's best practices; AAA contrast is not a goal.
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
}
#: The layout changes below 800 pixels (the sidebar goes on top, tables scroll sideways): both are checked.
VIEWPORTS = ({"width": 1440, "height": 900}, {"width": 390, "height": 844})
CONTACTS = (
    "first_name,last_name,email,country\n"
    "Ada,Lovelace,ada@example.com,GB\n"
    ",Nobody,not-an-email,ZZ\n"
    "Alan,Turing,alan@example.com,GB\n"
)
AXE = Axe()


def blocking_violations(page: Page) -> list[dict[str, Any]]:
    """The violations axe-core finds on the page as it stands, keeping those of impact serious or critical."""
    violations: list[dict[str, Any]] = AXE.run(page, options=AXE_OPTIONS).response["violations"]
    return [v for v in violations if v["impact"] in BLOCKING]


def explain(violations: list[dict[str, Any]]) -> str:
    """One line per violation: its rule, impact and the selectors of the elements at fault."""
    lines = []
    for v in violations:
        targets = "; ".join(" ".join(str(t) for t in node["target"]) for node in v["nodes"])
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} -> {targets}")
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    """No serious or critical violation on the page as it stands, on a wide screen and on a phone's."""
    try:
        for viewport in VIEWPORTS:
            page.set_viewport_size(viewport)
            violations = blocking_violations(page)
            where = f"{page.url} at {viewport['width']} pixels wide"
            assert not violations, f"axe-core found on {where}:\n{explain(violations)}"
    finally:
        page.set_viewport_size(VIEWPORTS[0])


def wait_for_status(page: Page, job_id: int, statuses: str) -> None:
    page.goto(f"{GRID}/{job_id}")
    expect(page.locator("#job-detail")).to_have_attribute("data-status", re.compile(statuses), timeout=30_000)


@pytest.fixture(scope="module")
def people(browser: Browser, server: str) -> Iterator[dict[str, Page]]:
    """ada (admin), alice and a visitor who has not signed in, each with their own cookie jar."""
    contexts: list[BrowserContext] = []
    pages: dict[str, Page] = {}
    for who in ("ada", "alice", "nobody"):
        context = browser.new_context(base_url=server, viewport={"width": 1440, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        pages[who] = context.new_page()
        if who != "nobody":
            log_in(pages[who], who)
    yield pages
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def finished(people: dict[str, Page], tmp_path_factory: pytest.TempPathFactory) -> dict[str, int | str]:
    """alice's completed import (input file, error report, subtasks), her failed job, both finished, and an
    upload of hers waiting on its preview."""
    page = people["alice"]
    page.goto("/imports/new?target=contacts")
    path = tmp_path_factory.mktemp("upload") / "contacts.csv"
    path.write_text(CONTACTS)
    page.get_by_label(re.compile("^File")).set_input_files(path)
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_role("button", name="Import into Contacts").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    imported = int(page.url.rsplit("/", 1)[1])
    page.goto("/imports/new?target=contacts")  # another upload, left waiting on its preview
    page.get_by_label(re.compile("^File")).set_input_files(path)
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r".*/imports/[A-Za-z0-9_-]+$"))
    preview = page.url.rsplit("/", 1)[1]
    page.goto("/settings/maintenance")
    page.locator("form", has=page.locator("input[name=type][value=fail]")).get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    failed = int(page.url.rsplit("/", 1)[1])
    page.goto("/settings/maintenance")
    page.locator("form", has=page.locator("input[name=type][value=flaky]")).get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    flaky = int(page.url.rsplit("/", 1)[1])  # fails twice, then succeeds: three rows in its Attempts table
    wait_for_status(page, imported, "completed")
    wait_for_status(page, failed, "failed")
    wait_for_status(page, flaky, "completed")
    return {"import": imported, "failed": failed, "preview": preview, "flaky": flaky}


PAGES = [
    pytest.param("nobody", "/login", id="login"),
    pytest.param("ada", "/settings/maintenance", id="maintenance-as-admin"),
    pytest.param("alice", "/settings/maintenance", id="maintenance-as-user"),
    pytest.param("ada", f"{GRID}?tab=general", id="general-tab-as-admin"),
    pytest.param("alice", f"{GRID}?tab=general", id="general-tab-as-user"),
    pytest.param("ada", f"{GRID}?tab=imports", id="imports-tab-as-admin"),
    pytest.param("alice", f"{GRID}?tab=imports", id="imports-tab-as-user"),
    pytest.param("alice", f"{GRID}?tab=general&q=no+such+job", id="grid-with-no-match"),
    pytest.param("alice", "/imports/new", id="import"),
    pytest.param("alice", "/imports/{preview}", id="import-preview"),
    pytest.param("alice", f"{GRID}/{{import}}", id="detail-of-a-completed-import"),
    pytest.param("ada", f"{GRID}/{{import}}", id="detail-of-a-completed-import-as-admin"),
    pytest.param("alice", f"{GRID}/{{failed}}", id="detail-of-a-failed-job"),
    pytest.param("alice", f"{GRID}/{{flaky}}", id="detail-of-a-job-with-retried-attempts"),
    pytest.param("alice", f"{GRID}/999999", id="not-found"),
    pytest.param("ada", "/settings/maintenance/workers", id="workers-as-admin"),
    pytest.param("ada", "/settings/maintenance/queues", id="queues-as-admin"),
    pytest.param("alice", f"{GRID}/retry?tab=general&status=failed", id="bulk-retry-confirmation"),
    pytest.param("ada", f"{GRID}/cancel?tab=general&q=no+such+job", id="bulk-cancel-confirmation-of-none"),
]


@pytest.mark.parametrize(("who", "address"), PAGES)
def test_the_page_has_no_serious_or_critical_violation(
    people: dict[str, Page], finished: dict[str, int | str], who: str, address: str
) -> None:
    page = people[who]
    page.goto(address.format(**finished))
    page.wait_for_load_state("load")
    assert_accessible(page)


def test_the_login_page_with_an_error_has_no_serious_or_critical_violation(people: dict[str, Page]) -> None:
    page = people["nobody"]
    page.goto("/login")
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page)


def test_a_running_job_and_its_live_row_have_no_serious_or_critical_violation(
    people: dict[str, Page], finished: dict[str, int | str], tmp_path: pathlib.Path
) -> None:
    page = people["alice"]
    page.goto("/settings/maintenance")
    form = page.locator("form", has=page.locator("input[name=type][value=sleep]"))
    form.get_by_label("Seconds").fill("60")
    form.get_by_label("Steps").fill("60")
    form.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    running = int(page.url.rsplit("/", 1)[1])
    try:
        wait_for_status(page, running, "in_progress")
        assert_accessible(page)
        page.goto(f"{GRID}?tab=general")
        expect(page.locator(f"#job-{running}")).to_have_attribute("data-status", "in_progress")
        assert_accessible(page)
    finally:
        page.goto(f"{GRID}/{running}")
        page.get_by_role("button", name="Cancel job").click()
        expect(page.locator("#job-detail")).to_have_attribute("data-status", "cancelled", timeout=30_000)


def test_a_job_that_changes_status_on_a_live_page_is_announced_in_the_status_region(people: dict[str, Page]) -> None:
    page = people["alice"]
    page.goto("/settings/maintenance")
    form = page.locator("form", has=page.locator("input[name=type][value=sleep]"))
    form.get_by_label("Seconds").fill("5")
    form.get_by_label("Steps").fill("5")
    form.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    job_id = int(page.url.rsplit("/", 1)[1])
    page.goto(f"{GRID}?tab=general")
    expect(page.locator(f"#job-{job_id}")).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(page.get_by_role("status").filter(has_text=f"Job {job_id}")).to_have_text(f"Job {job_id}: Completed")


def test_the_login_page_with_a_provider_button_has_no_serious_or_critical_violation(
    browser: Browser, tmp_path: pathlib.Path
) -> None:
    """With OpenID Connect on, the login page offers the provider beside the form (the provider is not contacted
    until the button is followed)."""
    settings = {"oidc_issuer": "https://login.example.com", "oidc_client_id": "jobdeck", "oidc_provider_name": "Acme"}
    with jobdeck_server(f"sqlite:///{tmp_path / 'jobdeck.sqlite3'}", tmp_path, **settings) as url:
        context = browser.new_context(base_url=url, viewport=VIEWPORTS[0])
        try:
            page = context.new_page()
            page.goto("/login")
            expect(page.get_by_role("link", name="Sign in with Acme")).to_be_visible()
            assert_accessible(page)
        finally:
            context.close()


def test_the_queues_page_with_a_paused_queue_has_no_serious_or_critical_violation(people: dict[str, Page]) -> None:
    page = people["ada"]
    page.goto("/settings/maintenance/queues")
    page.get_by_role("button", name="Pause queue default").click()
    try:
        expect(page.get_by_role("button", name="Resume queue default")).to_be_visible()
        assert_accessible(page)
    finally:
        page.get_by_role("button", name="Resume queue default").click()
        expect(page.get_by_role("button", name="Pause queue default")).to_be_visible()
