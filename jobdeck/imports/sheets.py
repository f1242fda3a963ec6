"""An XLSX workbook's sheets before calamine opens them: their names, their XML parts and their real extent.

Calamine allocates a sheet as one dense grid from its first to its last cell: a workbook holding `A1`
and `XFD1048576` asks for 17 billion cells and aborts the process. The extent is therefore read from
the sheet's XML first, streamed, counting only cells that hold something, and an absurd one refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO

from jobdeck import errors
from jobdeck.imports.readers import Limits

#: A sheet spanning more cells than this (first to last, rows times columns) is refused: calamine holds
#: about 32 bytes a cell, so this is some 640 MB, far beyond any sheet that fits the upload limit densely.
MAX_SHEET_CELLS = 20_000_000
_READ_BYTES = 1024 * 1024
#: Excel's last row and column: a cell past them is in no valid sheet.
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
_SHEET = re.compile(r"<(?:\w+:)?sheet\b([^>]*)>")
_RELATIONSHIP = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)>")
_ATTRIBUTE = re.compile(r'([\w:]+)\s*=\s*"([^"]*)"')
#: A tag cut by the end of a block is carried over to the next; no tag read here is this long.
_MAX_TAG_BYTES = 64 * 1024
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(dimension|row|c)\b([^<>]*)>")
_R = re.compile(rb"""(?:^|\s)r\s*=\s*["']([^"']*)["']""")
_REF = re.compile(rb"\$?([A-Za-z]*)\$?(\d*)")
#: Past this many digits or letters a reference is simply "too far"; it is never turned into a number.
_FAR = 10**12


#: What reading a damaged ZIP member raises, besides BadZipFile.
_BROKEN = (zipfile.BadZipFile, zlib.error, KeyError, NotImplementedError, EOFError, OSError, ValueError)


@contextlib.contextmanager
def readable(what: str) -> Iterator[None]:
    """A damaged archive as the user's problem (ImportRejected), whatever part of zipfile notices it."""
    try:
        yield
    except errors.ImportRejected:
        raise
    except _BROKEN:
        raise errors.ImportRejected(
            f"The file cannot be imported: {what} is damaged, so it is not a valid XLSX file."
        ) from None


