"""Reading CSV files: the delimiter, a header over the limits, and NUL bytes wherever they sit."""

from __future__ import annotations

import io
import pathlib

import pytest

from jobdeck import errors, model
from jobdeck.imports import readers
from jobdeck.query import JobQuery
from jobdeck.service import Service
from tests.imports.conftest import RunImport, contacts_csv, rows

LIMITS = readers.Limits(max_rows=1000, max_columns=200, max_cell_chars=10_000, max_xlsx_uncompressed_bytes=1)
VALID = "Ada,Lovelace,ada{n}@example.com,,,GB,"


def open_header(data: bytes, tmp_path: pathlib.Path) -> list[str]:
    path = tmp_path / "file.csv"
    path.write_bytes(data)
    with readers.open_csv(path, LIMITS, encoding=None, delimiter=None, fallback="cp1252") as opened:
        readers.check_columns(opened.header, LIMITS)
        return opened.header


def test_a_header_line_over_the_cell_limit_with_many_columns_fails_with_the_column_limit(
    tmp_path: pathlib.Path,
) -> None:
    header = ",".join(f"column{n:05}" for n in range(1200))  # 14,399 characters, no cell over 11
    with pytest.raises(errors.ImportRejected) as refused:
        open_header(header.encode() + b"\r\n1,2\r\n", tmp_path)
    assert refused.value.message == ("The file has 1,200 columns, over the limit of 200 (JOBDECK_IMPORT_MAX_COLUMNS).")


def test_a_header_cell_over_the_cell_limit_fails_with_the_cell_limit(tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.ImportRejected) as refused:
        open_header(b"x" * 10_001 + b"\r\n1\r\n", tmp_path)
    assert refused.value.message == (
        "The header row has a cell longer than the limit of 10,000 characters (JOBDECK_IMPORT_MAX_CELL_CHARS)."
    )


def test_an_import_with_a_header_line_over_the_cell_limit_fails_naming_the_column_limit(
    run_import: RunImport, importer: Service
) -> None:
    header = ",".join(["first_name", "last_name", "email", *(f"extra{n:05}" for n in range(1200))])
    result = run_import(contacts_csv(VALID.format(n=1), header=header))
    assert result.status is model.Status.FAILED
    assert result.job.error == "The file has 1,203 columns, over the limit of 200 (JOBDECK_IMPORT_MAX_COLUMNS)."
    assert rows(importer) == []


def test_a_quoted_cell_holding_a_comma_does_not_make_the_comma_the_delimiter() -> None:
    assert readers.detect_delimiter('"name";"size, in cm"\r\n"a";"1"\r\n') == ";"


def test_a_header_cell_holding_a_line_break_is_one_cell_for_detection() -> None:
    assert readers.detect_delimiter('"first\nname"|"b"|"c"\r\n') == "|"


def test_a_delimiter_that_leaves_a_cell_over_the_limit_is_passed_over() -> None:
    assert readers.detect_delimiter(";".join(["y" * 2000] * 6) + "\r\n") == ";"


