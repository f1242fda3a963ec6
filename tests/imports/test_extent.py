"""An XLSX sheet's extent, read from its XML before calamine opens it: from its first to its last cell holding
something, and the range its `dimension` declares."""

from __future__ import annotations

import io
import pathlib
import zipfile

import pytest

from jobdeck import errors, model
from jobdeck.imports import sheets, xlsx
from jobdeck.imports.readers import Limits
from tests.imports import hostile
from tests.imports.conftest import RunImport

LIMITS = Limits(max_rows=1000, max_columns=20, max_cell_chars=10_000, max_xlsx_uncompressed_bytes=500 * 1024 * 1024)


def measured(data: bytes) -> sheets.Extent:
    archive = zipfile.ZipFile(io.BytesIO(data))
    name = next(iter(sheets.sheet_parts(archive).values()))
    assert name == "xl/worksheets/sheet1.xml"
    return sheets.sheet_extent(archive, name, LIMITS.max_xlsx_uncompressed_bytes)


def checked(data: bytes, path: pathlib.Path) -> None:
    path.write_bytes(data)
    xlsx.check_xlsx(path, LIMITS)


def test_the_largest_cell_reference_is_the_extent() -> None:
    found = measured(hostile.far_cell())
    assert (found.rows, found.columns) == (1_048_576, 16_384)


def test_the_declared_dimension_is_read() -> None:
    found = measured(hostile.huge_dimension())
    assert (found.declared_rows, found.declared_columns, found.rows, found.columns) == (1_048_576, 16_384, 2, 7)


def test_cells_and_rows_without_references_take_the_next_positions() -> None:
    rows = "<row><c><v>1</v></c><c><v>2</v></c><c/></row><row/><row><c/><c/><c><v>3</v></c></row>"
    found = measured(hostile.xlsx([hostile.sheet(rows)]))
    assert (found.rows, found.columns) == (3, 3)


def test_the_extent_runs_from_the_first_to_the_last_cell_holding_something() -> None:
    rows = '<row r="3"><c r="C3"/><c r="D3"><v>1</v></c></row><row r="9"><c r="F9"><v>2</v></c><c r="Z9"/></row>'
    found = measured(hostile.xlsx([hostile.sheet(rows)]))
    assert (found.rows, found.columns) == (7, 3)


def test_a_namespace_prefix_does_not_hide_a_cell() -> None:
    cells = '<x:c r="A1"><x:v>1</x:v></x:c><x:c r="AB7"><x:v>2</x:v></x:c>'
    part = f'<x:worksheet xmlns:x="m"><x:sheetData><x:row r="1">{cells}</x:row></x:sheetData></x:worksheet>'
    found = measured(hostile.xlsx([part.encode()]))
    assert (found.rows, found.columns) == (7, 28)


def test_a_sheet_within_the_limits_passes(tmp_path: pathlib.Path) -> None:
    checked(hostile.xlsx([hostile.contacts_sheet()]), tmp_path / "book.xlsx")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (hostile.far_cell(), "The sheet has 16,384 columns, over the limit of 20 (JOBDECK_IMPORT_MAX_COLUMNS)."),
        (hostile.xlsx([hostile.sheet(dimension="A1:B5000")]), "The sheet has 4,999 rows, over the limit of 1,000"),
        (hostile.xlsx([hostile.sheet('<row r="99999999999999"><c><v>1</v></c></row>')]), "more than 1,048,576 rows"),
    ],
)
def test_a_sheet_beyond_a_limit_is_refused_with_the_limit_named(
    data: bytes, message: str, tmp_path: pathlib.Path
) -> None:
    with pytest.raises(errors.ImportRejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        checked(data, tmp_path / "book.xlsx")


def test_only_the_sheet_to_be_read_is_measured(tmp_path: pathlib.Path) -> None:
    data = hostile.xlsx([hostile.contacts_sheet(), hostile.sheet(dimension="A1:XFD1048576")])
    checked(data, tmp_path / "book.xlsx")
    with pytest.raises(errors.ImportRejected, match="The sheet has 16,384 columns"):
        xlsx.check_xlsx(tmp_path / "book.xlsx", LIMITS, "S2")


def test_the_small_file_that_once_stopped_the_server_now_fails_its_job(run_import: RunImport) -> None:
    far = '<row r="200000"><c r="XFD200000"><v>1</v></c></row>'
    result = run_import(hostile.xlsx([hostile.contacts_sheet(extra_rows=far)]), filename="contacts.xlsx")
    assert result.status is model.Status.FAILED
    assert result.job.error == "The sheet has 16,384 columns, over the limit of 200 (JOBDECK_IMPORT_MAX_COLUMNS)."
