"""The grid and the import flow with the keyboard alone: Tab, Enter, Space and arrow keys, never a click.

Every element the keyboard stops on must show where the focus is (a visible outline).
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, FileChooser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.conftest import PASSWORDS, log_in

pytestmark = pytest.mark.browser

GRID = "/settings/maintenance/jobs"
NewContext = Callable[[], BrowserContext]
PRODUCTS = "sku,name,price,quantity,active\nKB-1,Keyboard,49.90,3,true\nKB-2,Broken price,-1,2,true\n"
CONTACTS = "first_name,last_name,email\nKey,Board,key.board@example.com\n"


def outline_of_focused(page: Page) -> str:
    return str(page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle"))


def has_focus(locator: Locator) -> bool:
    return bool(locator.evaluate("element => element === document.activeElement"))


def tab_to(page: Page, target: Locator, *, limit: int = 150) -> None:
    """Press Tab until `target` holds the focus; every stop on the way must draw a focus outline."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        tag = page.evaluate("() => document.activeElement.outerHTML.slice(0, 120)")
        assert outline_of_focused(page) != "none", f"no visible focus on {tag}"
        if has_focus(target):
            return
    raise AssertionError(f"{target} is not reachable with Tab from the top of {page.url}")


def choose(page: Page, select: Locator, value: str, *, key: str = "ArrowDown", limit: int = 20) -> None:
    """Change a focused drop-down with an arrow key until it shows `value`."""
    for _ in range(limit):
        if select.input_value() == value:
            return
        page.keyboard.press(key)
    raise AssertionError(f"{value!r} is not reachable with {key} in {select}")


def open_file_chooser_with_space(page: Page, tries: int = 3) -> FileChooser:
    """Space on the focused file field opens the chooser. Headless Chromium now and then drops that first
    activation (no chooser event comes), so the key is pressed again, as a person would, a few times at most."""
    for attempt in range(tries):
        try:
            with page.expect_file_chooser(timeout=10_000) as chooser:
                page.keyboard.press("Space")
            return chooser.value
        except PlaywrightTimeoutError:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def sign_in_with_the_keyboard(page: Page, username: str) -> None:
    page.goto("/login")
    expect(page.get_by_label("Username")).to_be_focused()  # the form takes the focus on its own
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORDS[username])
    page.keyboard.press("Enter")
    page.wait_for_url("**/settings/maintenance/jobs**")


def job_id_of(page: Page) -> int:
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_the_skip_link_is_the_first_stop_and_moves_the_focus_to_the_content(new_context: NewContext) -> None:
    page = new_context().new_page()
    log_in(page, "alice")
    page.goto(f"{GRID}?tab=general")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert outline_of_focused(page) != "none"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_the_import_flow_with_the_keyboard_alone(new_context: NewContext, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "products-by-keyboard.csv"
    path.write_text(PRODUCTS)
    page = new_context().new_page()
    sign_in_with_the_keyboard(page, "bob")

    tab_to(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Import Data"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/imports/new**")
    target = page.get_by_label("Target")
    tab_to(page, target)
    choose(page, target, "products")
    tab_to(page, page.get_by_role("button", name="Show columns"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Expected columns for Products")).to_be_visible()

    tab_to(page, page.get_by_label(re.compile("^File")))
    open_file_chooser_with_space(page).set_files(path)
    expect(page.get_by_label(re.compile("^File"))).to_have_value(re.compile("products-by-keyboard.csv$"))
    # Tab reaches the chosen radio of the group; an arrow key moves the choice to the next one.
    tab_to(page, page.get_by_role("radio", name=re.compile("^Skip it")))
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name=re.compile("^Fail the import"))).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Upload and preview"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/imports/[A-Za-z0-9_-]+$"))
    # The preview keeps the policy chosen on the upload page; its header row is a number field.
    expect(page.get_by_role("radio", name=re.compile("^Fail the import"))).to_be_checked()
    header_row = page.get_by_label("Header row")
    tab_to(page, header_row)
    expect(header_row).to_have_value("1")
    tab_to(page, page.get_by_role("button", name="Import into Products"))
    page.keyboard.press("Enter")

    job_id = job_id_of(page)
    expect(page.get_by_role("heading", name=re.compile(f"#{job_id}"))).to_be_visible()
    # The bad price and the strict policy chosen with the arrow key fail the whole import.
    expect(page.locator("#job-detail")).to_have_attribute("data-status", "failed", timeout=30_000)


