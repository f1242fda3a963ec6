"""Reading files: limits, sniffing and chunks for every reader, and CSV with encoding and delimiter detection."""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import functools
import io
import itertools
import pathlib
from collections.abc import Callable, Iterator
from typing import IO, Any

from jobdeck import csvsafe, errors
from jobdeck.imports import magic
from jobdeck.imports.textscan import detect_encoding, nul_problem, nul_row
from jobdeck.settings import Settings

#: The only delimiters detection chooses among, in the order that breaks ties.
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
SNIFF_CHARS = 64 * 1024
READ_CHARS = 1024 * 1024

Batch = list[tuple[int, list[str]]]
Chunk = tuple[int, int, Batch]


@dataclasses.dataclass(frozen=True)
class Limits:
    max_rows: int
    max_columns: int
    max_cell_chars: int
    max_xlsx_uncompressed_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_rows=settings.import_max_rows,
            max_columns=settings.import_max_columns,
            max_cell_chars=settings.import_max_cell_chars,
            max_xlsx_uncompressed_bytes=settings.import_max_xlsx_uncompressed_mb * 1024 * 1024,
        )


@dataclasses.dataclass
class Opened:
    """An open file: its header, its rows as (row number, cells), and what was detected about it."""

    header: list[str]
    #: the rows in chunks of a given size, as (first row, last row, [(row number, cells)…]); row 1 is the
    #: first line after the header; blank rows are skipped but keep their numbers, so chunks never shift
    chunks: Callable[[int], Iterator[Chunk]]
    estimated_rows: int  #: for progress; exact for XLSX, an upper bound for CSV
    encoding: str | None = None
    delimiter: str | None = None


def is_xlsx(filename: str) -> bool:
    return filename.lower().endswith(XLSX_SUFFIXES)


def kind_of(filename: str) -> str | None:
    """ "csv", "xlsx", or None for a file name jobdeck does not import."""
    lower = filename.lower()
    if lower.endswith(CSV_SUFFIXES):
        return "csv"
    if lower.endswith(XLSX_SUFFIXES):
        return "xlsx"
    return None


def sniff(head: bytes, filename: str) -> str | None:
    """Why the first bytes show this is not the file its name says (None when they look right)."""
    if kind_of(filename) == "xlsx":
        if head.startswith(magic.OLE2_MAGIC):
            return "it is an old Excel (.xls) workbook named .xlsx; open it in Excel and save it as .xlsx or CSV"
        return None if head.startswith(b"PK\x03\x04") else "it is not an XLSX file (an XLSX file is a ZIP archive)"
    for number, what in magic.FOREIGN_MAGIC:
        if head.startswith(number):
            return f"it looks like {what}, not a CSV file"
    if not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and b"\x00" in head:
        # Every byte is a character in latin-1: the rows are counted as a text file's would be.
        row = nul_row(csv.reader(io.StringIO(head.decode("latin-1"), newline="")))
        return nul_problem(row or 0)
    return None


def detect_delimiter(sample: str) -> str:
    """The candidate that splits the header row into the most fields (comma, then semicolon, tab, pipe on a tie).

    Candidates are tried strictly first: one that leaves a quoted field malformed (`"a";"b,c"` read with
    commas) cannot be the file's delimiter, nor can one that leaves a cell over the cell limit. When no
    candidate reads strictly, they are counted leniently, as the reader will read the file."""
    for strict in (True, False):
        best, best_fields, read = ",", 1, False
        for candidate in DELIMITERS:
            try:
                rows = csv.reader(io.StringIO(sample, newline=""), delimiter=candidate, strict=strict)
                header = next((row for row in rows if any(row)), [])
            except csv.Error:
                continue
            read = True
            if len(header) > best_fields:
                best, best_fields = candidate, len(header)
        if read:
            return best
    return ","


def _csv_rows(reader: Any, limits: Limits) -> Iterator[tuple[int, list[str]]]:
    number = 0
    with _readable(limits, lambda: "The header row"):
        for row in reader:
            number += 1
            if any(row):
                yield number, row


def _csv_chunks(reader: Any, limits: Limits, size: int, unclosed: Callable[[int], bool]) -> Iterator[Chunk]:
    """The records after the header in chunks of `size` records (blank ones skipped, keeping their numbers): the
    hot path of a big import, so a chunk is read with one `islice` and numbered with one `zip`, not row by row.

    `unclosed(n)` tells whether row n opens a quote that never closes: the csv module reads such a quote
    as one cell running to the cell limit or, short of it, to the end of the file."""
    done = 0  # records in the chunks before `rows`
    rows: list[list[str]] = []

    def reading() -> int:  # the record being read, when one cannot be
        return done + len(rows) + 1

    with _readable(limits, lambda: f"Row {reading():,}", lambda: unclosed(reading())):
        carry: list[list[str]] = []
        while True:
            rows = carry
            # extend() keeps the records read before a bad one, so reading() names the bad one
            rows.extend(itertools.islice(reader, size - len(rows)))
            if not rows:
                return
            carry, failed = _peek(reader) if len(rows) == size else ([], None)
            batch = _numbered(done + 1, rows)
            if batch:
                last, cells = batch[-1]
                if not carry and failed is None and _multiline(cells) and unclosed(last):
                    raise errors.ImportRejected(f"Row {last:,}: a quote opens here and never closes.")
                yield done + 1, last, batch
            if failed is not None:  # the record after a full chunk is unreadable: named once that chunk is out
                raise failed
            done += len(rows)


def _peek(reader: Any) -> tuple[list[list[str]], csv.Error | None]:
    """The next record (none at the end) or the error reading it: whether the chunk just read is the last."""
    try:
        return list(itertools.islice(reader, 1)), None
    except csv.Error as exc:
        return [], exc


