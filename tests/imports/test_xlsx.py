"""XLSX files: the first sheet through calamine, dates and whole numbers read as the target's types."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest

from jobdeck import errors, model
from jobdeck.demo import imports as demo
from jobdeck.service import Service
from tests.imports.conftest import RunImport, SetSetting, rows

Status = model.Status
CONTACTS = ["first_name", "last_name", "email", "phone", "company", "country", "created_on"]


def workbook(*sheet: list[Any], extra_sheet: bool = False) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    for line in sheet:
        ws.append(line)
    if extra_sheet:
        book.create_sheet("Second").append(["ignored"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


Run = Callable[..., Any]


def test_dates_and_whole_numbers_are_read_as_the_targets_types(run_import: RunImport, importer: Service) -> None:
    data = workbook(
        CONTACTS, ["Ada", "Lovelace", "ada@example.com", 5550100, "Engines", "GB", dt.datetime(1999, 12, 31)]
    )
    result = run_import(data, filename="contacts.xlsx")
    assert result.status is Status.COMPLETED, result.job.error
    [row] = rows(importer)
    assert (row["phone"], str(row["created_on"])) == ("5550100", "1999-12-31")


def test_numbers_stored_as_floats_become_ints_decimals_and_booleans(run_import: RunImport, importer: Service) -> None:
    data = workbook(["sku", "name", "price", "quantity", "active"], [1001.0, "Widget", 12.5, 3.0, True])
    result = run_import(data, filename="products.xlsx", target="products")
    assert result.status is Status.COMPLETED, result.job.error
    [product] = rows(importer, demo.products_table)
    assert (product["sku"], str(product["price"]), product["quantity"], product["active"]) == ("1001", "12.50", 3, True)


def test_a_date_with_a_time_of_day_is_rejected_as_a_date(run_import: RunImport) -> None:
    data = workbook(CONTACTS, ["Ada", "Lovelace", "ada@example.com", None, None, None, dt.datetime(2021, 3, 4, 10, 30)])
    result = run_import(data, filename="contacts.xlsx")
    assert result.error_codes == [(1, "created_on", "bad_date")]
    assert result.errors[0][2] == "2021-03-04 10:30:00"


def test_only_the_first_sheet_is_read(run_import: RunImport, importer: Service) -> None:
    data = workbook(CONTACTS, ["Ada", "Lovelace", "ada@example.com"], extra_sheet=True)
    assert run_import(data, filename="contacts.xlsx").status is Status.COMPLETED
    assert len(rows(importer)) == 1


def test_an_empty_sheet_fails_the_job(run_import: RunImport) -> None:
    result = run_import(workbook(), filename="contacts.xlsx")
    assert result.status is Status.FAILED
    assert result.job.error == "The file is empty: none of its sheets has anything in it."


def test_a_zip_that_is_not_a_workbook_fails_the_job(run_import: RunImport) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    result = run_import(out.getvalue(), filename="contacts.xlsx")
    assert result.status is Status.FAILED
    assert "is damaged, so it is not a valid XLSX file" in (result.job.error or "")


def test_a_csv_named_xlsx_is_refused_at_upload(importer: Service, uploader: model.User) -> None:
    with pytest.raises(errors.InvalidParams, match="not an XLSX file"):
        importer.start_import(uploader, io.BytesIO(b"a,b\n1,2\n"), "contacts.xlsx", "contacts")


def test_a_workbook_unpacking_over_the_limit_fails_before_it_is_opened(
    run_import: RunImport, set_setting: SetSetting
) -> None:
    set_setting(import_max_xlsx_uncompressed_mb=1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", "<x/>" * 600_000)  # 2.4 MB that deflates to a few KB
    result = run_import(out.getvalue(), filename="bomb.xlsx")
    assert result.status is Status.FAILED
    assert result.job.error == (
        "The XLSX file unpacks to 2 MB, over the limit of 1 MB (JOBDECK_IMPORT_MAX_XLSX_UNCOMPRESSED_MB)."
    )
