"""An XLSX workbook's sheets before calamine opens them: their names, their XML parts and their real extent.

Calamine allocates a sheet as one dense grid from its first to its last cell: a workbook holding `A1`
and `XFD1048576` asks for 17 billion cells and aborts the process. The extent is therefore read from
the sheet's XML first, streamed, counting only cells that hold something, and an absurd one refused.
"""

from __future__ import annotations

import contextlib
import html
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator

from jobdeck import errors
from jobdeck.imports.readers import Limits

#: A sheet spanning more cells than this (first to last, rows times columns) is refused: calamine holds
#: about 32 bytes a cell, so this is some 640 MB, far beyond any sheet that fits the upload limit densely.
MAX_SHEET_CELLS = 20_000_000
_READ_BYTES = 1024 * 1024
_OVERLAP = 512  #: bytes kept from the previous block, so a tag split between two blocks is still seen
_SHEET = re.compile(r"<(?:\w+:)?sheet\b([^>]*)>")
_RELATIONSHIP = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)>")
_ATTRIBUTE = re.compile(r'([\w:]+)\s*=\s*"([^"]*)"')
#: A cell with content (not self-closing) and its reference, such as `<c r="B12" t="s">`.
_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"[^>]*?(?<!/)>')


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


def sheet_extent(archive: zipfile.ZipFile, part: str, max_bytes: int) -> tuple[int, int]:
    """(rows, columns) from the first to the last cell holding something, read from the XML in blocks."""
    top = left = 10**9
    bottom = right = 0
    seen = 0
    tail = b""
    with readable(f"the sheet {part!r}"), archive.open(part) as f:
        while block := f.read(_READ_BYTES):
            seen += len(block)
            if seen > max_bytes:
                raise errors.ImportRejected("The XLSX file unpacks to more than its parts declare; it is not valid.")
            data = tail + block
            for letters, digits in _CELL.findall(data):
                row, column = int(digits), _column_number(letters)
                top, bottom = min(top, row), max(bottom, row)
                left, right = min(left, column), max(right, column)
            tail = data[-_OVERLAP:]
    if bottom == 0:
        return 0, 0
    return bottom - top + 1, right - left + 1


def check_sheet(archive: zipfile.ZipFile, name: str, part: str, limits: Limits) -> None:
    """Refuse a sheet whose extent is over the row or column limit, or too many cells for memory."""
    rows, columns = sheet_extent(archive, part, limits.max_xlsx_uncompressed_bytes)
    if rows > limits.max_rows + 1:
        raise errors.ImportRejected(
            f"The sheet {name!r} spans {rows:,} rows, over the limit of {limits.max_rows:,} (JOBDECK_IMPORT_MAX_ROWS)."
        )
    if columns > limits.max_columns:
        raise errors.ImportRejected(
            f"The sheet {name!r} spans {columns:,} columns, over the limit of {limits.max_columns:,} "
            "(JOBDECK_IMPORT_MAX_COLUMNS); delete the stray cells far to the right."
        )
    if rows * columns > MAX_SHEET_CELLS:
        raise errors.ImportRejected(
            f"The sheet {name!r} spans {rows:,} rows by {columns:,} columns, more than {MAX_SHEET_CELLS:,} cells; "
            "delete the stray cells far below or to the right."
        )