def _numbered(first: int, rows: list[list[str]]) -> Batch:
    """Rows numbered from `first`, the blank ones left out (at C speed when there are none)."""
    if all(map(any, rows)):
        return list(zip(range(first, first + len(rows)), rows, strict=True))
    return [(number, cells) for number, cells in enumerate(rows, start=first) if any(cells)]


def _multiline(cells: list[str]) -> bool:
    return any("\n" in cell or "\r" in cell for cell in cells)


@contextlib.contextmanager
def _readable(limits: Limits, where: Callable[[], str], unclosed: Callable[[], bool] | None = None) -> Iterator[None]:
    """The csv module's errors as messages naming the row (and the limit, for an over-long cell, unless
    `unclosed` says the cell is a quote that never closes)."""
    try:
        yield
    except csv.Error as exc:
        if "field limit" in str(exc) and unclosed is not None and unclosed():
            raise errors.ImportRejected(f"{where()}: a quote opens here and never closes.") from None
        if "field limit" in str(exc):
            raise errors.ImportRejected(
                f"{where()} has a cell longer than the limit of {limits.max_cell_chars:,} characters "
                "(JOBDECK_IMPORT_MAX_CELL_CHARS)."
            ) from None
        raise errors.ImportRejected(f"{where()} cannot be read as CSV: {exc}.") from None


def _count_rows(path: pathlib.Path, encoding: str, delimiter: str) -> int:
    with open(path, encoding=encoding, newline="") as f:
        return sum(1 for row in csv.reader(f, delimiter=delimiter) if any(row)) - 1


@contextlib.contextmanager
def open_csv(
    path: pathlib.Path,
    limits: Limits,
    *,
    encoding: str | None,
    delimiter: str | None,
    fallback: str,
    header_row: int | None = None,
) -> Iterator[Opened]:
    """The file opened as CSV: its header is record `header_row` (1-based, blank records counted), or the
    first non-blank one."""
    with open(path, "rb") as f:
        problem = sniff(f.read(512), "file.csv")
    if problem:
        raise errors.ImportRejected(f"The file cannot be imported: {problem}.")
    chosen, scan = detect_encoding(path, encoding, fallback)
    newlines = scan.newlines
    # The csv module's limit is process-wide; imports all share the same setting.
    csv.field_size_limit(limits.max_cell_chars)
    with open(path, encoding=chosen, newline="") as f:
        if not delimiter:
            delimiter = detect_delimiter(f.read(SNIFF_CHARS))
            f.seek(0)
        if scan.nul:
            _refuse_nul(f, delimiter)
        if newlines > limits.max_rows and _count_rows(path, chosen, delimiter) > limits.max_rows:
            raise errors.ImportRejected(
                f"The file has more than {limits.max_rows:,} rows, the limit (JOBDECK_IMPORT_MAX_ROWS)."
            )
        reader: Iterator[list[str]] = csv.reader(f, delimiter=delimiter)
        if scan.protected:  # only then: a file without "'=", "'+"… anywhere reads at full speed
            reader = map(csvsafe.unprotect_row, reader)
        header, above = _header_at(reader, limits, header_row)
        unclosed = functools.partial(_opens_unclosed_quote, path, chosen, delimiter, above)
        yield Opened(
            header=[cell.strip() for cell in header],
            chunks=functools.partial(_csv_chunks, reader, limits, unclosed=unclosed),
            estimated_rows=max(newlines, 1),
            encoding=chosen,
            delimiter=delimiter,
        )


def _header_at(reader: Iterator[list[str]], limits: Limits, header_row: int | None) -> tuple[list[str], int]:
    """The header record, the records above it read past, and how many records that took."""
    if header_row is None:
        found = next(_csv_rows(reader, limits), None)
        if found is None:
            raise errors.ImportRejected("The file is empty: it has no header row.")
        return found[1], found[0]
    with _readable(limits, lambda: f"Line {header_row:,}"):
        cells = next(itertools.islice(reader, header_row - 1, None), None)
    if cells is None:
        raise errors.ImportRejected(
            f"The file has fewer than {header_row:,} lines, so line {header_row:,} cannot be the header."
        )
    if not any(cells):
        raise errors.ImportRejected(f"Line {header_row:,} is blank, so it cannot be the header.")
    return cells, header_row


def _opens_unclosed_quote(path: pathlib.Path, encoding: str, delimiter: str, above: int, row: int) -> bool:
    """Whether data row `row` (1 is the first after the `above` records up to the header) opens a quote that
    is still open at the end of the file: the quotes from its start on are odd in number. Read only when
    a row went wrong, so it may read the file again."""
    with open(path, encoding=encoding, newline="") as f:
        for _ in itertools.islice(csv.reader(f, delimiter=delimiter), above + row - 1):
            pass
        quotes = 0
        while block := f.read(READ_CHARS):
            quotes += block.count('"')
    return quotes % 2 == 1


def _refuse_nul(f: IO[str], delimiter: str) -> None:
    """A NUL anywhere refuses the file, naming the first row that holds one (the same rule as at upload)."""
    try:
        found = nul_row(csv.reader(f, delimiter=delimiter))
    except csv.Error:
        found = None  # a row before the NUL cannot be read: reading the file names that row and why
    f.seek(0)
    if found is not None:
        raise errors.ImportRejected(f"The file cannot be imported: {nul_problem(found)}.")


def check_columns(header: list[str], limits: Limits) -> None:
    if len(header) > limits.max_columns:
        raise errors.ImportRejected(
            f"The file has {len(header):,} columns, over the limit of {limits.max_columns:,} "
            "(JOBDECK_IMPORT_MAX_COLUMNS)."
        )
