"""End to end in Chromium: import with bad rows, live refresh, detail view, error report, visibility, screenshots."""

from __future__ import annotations

import csv
import io
import pathlib
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

GRID = "/settings/maintenance/jobs"
CONTACTS = (
    "first_name,last_name,email,country\n"
    "Ada,Lovelace,ada@example.com,GB\n"
    "Grace,Hopper,grace@example.com,US\n"
    ",Nobody,not-an-email,ZZ\n"
    "Alan,Turing,alan@example.com,GB\n"
    "Bad,Country,bad-country@example.com,XX\n"
)
NewContext = Callable[[], BrowserContext]


def row(page: Page, job_id: int) -> Locator:
    return page.locator(f"#job-{job_id}")


def sidebar(page: Page, item: str) -> None:
    """Follow the sidebar: Settings → Application Maintenance → Job Management (or Import Data)."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=item, exact=True).click()


def start_sleep(page: Page, seconds: int) -> int:
    """Start the demo Sleep operation from Application Maintenance; returns the new job's id."""
    sidebar(page, "Application Maintenance")
    form = page.locator("form", has=page.locator("input[name=type][value=sleep]"))
    form.get_by_label("Seconds").fill(str(seconds))
    form.get_by_label("Steps").fill(str(seconds))
    form.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def upload(page: Page, tmp_path: pathlib.Path, name: str, content: str, policy: str = "Skip it") -> int:
    sidebar(page, "Import Data")
    page.get_by_label("Target").select_option("contacts")
    page.get_by_role("button", name="Show columns").click()
    expect(page.get_by_role("heading", name="Expected columns for Contacts")).to_be_visible()
    path = tmp_path / name
    path.write_text(content)
    page.get_by_label(re.compile("^File")).set_input_files(path)
    page.get_by_role("radio", name=re.compile(policy)).check()
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_role("button", name="Import into Contacts").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_screenshots_of_both_tabs_and_the_detail_view(
    new_context: NewContext, tmp_path: pathlib.Path, screenshots: pathlib.Path
) -> None:
    """The README's pictures, as an admin sees the page after the other tests' jobs (and a failed one)."""
    alice = new_context().new_page()
    log_in(alice, "alice")
    alice.goto("/settings/maintenance")
    form = alice.locator("form", has=alice.locator("input[name=type][value=fail]"))
    form.get_by_role("button", name="Start").click()
    failed_id = int(alice.url.rsplit("/", 1)[1]) if re.search(r"/jobs/\d+$", alice.url) else None
    upload(alice, tmp_path, "contacts-march.csv", CONTACTS)
    bob = new_context().new_page()
    log_in(bob, "bob")
    bobs = start_sleep(bob, 1)
    upload(bob, tmp_path, "contacts-april-strict.csv", CONTACTS, policy="Fail the import")
    running = start_sleep(alice, 20)
    page = new_context().new_page()
    log_in(page, "ada")
    page.goto(f"{GRID}?tab=general")
    expect(row(page, running)).to_have_attribute("data-status", "in_progress", timeout=20_000)
    if failed_id:
        expect(row(page, failed_id)).to_have_attribute("data-status", "failed")
    expect(row(page, bobs)).to_have_attribute("data-status", "completed", timeout=20_000)
    page.screenshot(path=screenshots / "general-tab.png", full_page=True)
    page.goto(f"{GRID}?tab=imports")
    page.screenshot(path=screenshots / "imports-tab.png", full_page=True)
    first_import = page.locator("tbody tr[data-status=completed]").first
    first_import.locator(".col-actions a").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    page.screenshot(path=screenshots / "detail-view.png", full_page=True)
    assert {p.name for p in screenshots.iterdir()} >= {"general-tab.png", "imports-tab.png", "detail-view.png"}
    page.goto(f"{GRID}/{running}")
    page.get_by_role("button", name="Cancel job").click()
    expect(page.locator(".details")).to_contain_text("Cancelled", timeout=10_000)


