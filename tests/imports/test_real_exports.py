"""Files shaped like real exports, each imported through the automatic mapping or with the choices a user
makes, and the rows written checked in the target table."""

from __future__ import annotations

import pytest

from jobdeck import model
from jobdeck.service import Service
from tests.imports.conftest import RunImport, rows
from tests.imports.test_mapping_import import workbook

ADA = ("ada@example.com", "Ada", "Lovelace")
JOSE = ("jose@example.com", "José", "Núñez")


def written(importer: Service) -> list[tuple[str, str, str]]:
    return [(r["email"], r["first_name"], r["last_name"]) for r in rows(importer)]


def completed(result: object) -> None:
    job = result.job  # type: ignore[attr-defined]
    assert job.status is model.Status.COMPLETED, job.error


def test_an_outlook_style_export_with_english_headers_extra_columns_and_another_order(
    run_import: RunImport, importer: Service
) -> None:
    data = (
        b'"Title","First Name","Middle Name","Last Name","E-mail Address","E-mail Type","Business Phone"\r\n'
        b'"","Ada","","Lovelace","ada@example.com","SMTP","+44 20 1234"\r\n'
    )
    result = run_import(data)
    completed(result)
    assert written(importer) == [ADA]
    assert rows(importer)[0]["phone"] is None  # "Business Phone" is only a suggestion, never a decision


def test_french_headers_with_semicolons_in_cp1252(run_import: RunImport, importer: Service) -> None:
    data = "Prénom;Nom;Courriel;Société\r\nJosé;Núñez;jose@example.com;Café Ltd\r\n".encode("cp1252")
    result = run_import(data)
    completed(result)
    assert written(importer) == [JOSE]
    assert rows(importer)[0]["company"] == "Café Ltd"


def test_headers_in_other_cases_and_spacings(run_import: RunImport, importer: Service) -> None:
    data = b"  EMAIL ,first   name,LAST_NAME\nada@example.com,Ada,Lovelace\n"
    completed(run_import(data))
    assert written(importer) == [ADA]


def test_a_file_with_old_mac_cr_only_line_ends(run_import: RunImport, importer: Service) -> None:
    data = b"Email Address,Given Name,Surname\rada@example.com,Ada,Lovelace\rjose@example.com,Jose,Nunez\r"
    completed(run_import(data))
    assert written(importer) == [ADA, ("jose@example.com", "Jose", "Nunez")]


def test_a_big5_export_with_chinese_headers_and_the_encoding_named(run_import: RunImport, importer: Service) -> None:
    data = "名,姓,電子郵件\n小明,王,ming@example.com\n".encode("big5")
    completed(run_import(data, encoding="big5"))
    assert written(importer) == [("ming@example.com", "小明", "王")]


def test_a_utf16_export_with_tabs_as_excel_saves_unicode_text(run_import: RunImport, importer: Service) -> None:
    data = "Vorname\tNachname\tE-Mail-Adresse\r\nJosé\tNúñez\tjose@example.com\r\n".encode("utf-16")
    result = run_import(data, filename="export.txt")
    completed(result)
    assert written(importer) == [JOSE]


def test_title_rows_above_the_header_with_the_header_row_chosen(run_import: RunImport, importer: Service) -> None:
    data = b"Report: contacts\nemail;first_name;last_name\n\nada@example.com;Ada;Lovelace\n"
    result = run_import(data, header_row=2, delimiter="semicolon")
    completed(result)
    assert written(importer) == [ADA]


def test_data_on_the_second_sheet_after_an_empty_one(run_import: RunImport, importer: Service) -> None:
    data = workbook(("Sheet1", []), ("Contacts", [["Email", "First Name", "Last Name"], [*ADA]]))
    completed(run_import(data, filename="contacts.xlsx"))
    assert written(importer) == [ADA]


def test_a_workbook_with_a_title_block_and_the_sheet_named(run_import: RunImport, importer: Service) -> None:
    data = workbook(
        ("Summary", [["Totals"], ["Contacts", 1]]),
        ("Export", [["CRM export"], ["Generated", "2024-05-01"], [], ["Mail", "Forename", "Family Name"], [*ADA]]),
    )
    result = run_import(data, filename="contacts.xlsx", sheet="Export")
    completed(result)
    assert written(importer) == [ADA]
    assert result.job.params["header_row"] == 4


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
def test_any_column_order_writes_each_value_to_its_column(
    run_import: RunImport, importer: Service, order: tuple[int, int, int]
) -> None:
    header = ["first_name", "last_name", "email"]
    values = ["Ada", "Lovelace", "ada@example.com"]
    lines = [",".join(header[i] for i in order), ",".join(values[i] for i in order)]
    completed(run_import(("\n".join(lines) + "\n").encode()))
    assert written(importer) == [ADA]
