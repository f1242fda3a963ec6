"""The import job reads the header where it is, on the sheet that holds it, and maps its columns: automatically
(names, aliases, similarity) or as the user chose, checked before the job is queued."""

from __future__ import annotations

import io

import openpyxl
import pytest

from jobdeck import errors, model, previewing
from jobdeck.query import JobQuery
from jobdeck.service import Service
from tests.imports.conftest import RunImport, rows


def workbook(*sheets: tuple[str, list[list[object]]]) -> bytes:
    """An XLSX with these sheets, each a list of rows starting at A1 (None: an empty cell)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, sheet_rows in sheets:
        sheet = book.create_sheet(name)
        for cells in sheet_rows:
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def contacts(importer: Service) -> list[tuple[str, str, str | None]]:
    return [(r["email"], r["first_name"], r["company"]) for r in rows(importer)]


def test_a_header_below_title_rows_with_other_names_and_an_extra_column_is_imported(
    run_import: RunImport, importer: Service
) -> None:
    data = (
        b"Contacts export\r\nGenerated 2024-05-01\r\n\r\n"
        b"Notes,E-mail Address,Company Name,First Name,Surname\r\n"
        b"VIP,ada@example.com,Engines,Ada,Lovelace\r\n"
        b",alan@example.com,,Alan,Turing\r\n"
    )
    result = run_import(data)
    assert result.status is model.Status.COMPLETED, result.job.error
    assert contacts(importer) == [("ada@example.com", "Ada", "Engines"), ("alan@example.com", "Alan", None)]
    assert result.job.params["header_row"] == 4
    assert result.job.params["mapping"] == {
        "Notes": None,
        "E-mail Address": "email",
        "Company Name": "company",
        "First Name": "first_name",
        "Surname": "last_name",
    }
    assert "Ignored file columns (no column of Contacts takes them): 'Notes'" in [m.message for m in result.detail.log]


def test_a_users_mapping_feeds_the_columns_it_names(run_import: RunImport, importer: Service) -> None:
    data = b"who,mail,given,family\nx,ada@example.com,Ada,Lovelace\n"
    mapping = {"mail": "email", "given": "first_name", "family": "last_name", "who": None}
    result = run_import(data, mapping=mapping)
    assert result.status is model.Status.COMPLETED, result.job.error
    assert contacts(importer) == [("ada@example.com", "Ada", None)]
    assert result.job.params["mapping"] == {"who": None, "mail": "email", "given": "first_name", "family": "last_name"}


def test_a_chosen_header_row_is_the_header(run_import: RunImport, importer: Service) -> None:
    data = b"email,first_name,last_name\nnot,a,header\nemail,first_name,last_name\nada@example.com,Ada,Lovelace\n"
    result = run_import(data, header_row=3)
    assert result.status is model.Status.COMPLETED, result.job.error
    assert contacts(importer) == [("ada@example.com", "Ada", None)]


def test_data_on_the_second_sheet_under_a_title_is_found(run_import: RunImport, importer: Service) -> None:
    data = workbook(
        ("Cover", [["Contacts export"]]),
        ("Data", [["Exported by the CRM"], [], ["Courriel", "Prénom", "Nom"], ["ada@example.com", "Ada", "Lovelace"]]),
    )
    result = run_import(data, filename="contacts.xlsx")
    assert result.status is model.Status.COMPLETED, result.job.error
    assert contacts(importer) == [("ada@example.com", "Ada", None)]
    assert result.detail.log[0].message.startswith(
        "Reading contacts.xlsx as the sheet 'Data' of the workbook, the header on row 3;"
    )


def test_a_sheet_chosen_by_number_and_a_header_row_are_read(run_import: RunImport, importer: Service) -> None:
    data = workbook(
        ("Old", [["email", "first_name", "last_name"], ["old@example.com", "Old", "Row"]]),
        ("New", [["title"], ["email", "first_name", "last_name"], ["new@example.com", "New", "Row"]]),
    )
    result = run_import(data, filename="contacts.xlsx", sheet=2, header_row=2)
    assert result.status is model.Status.COMPLETED, result.job.error
    assert contacts(importer) == [("new@example.com", "New", None)]


def test_a_mapping_naming_a_column_the_file_lacks_is_refused_before_queueing(
    importer: Service, uploader: model.User
) -> None:
    data = io.BytesIO(b"mail,given,family\nada@example.com,Ada,Lovelace\n")
    with pytest.raises(errors.InvalidParams, match="the file has no column 'e-mail'"):
        importer.start_import(uploader, data, "c.csv", "contacts", mapping={"e-mail": "email"})
    with pytest.raises(errors.InvalidParams, match="Contacts has no column 'mail_address'"):
        importer.start_import(
            uploader, io.BytesIO(data.getvalue()), "c.csv", "contacts", mapping={"mail": "mail_address"}
        )
    assert importer.list_jobs(uploader, JobQuery()).items == []


def test_a_mapping_that_leaves_a_required_column_unfed_is_refused_naming_it(
    importer: Service, uploader: model.User
) -> None:
    data = io.BytesIO(b"mail,given,family\nada@example.com,Ada,Lovelace\n")
    with pytest.raises(errors.InvalidParams, match="The required column 'email' matches no column of the file"):
        importer.start_import(uploader, data, "c.csv", "contacts", mapping={"mail": None})


def test_an_unmatched_required_column_fails_the_job_naming_the_closest_headers(run_import: RunImport) -> None:
    result = run_import(b"first_name,last_name,mailing\nAda,Lovelace,ada@example.com\n")
    assert result.status is model.Status.FAILED
    assert "The required column 'email' matches no column of the file; the closest file columns are 'mailing'" in (
        result.job.error or ""
    )
    assert result.detail.subtasks == []


ODD = b"who,mail,given,family\nx,ada@example.com,Ada,Lovelace\n"
ODD_MAPPING = {"who": None, "mail": "email", "given": "first_name", "family": "last_name"}


def test_the_mapping_of_a_users_latest_import_of_the_same_header_is_offered_again(
    importer: Service, uploader: model.User
) -> None:
    header = ["who", "mail", "given", "family"]
    assert importer.previous_mapping(uploader, "contacts", header) is None
    swapped = {"mail": "email", "given": "last_name", "family": "first_name"}
    importer.start_import(uploader, io.BytesIO(ODD), "a.csv", "contacts", mapping=swapped)
    latest = importer.start_import(uploader, io.BytesIO(ODD), "b.csv", "contacts", mapping=ODD_MAPPING)
    found = importer.previous_mapping(uploader, "contacts", header)
    assert found is not None and (found.job_id, found.mapping) == (latest.id, ODD_MAPPING)
    assert importer.previous_mapping(uploader, "contacts", [*header, "extra"]) is None
    assert importer.previous_mapping(uploader, "products", header) is None


def test_another_users_mapping_is_not_offered(importer: Service, uploader: model.User, admin: model.User) -> None:
    importer.start_import(admin, io.BytesIO(ODD), "a.csv", "contacts", mapping=ODD_MAPPING)
    assert importer.previous_mapping(uploader, "contacts", ["who", "mail", "given", "family"]) is None


def test_the_preview_uses_the_previous_mapping_and_says_so(importer: Service, uploader: model.User) -> None:
    first = previewing.preview_upload(importer, uploader, io.BytesIO(ODD), "a.csv", "contacts")
    assert first.mapping_source == "automatic"
    job = importer.start_import(uploader, io.BytesIO(ODD), "b.csv", "contacts", mapping=ODD_MAPPING)
    again = previewing.preview_upload(importer, uploader, io.BytesIO(ODD), "c.csv", "contacts")
    assert again.mapping_source == f"previous import #{job.id}"
    assert again.mapping.as_user_mapping() == {"mail": "email", "given": "first_name", "family": "last_name"}
    given = previewing.preview_upload(importer, uploader, io.BytesIO(ODD), "c.csv", "contacts", mapping={})
    assert given.mapping_source == "given"