def test_an_import_with_bad_rows_end_to_end(new_context: NewContext, tmp_path: pathlib.Path) -> None:
    alice = new_context().new_page()
    log_in(alice, "alice")
    # One embedded worker: a short Sleep keeps it busy, so the import is seen waiting, then running, then done.
    sleep_id = start_sleep(alice, 3)
    import_id = upload(alice, tmp_path, "people.csv", CONTACTS)
    expect(alice.get_by_role("heading", name=re.compile(f"Import #{import_id}"))).to_be_visible()

    sidebar(alice, "Job Management")
    alice.get_by_role("link", name="Imports", exact=True).click()
    alice.evaluate("window.__sameDocument = true")
    mine = row(alice, import_id)
    expect(mine).to_have_attribute("data-status", re.compile("queued|in_progress"))
    expect(mine.locator(".col-status")).to_contain_text(re.compile("Queued|In Progress"))
    # The row turns into a check on its own, End filled in, with no reload of the page.
    expect(mine).to_have_attribute("data-status", "completed", timeout=20_000)
    expect(mine.locator(".col-status")).to_contain_text("Completed")
    expect(mine.locator(".col-status .status")).to_have_attribute("title", "Completed")
    assert alice.evaluate("window.__sameDocument") is True
    end = mine.locator("td").nth(5)
    expect(end.locator("time")).to_have_count(1)
    assert not end.inner_text().endswith("UTC")  # shown in the browser's time zone
    expect(mine.locator("td").nth(7)).to_have_text("alice")
    expect(mine.locator("td").nth(6)).to_have_text("")

    mine.get_by_role("link", name=f"Details of job {import_id}").click()
    alice.wait_for_url(f"**{GRID}/{import_id}")
    details = alice.locator("dl.details")
    for label in ("Job ID", "Job", "Job Description", "Start", "End", "Status", "Job Run By", "Job Run At"):
        expect(details.locator("dt", has_text=re.compile(f"^{label}$"))).to_have_count(1)
    expect(details).to_contain_text("3 imported, 2 rejected")
    expect(alice.get_by_role("link", name="/imports/new")).to_be_visible()
    for heading in ("Input Files", "Error Reports", "Subtasks"):
        expect(alice.get_by_role("heading", name=heading)).to_be_visible()
    with alice.expect_download() as download:
        alice.locator("h2:text('Error Reports') + ul.files a").first.click()
    report = pathlib.Path(download.value.path()).read_text(encoding="utf-8-sig")
    cells = [c for r in csv.reader(io.StringIO(report)) for c in r]
    assert "not-an-email" in cells
    assert "XX" in cells
    assert download.value.suggested_filename.endswith(".csv")

    # Someone else sees the job on neither tab, and its address answers 404.
    bob = new_context().new_page()
    log_in(bob, "bob")
    for tab in ("general", "imports"):
        bob.goto(f"{GRID}?tab={tab}")
        expect(row(bob, import_id)).to_have_count(0)
        expect(row(bob, sleep_id)).to_have_count(0)
    response = bob.goto(f"{GRID}/{import_id}")
    assert response is not None and response.status == 404
    expect(bob.get_by_role("heading", name=re.compile("404"))).to_be_visible()
    bob_job = start_sleep(bob, 1)

    # An admin sees both users' jobs.
    ada = new_context().new_page()
    log_in(ada, "ada")
    ada.goto(f"{GRID}?tab=general")
    expect(row(ada, sleep_id).locator("td").nth(7)).to_have_text("alice")
    expect(row(ada, bob_job).locator("td").nth(7)).to_have_text("bob")
    ada.goto(f"{GRID}?tab=imports")
    expect(row(ada, import_id)).to_be_visible()


def test_hostile_names_and_descriptions_stay_text(new_context: NewContext, tmp_path: pathlib.Path) -> None:
    page = new_context().new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, "alice")
    payload = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    token = page.evaluate(
        """async (text) => {
            const form = new FormData(document.querySelector("form.signout"));
            const r = await fetch("/api/v1/jobs", {method: "POST",
                headers: {"Content-Type": "application/json", "X-CSRF-Token": form.get("csrf_token")},
                body: JSON.stringify({type: "t_echo", params: {text}})});
            return r.status;
        }""",
        payload,
    )
    assert token == 202
    job_id = upload(page, tmp_path, "x\u202e'onerror=alert(3).csv", CONTACTS)
    for url in (f"{GRID}?tab=general", f"{GRID}?tab=imports", f"{GRID}/{job_id}", f"{GRID}/{job_id - 1}"):
        page.goto(url)
        page.wait_for_timeout(300)
        assert page.locator("img[src=x]").count() == 0
        assert page.locator("main script").count() == 0
    expect(page.locator("body")).to_contain_text("<script>alert(2)</script>")
    assert dialogs == []
