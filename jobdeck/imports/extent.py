"""An XLSX sheet's extent, read from its XML as it streams out of the ZIP, before calamine materialises it.

calamine holds a sheet as a dense range of rows x columns: one cell at XFD1048576 in a 2 KB file asks for
tens of gigabytes. So the declared `dimension` and the largest cell reference (a cell or row without one
takes the next position, as calamine places it) are checked against the row and column limits first. The
XML is scanned with a regular expression over decompressed pieces, never parsed into a tree, so neither
deep nesting nor entity tricks cost anything here.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import zipfile
from collections.abc import Iterator

from jobdeck import errors
from jobdeck.imports.readers import Limits

READ_BYTES = 1024 * 1024
#: A tag cut by the end of a piece is carried over to the next; no tag jobdeck looks at is this long.
MAX_TAG_BYTES = 64 * 1024
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(dimension|row|c|sheet|Relationship)\b([^<>]*)>")
_ATTR = re.compile(rb"""(?:^|\s)([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_R = re.compile(rb"""(?:^|\s)r\s*=\s*["']([^"']*)["']""")
_REF = re.compile(rb"\$?([A-Za-z]*)\$?(\d*)")
#: Past this many digits or letters a reference is simply "too far"; it is never turned into a number.
_FAR = 10**12


@dataclasses.dataclass
class Extent:
    rows: int = 0  #: the last row number, header included
    columns: int = 0  #: the last column number
    declared_rows: int = 0  #: from the `dimension` element, when it has one
    declared_columns: int = 0


def _tags(archive: zipfile.ZipFile, name: str) -> Iterator[tuple[bytes, bytes]]:
    """(tag name, attribute text) of the tags this module reads, in order, streaming."""
    with archive.open(name) as part:
        carry = b""
        while piece := part.read(READ_BYTES):
            data = carry + piece
            cut = data.rfind(b"<")
            if cut == -1 or data.find(b">", cut) != -1:
                cut = len(data)
            for match in _TAG.finditer(data, 0, cut):
                yield match.group(1), match.group(2)
            carry = data[cut:]
            if len(carry) > MAX_TAG_BYTES:
                carry = b""
        for match in _TAG.finditer(carry):
            yield match.group(1), match.group(2)


def _attrs(text: bytes) -> dict[bytes, bytes]:
    return {
        m.group(1).split(b":")[-1]: m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR.finditer(text)
    }


def _r(text: bytes) -> bytes | None:
    """The `r` attribute (a cell's reference, a row's number): one search, this runs for every cell."""
    match = _R.search(text)
    return match.group(1) if match else None


def _ref(ref: bytes) -> tuple[int, int]:
    """("XFD", 1048576) from b"XFD1048576"; (0, 0) for a part that is missing."""
    match = _REF.fullmatch(ref.strip())
    if not match:
        return _FAR, _FAR
    letters, digits = match.group(1).upper(), match.group(2)
    column = 0
    for letter in letters[:8]:
        column = column * 26 + letter - 64
    column = _FAR if len(letters) > 8 else column
    row = int(digits) if digits and len(digits) <= 12 else (_FAR if digits else 0)
    return column, row


def first_sheet(archive: zipfile.ZipFile) -> str | None:
    """The part name of the workbook's first sheet (the one calamine opens), or None when it cannot be told."""
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
        return None
    rel_id = None
    for tag, text in _tags(archive, "xl/workbook.xml"):
        if tag == b"sheet":
            rel_id = _attrs(text).get(b"id")
            break
    if rel_id is None:
        return None
    for tag, text in _tags(archive, "xl/_rels/workbook.xml.rels"):
        attrs = _attrs(text)
        if tag == b"Relationship" and attrs.get(b"Id") == rel_id:
            target = attrs.get(b"Target", b"").decode("utf-8", "replace")
            name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            return name if name in names else None
    return None


def measure(archive: zipfile.ZipFile, name: str) -> Extent:
    extent = Extent()
    row = column = 0
    for tag, text in _tags(archive, name):
        if tag == b"c":
            ref = _r(text)
            if ref is None:
                column += 1
            else:
                column, at = _ref(ref)
                row = at or row
            extent.columns = max(extent.columns, column)
            extent.rows = max(extent.rows, row)
        elif tag == b"row":
            number = _r(text)
            row = (int(number) if number.isdigit() and len(number) <= 12 else _FAR) if number else row + 1
            column = 0
            extent.rows = max(extent.rows, row)
        elif tag == b"dimension":
            last = (_attrs(text).get(b"ref") or b"").split(b":")[-1]
            extent.declared_columns, extent.declared_rows = _ref(last)
    return extent


def check_extent(archive: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse a first sheet whose declared or real extent is beyond the row or column limit."""
    name = first_sheet(archive)
    parts = [name] if name else [n for n in archive.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
    for part in parts:
        extent = measure(archive, part)
        columns = max(extent.columns, extent.declared_columns)
        rows = max(extent.rows, extent.declared_rows) - 1  # the header is not a row
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
