"""Reading XLSX: the first sheet through python-calamine, its cells as the text a CSV would hold."""

from __future__ import annotations

import contextlib
import datetime as dt
import pathlib
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

from jobdeck import errors
from jobdeck.imports import extent, readers
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


def check_xlsx(path: pathlib.Path, limits: Limits) -> None:
    """Refuse a ZIP bomb before anything unpacks it (the sum of the declared uncompressed sizes), then a
    first sheet whose extent is beyond the row or column limit before calamine allocates it."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
            if total > limits.max_xlsx_uncompressed_bytes:
                raise errors.ImportRejected(
                    f"The XLSX file unpacks to {total / 1024 / 1024:,.0f} MB, over the limit of "
                    f"{limits.max_xlsx_uncompressed_bytes // 1024 // 1024:,} MB "
                    "(JOBDECK_IMPORT_MAX_XLSX_UNCOMPRESSED_MB)."
                )
            extent.check_extent(archive, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError):
        raise errors.ImportRejected("The file cannot be imported: it is not a valid XLSX file.") from None


@contextlib.contextmanager
def open_xlsx(path: pathlib.Path, limits: Limits) -> Iterator[Opened]:
    import python_calamine

    check_xlsx(path, limits)
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        raw = iter(sheet.iter_rows())
    except Exception as exc:  # calamine raises its own hierarchy and plain ValueErrors
        raise errors.ImportRejected(f"The file cannot be imported: it is not a readable XLSX file ({exc}).") from None
    try:
        if sheet.height - 1 > limits.max_rows:
            raise errors.ImportRejected(
                f"The sheet has {sheet.height - 1:,} rows, over the limit of {limits.max_rows:,} "
                "(JOBDECK_IMPORT_MAX_ROWS)."
            )
        header: list[str] | None = None
        offset = 0
        for offset, cells in enumerate(raw, start=1):  # noqa: B007 - offset is the header's row after the loop
            if any(c not in (None, "") for c in cells):
                header = [xlsx_cell(c).strip() for c in cells]
                break
        if header is None:
            raise errors.ImportRejected("The file is empty: its first sheet has no header row.")
        while header and not header[-1]:
            header.pop()
        yield Opened(
            header=header,
            chunks=lambda size: readers.chunked(_xlsx_rows(raw, limits), size),
            estimated_rows=max(sheet.height - offset, 1),
        )
    finally:
        workbook.close()


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
