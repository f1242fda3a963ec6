"""The import page in Chromium: upload -> preview -> change the header row and one mapping -> check -> import."""

from __future__ import annotations

import pathlib
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import log_in
from tests.browser.test_accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NewContext = Callable[[], BrowserContext]
#: An export with a title block above its header (the sender's company, e-mail, phone and country, which
#: read more like the Contacts header than the real one), the header on row 3, and an e-mail column named
#: "Reach me at" that nothing matches: the header row and that column need the user.
LETTERHEAD = (
    "Company,Email,Phone,Country\r\n"
    "Example Trading Ltd,sales@example.com,+44 20 7946 0000,GB\r\n"
    "First Name,Last Name,Reach me at,Country\r\n"
    "Ada,Lovelace,ada.flow@example.com,GB\r\n"
    "Alan,Turing,not-an-address,GB\r\n"
    "Grace,Hopper,grace.flow@example.com,US\r\n"
)


def mapping_of(page: Page, column: str) -> str:
    return page.get_by_label(column, exact=True).input_value()


def test_upload_preview_fix_the_header_row_and_a_mapping_check_and_import(
    new_context: NewContext, tmp_path: pathlib.Path
) -> None:
    page = new_context().new_page()
    log_in(page, "alice")
    page.goto("/imports/new?target=contacts")
    path = tmp_path / "letterhead-export.csv"
    path.write_text(LETTERHEAD)
    page.get_by_label(re.compile("^File")).set_input_files(path)
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r".*/imports/[A-Za-z0-9_-]+$"))
    preview_url = page.url

    # The title block reads more like a header than the header does: row 1 is detected, and the
    # required names are missing.
    header_row = page.get_by_label("Header row")
    expect(header_row).to_have_value("1")
    expect(page.get_by_role("alert")).to_contain_text("The required column 'first_name' matches no column")
    assert_accessible(page)

    header_row.fill("3")
    page.get_by_role("button", name="Update preview").click()
    expect(page.get_by_label("Header row")).to_have_value("3")
    rows = page.get_by_role("region", name="The first rows, as read")
    expect(rows.get_by_role("columnheader", name=re.compile("^Reach me at"))).to_be_visible()
    expect(rows.get_by_role("cell", name="ada.flow@example.com")).to_be_visible()
    assert (mapping_of(page, "first_name"), mapping_of(page, "email")) == ("First Name", "")
    expect(page.get_by_text("File columns not imported: Reach me at")).to_be_visible()

    page.get_by_label("email", exact=True).select_option("Reach me at")
    page.get_by_role("button", name="Check").click()
    check = page.locator("#check")
    # The dry run is a job: the page refreshes its section until the job is done.
    expect(check).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(check.get_by_role("definition")).to_have_text(["3", "2", "1", "2", "0"])
    expect(check.get_by_role("cell", name="not-an-address")).to_be_visible()
    assert mapping_of(page, "email") == "Reach me at"  # the choices checked are still the page's
    assert_accessible(page)

    page.get_by_role("button", name="Import into Contacts").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    detail = page.locator("#job-detail")
    expect(detail).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(detail).to_contain_text("letterhead-export.csv: 2 imported, 1 rejected")
    mapping = page.get_by_role("region", name="Column mapping")
    expect(mapping.get_by_role("row")).to_have_text(
        [
            re.compile("File column\\s*Imported into"),
            re.compile("First Name\\s*first_name"),
            re.compile("Last Name\\s*last_name"),
            re.compile("Reach me at\\s*email"),
            re.compile("Country\\s*country"),
        ]
    )
    expect(page.get_by_text("Header row: 3.")).to_be_visible()
    expect(page.get_by_role("heading", name="Input Files")).to_be_visible()
    expect(page.get_by_role("link", name="Download letterhead-export.csv")).to_be_visible()
    expect(page.get_by_role("heading", name="Output Files")).to_be_visible()
    expect(page.get_by_role("link", name="Download letterhead-export-summary.csv")).to_be_visible()
    expect(page.get_by_role("link", name="Download letterhead-export-errors.csv")).to_be_visible()

    # The upload went with the import: its preview cannot import it a second time.
    response = page.goto(preview_url)
    assert response is not None and response.status == 404