class TestNulBytes:
    """One rule wherever a NUL sits: the file is refused, naming the first row that holds one."""

    def test_in_the_first_bytes_refuses_the_upload_naming_the_row(
        self, importer: Service, uploader: model.User
    ) -> None:
        data = contacts_csv(VALID.format(n=1), "Bad\x00Name,X,b@example.com,,,GB,")
        with pytest.raises(errors.InvalidParams) as refused:
            importer.start_import(uploader, io.BytesIO(data), "contacts.csv", "contacts")
        assert refused.value.message == (
            "contacts.csv cannot be imported: it contains NUL bytes (first in row 2), so it is binary, not a CSV "
            "file (or UTF-16 without a byte order mark: name its encoding on upload)."
        )
        assert importer.list_jobs(uploader, JobQuery()).items == []

    def test_in_the_header_names_the_header(self) -> None:
        assert readers.sniff(b"first_name,\x00\r\n", "contacts.csv") == (
            "it contains NUL bytes (in its header row), so it is binary, not a CSV file "
            "(or UTF-16 without a byte order mark: name its encoding on upload)"
        )

    def test_far_into_the_file_refuses_it_the_same_way_and_writes_nothing(
        self, run_import: RunImport, importer: Service
    ) -> None:
        lines = [VALID.format(n=n) for n in range(1, 301)]  # about 12 KB before the NUL
        lines.append("Bad\x00Name,X,b@example.com,,,GB,")
        result = run_import(contacts_csv(*lines))
        assert result.status is model.Status.FAILED
        assert result.job.error == (
            "The file cannot be imported: it contains NUL bytes (first in row 301), so it is binary, not a CSV "
            "file (or UTF-16 without a byte order mark: name its encoding on upload)."
        )
        assert rows(importer) == []
        assert list(result.files) == [model.FileKind.INPUT]  # no report, so no raw NUL copied into one

    def test_a_row_after_the_limit_is_named_by_its_number_after_blank_lines_and_quoted_breaks(
        self, tmp_path: pathlib.Path
    ) -> None:
        filler = "".join(f'"line\nbreak {n}",x\r\n' for n in range(600))  # rows 1-600, two lines each
        data = f"a,b\r\n{filler}\r\nq,\x00\r\n".encode()  # a blank row 601, then row 602
        with pytest.raises(errors.ImportRejected, match=r"\(first in row 602\)"):
            open_header(data, tmp_path)


def read_chunks(data: bytes, tmp_path: pathlib.Path, size: int) -> list[readers.Chunk]:
    """Every chunk of a CSV as (first row, last row, [(row number, cells)…]), read `size` records at a time."""
    path = tmp_path / "file.csv"
    path.write_bytes(data)
    with readers.open_csv(path, LIMITS, encoding=None, delimiter=",", fallback="cp1252") as opened:
        return list(opened.chunks(size))


def test_chunks_hold_rows_by_number_and_blank_rows_keep_their_numbers(tmp_path: pathlib.Path) -> None:
    data = b"a,b\r\n1,x\r\n,\r\n3,x\r\n4,x\r\n\r\n,\r\n7,x\r\n"
    chunks = read_chunks(data, tmp_path, 2)
    assert [(first, last, [n for n, _ in batch]) for first, last, batch in chunks] == [
        (1, 1, [1]),
        (3, 4, [3, 4]),
        (7, 7, [7]),  # rows 5 and 6 are blank: their chunk is not sent at all
    ]
    assert chunks[1][2] == [(3, ["3", "x"]), (4, ["4", "x"])]


def test_a_row_that_cannot_be_read_just_after_a_full_chunk_is_named_once_that_chunk_is_out(
    tmp_path: pathlib.Path,
) -> None:
    data = b"a,b\r\n1,x\r\n2,x\r\n3," + b"y" * 10_001 + b"\r\n"
    path = tmp_path / "file.csv"
    path.write_bytes(data)
    with readers.open_csv(path, LIMITS, encoding=None, delimiter=",", fallback="cp1252") as opened:
        reading = opened.chunks(2)
        assert next(reading) == (1, 2, [(1, ["1", "x"]), (2, ["2", "x"])])
        with pytest.raises(errors.ImportRejected) as refused:
            next(reading)
    assert refused.value.message == (
        "Row 3 has a cell longer than the limit of 10,000 characters (JOBDECK_IMPORT_MAX_CELL_CHARS)."
    )


def test_a_quote_left_open_in_the_last_full_chunk_is_named_before_that_chunk_is_sent(
    tmp_path: pathlib.Path,
) -> None:
    data = b'a,b\r\n1,x\r\n2,"never closed\r\nmore\r\n'
    with pytest.raises(errors.ImportRejected) as refused:
        read_chunks(data, tmp_path, 2)
    assert refused.value.message == "Row 2: a quote opens here and never closes."