def test_the_grid_with_the_keyboard_alone(new_context: NewContext, tmp_path: pathlib.Path) -> None:
    """Sign in, switch tabs, filter, sort, open a job's detail and come back: Tab, arrows and Enter."""
    owner = new_context().new_page()
    log_in(owner, "alice")
    owner.goto("/imports/new?target=contacts")
    path = tmp_path / "keyboard-contacts.csv"
    path.write_text(CONTACTS)
    owner.get_by_label(re.compile("^File")).set_input_files(path)
    owner.get_by_role("button", name="Upload and preview").click()
    owner.get_by_role("button", name="Import into Contacts").click()
    imported = job_id_of(owner)
    expect(owner.locator("#job-detail")).to_have_attribute("data-status", "completed", timeout=30_000)

    page = new_context().new_page()
    sign_in_with_the_keyboard(page, "alice")
    tab_to(page, page.get_by_role("link", name="Imports", exact=True))
    page.keyboard.press("Enter")
    page.wait_for_url("**tab=imports**")
    expect(page.get_by_role("link", name="Imports", exact=True)).to_have_attribute("aria-current", "page")

    tab_to(page, page.get_by_label("Search"))
    page.keyboard.type(str(imported))
    status = page.get_by_label("Status")
    tab_to(page, status)
    choose(page, status, "completed")
    tab_to(page, page.get_by_role("button", name="Apply"))
    page.keyboard.press("Enter")
    page.wait_for_url("**status=completed**")
    assert "from=" not in page.url  # blank filters are left out of the address
    expect(page.locator(f"#job-{imported}")).to_be_visible()
    expect(page.locator("#jobs tbody tr:not([data-status=completed])")).to_have_count(0)

    header = page.get_by_role("columnheader", name="Job ID")
    order = header.get_attribute("aria-sort")
    tab_to(page, header.get_by_role("link"))
    page.keyboard.press("Enter")
    expect(header).not_to_have_attribute("aria-sort", str(order))  # the other way round

    tab_to(page, page.get_by_role("link", name=f"Details of job {imported}"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{GRID}/{imported}")
    expect(page.get_by_role("heading", name=re.compile(f"#{imported}"))).to_be_visible()
    tab_to(page, page.get_by_role("link", name="Back to Job Management"))
    page.keyboard.press("Enter")
    page.wait_for_url("**tab=imports**")
    expect(page.locator(f"#job-{imported}")).to_be_visible()


def start_sleep(page: Page, seconds: int) -> int:
    page.goto("/settings/maintenance")
    form = page.locator("form", has=page.locator("input[name=type][value=sleep]"))
    form.get_by_label("Seconds").fill(str(seconds))
    form.get_by_label("Steps").fill(str(seconds))
    form.get_by_role("button", name="Start").click()
    return job_id_of(page)


def test_the_focus_stays_on_the_details_link_of_a_row_that_the_live_refresh_redraws(new_context: NewContext) -> None:
    page = new_context().new_page()
    log_in(page, "alice")
    job_id = start_sleep(page, 10)
    page.goto(f"{GRID}?tab=general")
    link = page.get_by_role("link", name=f"Details of job {job_id}")
    tab_to(page, link)
    assert page.locator(f"#job-{job_id}").get_attribute("data-live") == "true", "the job ended before the check began"
    expect(page.locator(f"#job-{job_id}")).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{GRID}/{job_id}")


def test_the_focus_stays_on_the_cancel_button_while_the_detail_refreshes(new_context: NewContext) -> None:
    page = new_context().new_page()
    log_in(page, "alice")
    start_sleep(page, 60)
    detail = page.locator("#job-detail")
    expect(detail).to_have_attribute("data-status", "in_progress", timeout=30_000)
    # The detail section is redrawn as each step ends; the focus must not fall back to the top of the page.
    cancel = page.get_by_role("button", name="Cancel job")
    tab_to(page, cancel)
    steps = page.locator("#job-detail .subtasks tbody tr")
    expect(steps).not_to_have_count(steps.count(), timeout=30_000)
    expect(cancel).to_be_focused()
    page.keyboard.press("Enter")
    expect(detail).to_have_attribute("data-status", "cancelled", timeout=30_000)
