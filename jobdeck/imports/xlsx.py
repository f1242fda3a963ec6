"""Reading XLSX: the first sheet through python-calamine, its cells as the text a CSV would hold."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import pathlib
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

from jobdeck import errors
from jobdeck.imports import readers, sheets
from jobdeck.imports.readers import Limits, Opened


def xlsx_cell(value: object) -> str:
    """An XLSX cell as the text a CSV would hold: whole numbers without `.0`, dates as ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def check_xlsx(path: pathlib.Path, limits: Limits, sheet: str | None = None) -> None:
    """Refuse a ZIP bomb before anything unpacks it (the sum of the declared uncompressed sizes), then a sheet
    (`sheet`, else the first) whose extent is beyond the limits, before calamine allocates it."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
            if total > limits.max_xlsx_uncompressed_bytes:
                raise errors.ImportRejected(
                    f"The XLSX file unpacks to {total / 1024 / 1024:,.0f} MB, over the limit of "
                    f"{limits.max_xlsx_uncompressed_bytes // 1024 // 1024:,} MB "
                    "(JOBDECK_IMPORT_MAX_XLSX_UNCOMPRESSED_MB)."
                )
            parts = sheets.sheet_parts(archive)
            name = sheet if sheet is not None else next(iter(parts), None)
            if name is not None and name in parts:
                sheets.check_sheet(archive, name, parts[name], limits)
            elif name is not None:
                raise errors.ImportRejected(
                    f"The sheet {name!r} cannot be read: the workbook does not say where it is."
                )
            else:  # no sheet the workbook lists: whatever calamine might open is measured
                for part in archive.namelist():
                    if part.startswith("xl/worksheets/") and part.endswith(".xml"):
                        sheets.check_sheet(archive, part, part, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError):
        raise errors.ImportRejected("The file cannot be imported: it is not a valid XLSX file.") from None


def sheet_names(path: pathlib.Path) -> list[str]:
    """The workbook's sheet names, in order, read from its XML (calamine does not open it)."""
    with sheets.readable("the archive"), zipfile.ZipFile(path) as archive:
        return list(sheets.sheet_parts(archive))


@contextlib.contextmanager
def open_xlsx(
    path: pathlib.Path, limits: Limits, *, sheet: str | None = None, header_row: int | None = None
) -> Iterator[Opened]:
    """The sheet named `sheet` (the first one by default), its header on sheet row `header_row` (1-based) or,
    by default, on its first non-blank row."""
    import python_calamine

    check_xlsx(path, limits, sheet)
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        opened = workbook.get_sheet_by_index(0) if sheet is None else workbook.get_sheet_by_name(sheet)
        raw = iter(opened.iter_rows())
    except Exception as exc:  # calamine raises its own hierarchy and plain ValueErrors
        raise errors.ImportRejected(f"The file cannot be imported: it is not a readable XLSX file ({exc}).") from None
    try:
        if opened.height - 1 > limits.max_rows:
            raise errors.ImportRejected(
                f"The sheet has {opened.height - 1:,} rows, over the limit of {limits.max_rows:,} "
                "(JOBDECK_IMPORT_MAX_ROWS)."
            )
        header = _header(raw, header_row, sheet)
        offset = header_row or 1
        yield Opened(
            header=header,
            chunks=lambda size: chunked(_xlsx_rows(raw, limits), size),
            estimated_rows=max(opened.height - offset, 1),
        )
    finally:
        workbook.close()


def _header(raw: Iterator[list[Any]], header_row: int | None, sheet: str | None) -> list[str]:
    """The header's cells, the rows above it read past (calamine's rows start at the sheet's row 1)."""
    cells: list[Any] | None = None
    if header_row is None:
        cells = next((c for c in raw if any(v not in (None, "") for v in c)), None)
    else:
        cells = next(itertools.islice(raw, header_row - 1, None), None)
    header = [xlsx_cell(c).strip() for c in cells or ()]
    while header and not header[-1]:
        header.pop()
    if not header:
        name = "its first sheet" if sheet is None else f"the sheet {sheet!r}"
        if header_row is None:
            raise errors.ImportRejected(f"The file is empty: {name} has no header row.")
        raise errors.ImportRejected(f"Row {header_row:,} of {name} is blank, so it cannot be the header.")
    return header


def _xlsx_rows(raw: Iterator[list[Any]], limits: Limits) -> Iterator[tuple[int, list[str]]]:
    for number, values in enumerate(raw, start=1):
        cells = [xlsx_cell(v) for v in values]
        if not any(cells):
            continue
        if max(map(len, cells)) > limits.max_cell_chars:
            raise errors.ImportRejected(
                f"Row {number} has a cell longer than the limit of {limits.max_cell_chars:,} characters "
                "(JOBDECK_IMPORT_MAX_CELL_CHARS)."
            )
        yield number, cells


def chunked(rows: Iterator[tuple[int, list[str]]], size: int) -> Iterator[readers.Chunk]:
    """Rows grouped by row number (1 to size, size+1 to 2*size...): the same chunks on every attempt."""
    batch: readers.Batch = []
    index = 0
    for number, cells in rows:
        at = (number - 1) // size
        if at != index and batch:
            yield index * size + 1, batch[-1][0], batch
            batch = []
        index = at
        batch.append((number, cells))
    if batch:
        yield index * size + 1, batch[-1][0], batch
