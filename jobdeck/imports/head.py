"""The first rows of a file, as read and bounded: a CSV's head under a delimiter, an XLSX sheet's first rows.

Rows come back as lists of strings, blank rows included (a CSV blank line is `[]`), so that row N of
the list is what the user sees as row N of the file or the sheet.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import io
import pathlib
import re
import zipfile
from collections.abc import Iterator

from jobdeck import errors
from jobdeck.imports import readers, sheets, textscan, xlsx
from jobdeck.imports.readers import Limits

#: Characters of a CSV's text read for a preview: enough for the head of any file within the cell limit.
HEAD_CHARS = 4 * 1024 * 1024
_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclasses.dataclass(frozen=True)
class CsvHead:
    """A CSV file's text head and what the readers' detection said about it."""

    text: str
    complete: bool  #: the whole file is in `text`
    encoding: str
    from_fallback: bool  #: read in the fallback encoding because it is not UTF-8 (a hint is due if nothing matches)
    sample: bytes  #: the first bytes, for an encoding hint


def read_csv_head(path: pathlib.Path, encoding: str | None, fallback: str) -> CsvHead:
    """The head of a CSV's text, its encoding found by the readers' own detection."""
    with open(path, "rb") as f:
        sample = f.read(64 * 1024)
    if not sample:
        raise errors.ImportRejected("The file is empty.")
    problem = readers.sniff(sample[:512], "file.csv")
    if problem:
        raise errors.ImportRejected(f"The file cannot be imported: {problem}.")
    chosen, _scan = textscan.detect_encoding(path, encoding, fallback)
    with open(path, encoding=chosen, newline="") as f:
        text = f.read(HEAD_CHARS)
        complete = not f.read(1)
    from_fallback = encoding is None and chosen == codecs.lookup(fallback).name and chosen != "utf-8"
    return CsvHead(text, complete, chosen, from_fallback, sample)


def _line_offset(text: str, line: int) -> int:
    """Where line `line` (1-based, as the csv module counts) starts in `text`."""
    if line <= 1:
        return 0
    for n, found in enumerate(_NEWLINE.finditer(text), start=2):
        if n == line:
            return found.end()
    return len(text)


def csv_rows(head: CsvHead, delimiter: str, limits: Limits, count: int, *, lenient: bool = False) -> list[list[str]]:
    """Up to `count` rows of the head split by `delimiter`; a row the head cuts short is left out.

    `lenient`: a row that cannot be read ends the rows (when some were read) instead of raising, for the
    import, which needs only the header here and names a bad row by its number when it reaches it."""
    csv.field_size_limit(limits.max_cell_chars)  # as readers.open_csv does: the limit is process-wide
    reader = csv.reader(io.StringIO(head.text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    start = last = 1
    while len(rows) < count:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            if not head.complete and rows:
                rows.pop()  # the last row may continue past what was read
            elif rows and not lenient and _ends_in_quote(head.text[_line_offset(head.text, last) :], delimiter):
                raise errors.ImportRejected(f"Line {last}: a quote opens here and never closes.") from None
            break
        except csv.Error as exc:
            if lenient and rows:
                break
            raise errors.ImportRejected(_csv_problem(head.text, start, str(exc), limits)) from None
        if lenient and rows and len(row) > limits.max_columns:
            break
        readers.check_columns(row, limits)
        rows.append(row)
        last = start
    return rows


def _ends_in_quote(rest: str, delimiter: str) -> bool:
    """Whether the file's last record ends inside a quoted cell (the csv module's lenient mode does not say)."""
    try:
        for _row in csv.reader(io.StringIO(rest, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _csv_problem(text: str, line: int, message: str, limits: Limits) -> str:
    rest = text[_line_offset(text, line) :]
    if "field limit" in message and rest.count('"') % 2:
        return f"Line {line}: a quote opens here and never closes."
    if "field limit" in message:
        return (
            f"Line {line} has a cell longer than the limit of {limits.max_cell_chars:,} characters "
            "(JOBDECK_IMPORT_MAX_CELL_CHARS)."
        )
    return f"Line {line} cannot be read as CSV: {message}."


@dataclasses.dataclass(frozen=True)
class SheetInfo:
    name: str
    visible: bool  #: a visible worksheet (not hidden, not a chart sheet): the ones chosen automatically


class Workbook:
    """An XLSX file opened for previews: its sheets listed, each read only as far as its first rows."""

    def __init__(self, path: pathlib.Path, limits: Limits) -> None:
        import python_calamine

        with sheets.readable("the archive"):  # check_xlsx lets zipfile's NotImplementedError through
            xlsx.check_xlsx(path, limits)  # the ZIP bomb check the import itself makes
            self.archive = zipfile.ZipFile(path)
        self.limits = limits
        try:
            self.parts = sheets.sheet_parts(self.archive)
            self.book = python_calamine.CalamineWorkbook.from_path(str(path))
            meta = self.book.sheets_metadata
        except errors.ImportRejected:
            self.archive.close()
            raise
        except Exception as exc:  # calamine raises its own hierarchy and plain ValueErrors
            self.archive.close()
            message = f"The file cannot be imported: it is not a readable XLSX file ({exc})."
            raise errors.ImportRejected(message) from None
        self.sheets = [
            SheetInfo(m.name, str(m.visible).endswith("Visible") and str(m.typ).endswith("WorkSheet")) for m in meta
        ]

    def close(self) -> None:
        self.book.close()
        self.archive.close()

    def rows(self, name: str, count: int) -> list[list[str]]:
        """The sheet's first `count` rows as text, row 1 being the sheet's row 1 and cell 0 its first used
        column, after its extent is checked."""
        part = self.parts.get(name)
        if part is None:
            raise errors.ImportRejected(f"The sheet {name!r} cannot be read: the workbook does not say where it is.")
        sheets.check_sheet(self.archive, name, part, self.limits)
        try:
            sheet = self.book.get_sheet_by_name(name)
            values = sheet.to_python(skip_empty_area=False, nrows=count)
        except Exception as exc:  # calamine's errors, as above
            raise errors.ImportRejected(f"The sheet {name!r} cannot be read ({exc}).") from None
        # Cells start at the sheet's first used column, as calamine's iter_rows (what the import reads) has them,
        # so a position in the mapping is a position in the import's rows; rows keep the sheet's numbers.
        left = sheet.start[1] if sheet.start else 0
        rows = []
        for raw in values:
            cells = [xlsx.xlsx_cell(v) for v in raw[left:]]
            while cells and not cells[-1]:
                cells.pop()
            rows.append(cells)
        return rows


@contextlib.contextmanager
def open_workbook(path: pathlib.Path, limits: Limits) -> Iterator[Workbook]:
    book = Workbook(path, limits)
    try:
        yield book
    finally:
        book.close()