def _attributes(text: str) -> dict[str, str]:
    return {name.rsplit(":", 1)[-1] if ":" in name else name: html.unescape(v) for name, v in _ATTRIBUTE.findall(text)}


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Each sheet's name and the ZIP member holding its XML, in the workbook's order."""
    with readable("its list of sheets"):
        workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    targets = {}
    for match in _RELATIONSHIP.finditer(rels):
        attrs = _attributes(match.group(1))
        target = attrs.get("Target", "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        targets[attrs.get("Id", "")] = part
    parts = {}
    for match in _SHEET.finditer(workbook):
        raw = dict(_ATTRIBUTE.findall(match.group(1)))
        # The relationship id is the prefixed `id` attribute (r:id); `sheetId` is another thing.
        rel = next((html.unescape(v) for k, v in raw.items() if ":" in k and k.endswith(":id")), "")
        name = html.unescape(raw.get("name", ""))
        if name and rel in targets:
            parts[name] = targets[rel]
    return parts


@dataclasses.dataclass
class Extent:
    """A sheet's extent: rows and columns from its first to its last cell holding something, and the range its
    `dimension` element declares (calamine may size the sheet by either)."""

    rows: int = 0
    columns: int = 0
    declared_rows: int = 0
    declared_columns: int = 0
    last_row: int = 0  #: the last cell's row number: past Excel's last row, no sheet is valid
    last_column: int = 0


def _tags(f: IO[bytes], max_bytes: int) -> Iterator[tuple[bytes, bytes]]:
    """(tag name, attribute text) of the tags read here, in order, streamed; a tag cut by the end of a block
    is carried over to the next."""
    carry, seen = b"", 0
    while block := f.read(_READ_BYTES):
        seen += len(block)
        if seen > max_bytes:
            raise errors.ImportRejected("The XLSX file unpacks to more than its parts declare; it is not valid.")
        data = carry + block
        cut = data.rfind(b"<")
        if cut == -1 or data.find(b">", cut) != -1:
            cut = len(data)
        for match in _TAG.finditer(data, 0, cut):
            yield match.group(1), match.group(2)
        carry = data[cut:] if len(data) - cut <= _MAX_TAG_BYTES else b""
    for match in _TAG.finditer(carry):
        yield match.group(1), match.group(2)


def _ref(ref: bytes) -> tuple[int, int]:
    """(column, row) of a reference such as b"XFD1048576"; a part that is absent is 0, an absurd one _FAR."""
    match = _REF.fullmatch(ref.strip())
    if not match:
        return _FAR, _FAR
    letters, digits = match.group(1).upper(), match.group(2)
    column = _column_number(letters[:8]) if len(letters) <= 8 else _FAR
    row = (int(digits) if len(digits) <= 12 else _FAR) if digits else 0
    return column, row


def _r(text: bytes) -> bytes | None:
    """The `r` attribute (a cell's reference, a row's number): one search, this runs for every cell."""
    match = _R.search(text)
    return match.group(1) if match else None


def sheet_extent(archive: zipfile.ZipFile, part: str, max_bytes: int) -> Extent:
    """The sheet's extent, read from its XML without building a tree. A cell or row without a reference takes
    the next position, as calamine places it; a cell counts when it is not an empty `<c/>`."""
    extent = Extent()
    top = left = _FAR
    bottom = right = row = column = 0
    with readable(f"the sheet {part!r}"), archive.open(part) as f:
        for tag, text in _tags(f, max_bytes):
            if tag == b"c":
                ref = _r(text)
                if ref is None:
                    column += 1
                else:
                    column, at = _ref(ref)
                    row = at or row
                if not text.rstrip().endswith(b"/"):
                    top, bottom, left, right = min(top, row), max(bottom, row), min(left, column), max(right, column)
            elif tag == b"row":
                number = _r(text)
                row = (int(number) if number.isdigit() and len(number) <= 12 else _FAR) if number else row + 1
                column = 0
            elif tag == b"dimension":
                first, _, last = (_attributes(text.decode("utf-8", "replace")).get("ref") or "").partition(":")
                (c1, r1), (c2, r2) = _ref(first.encode()), _ref((last or first).encode())
                extent.declared_columns, extent.declared_rows = c2 - min(c1, c2) + 1, r2 - min(r1, r2) + 1
    if bottom:
        extent.rows, extent.columns = bottom - top + 1, right - left + 1
        extent.last_row, extent.last_column = bottom, right
    return extent


def check_sheet(archive: zipfile.ZipFile, name: str, part: str, limits: Limits) -> None:
    """Refuse a sheet whose extent (found or declared) is over the column or row limit, or too many cells for
    memory, before calamine allocates it."""
    extent = sheet_extent(archive, part, limits.max_xlsx_uncompressed_bytes)
    columns = max(extent.columns, extent.declared_columns)
    rows = max(extent.rows, extent.declared_rows) - 1  # the header is not a row
    if extent.last_column > EXCEL_COLUMNS:
        columns = max(columns, _FAR)
    if extent.last_row > EXCEL_ROWS:
        rows = max(rows, _FAR)
    if columns > limits.max_columns:
        shown = f"{columns:,}" if columns < _FAR else "more than 16,384"
        raise errors.ImportRejected(
            f"The sheet has {shown} columns, over the limit of {limits.max_columns:,} (JOBDECK_IMPORT_MAX_COLUMNS)."
        )
    if rows > limits.max_rows:
        shown = f"{rows:,}" if rows < _FAR - 1 else "more than 1,048,576"
        raise errors.ImportRejected(
            f"The sheet has {shown} rows, over the limit of {limits.max_rows:,} (JOBDECK_IMPORT_MAX_ROWS)."
        )
    if (rows + 1) * columns > MAX_SHEET_CELLS:
        raise errors.ImportRejected(
            f"The sheet {name!r} spans {rows + 1:,} rows by {columns:,} columns, more than {MAX_SHEET_CELLS:,} "
            "cells; delete the stray cells far below or to the right."
        )
