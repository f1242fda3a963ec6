"""What an import hands back: every file protected against formulas, and the rejected rows re-uploadable
with the values they were uploaded with."""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobdeck import model
from jobdeck.imports import readers, report
from jobdeck.service import Service
from tests.imports.conftest import CORPUS, RunImport, rows

HEADER = ["first_name", "last_name", "email", "phone", "company", "country", "created_on"]
LIMITS = readers.Limits(max_rows=1000, max_columns=50, max_cell_chars=10_000, max_xlsx_uncompressed_bytes=1)
#: Any text a file can hold (a NUL refuses the file, and a lone surrogate is not UTF-8).
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40)


def rejected_rows_file(header: list[str], lines: list[list[str]], delimiter: str = ",") -> bytes:
    out = report.RejectedRows(header, delimiter)
    try:
        for cells in lines:
            out.add(cells)
        return b"".join(out.stream())
    finally:
        out.close()


def read_back(data: bytes, tmp_path: pathlib.Path) -> tuple[list[str], list[list[str]]]:
    path = tmp_path / "again.csv"
    path.write_bytes(data)
    with readers.open_csv(path, LIMITS, encoding=None, delimiter=None, fallback="cp1252") as opened:
        return opened.header, [cells for _, _, batch in opened.chunks(100) for _, cells in batch]


def test_the_rejected_rows_neutralise_every_formula_and_quote_every_field(run_import: RunImport) -> None:
    result = run_import((CORPUS / "formulas.csv").read_bytes(), filename="formulas.csv")
    lines = result.file(model.FileKind.OUTPUT, "-rejected-rows.csv").decode("utf-8-sig").splitlines()
    assert lines[1] == '"Eve","Evil","\'=cmd|\' /C calc\'!A0","\'-2+3","\'+team","US",""'


def test_the_error_report_and_the_summary_quote_every_field(run_import: RunImport) -> None:
    result = run_import((CORPUS / "formulas.csv").read_bytes(), filename="formulas.csv")
    errors_csv = result.file(model.FileKind.ERROR_REPORT, "-errors.csv").decode("utf-8-sig").splitlines()
    assert errors_csv[0] == '"row","column","value","code","message"'
    assert errors_csv[1].startswith('"2","email","\'=cmd|\' /C calc\'!A0","bad_email",')
    summary = result.file(model.FileKind.OUTPUT, "-summary.csv").decode("utf-8-sig").splitlines()
    assert summary[-1] == '"Total","","","3","1","1","0","2",""'


def test_rejected_rows_uploaded_again_store_the_values_first_uploaded(run_import: RunImport, importer: Service) -> None:
    first = run_import((CORPUS / "formulas.csv").read_bytes(), filename="formulas.csv")
    again = first.file(model.FileKind.OUTPUT, "-rejected-rows.csv")
    # Fixed in a spreadsheet: the bad cells replaced whole, the protected ones left as they are.
    fixed = again.replace(b"'=cmd|' /C calc'!A0", b"eve@example.com").replace(b"'\tXX", b"GB")
    second = run_import(fixed, filename="formulas-rejected-rows.csv")
    assert second.job.description == "formulas-rejected-rows.csv: 2 imported, 0 rejected"
    by_email = {r["email"]: r for r in rows(importer)}
    assert (by_email["eve@example.com"]["phone"], by_email["eve@example.com"]["company"]) == ("-2+3", "+team")
    assert by_email["mallory@example.com"]["country"] == "GB"


@given(
    header=st.lists(ANY_TEXT, min_size=1, max_size=4),
    lines=st.lists(st.lists(ANY_TEXT, min_size=1, max_size=4), max_size=6),
    delimiter=st.sampled_from(readers.DELIMITERS),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_rejected_rows_file_reads_back_as_the_cells_it_was_given(
    header: list[str], lines: list[list[str]], delimiter: str, tmp_path: pathlib.Path
) -> None:
    header = ["key", *header]
    lines = [["k", *cells] for cells in lines]  # a row of empty cells is blank, and blank rows are skipped
    got_header, got_lines = read_back(rejected_rows_file(header, lines, delimiter), tmp_path)
    assert got_header == [cell.strip() for cell in header]
    assert got_lines == lines


@pytest.mark.slow
@given(values=st.lists(st.tuples(ANY_TEXT, ANY_TEXT), min_size=1, max_size=5))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_rejected_rows_of_any_text_imported_again_store_exactly_that_text(
    values: list[tuple[str, str]], run_import: RunImport, importer: Service
) -> None:
    lines = [["Ann", "Lee", f"ann{n}@example.com", phone, company, "", ""] for n, (phone, company) in enumerate(values)]
    result = run_import(rejected_rows_file(HEADER, lines), filename="contacts-rejected-rows.csv")
    assert result.status is model.Status.COMPLETED, result.job.error
    stored = {r["email"]: (r["phone"], r["company"]) for r in rows(importer)}
    for phone, company, email in ((line[3], line[4], line[2]) for line in lines):
        # phone and company are trimmed, as they are from any file, and empty is None
        assert stored[email] == (phone.strip() or None, company.strip() or None)
