"""A file's preview before its import: what was detected, the header row, the sheet, the mapping, the first rows.

Nothing is written and only the head of the file is parsed (the encoding check reads the whole file,
as the import does). Every choice the user can make (encoding, delimiter, sheet, header row,
mapping) is an argument; what is not given is detected, and the Preview says what was chosen.
"""

from __future__ import annotations

import codecs
import dataclasses
import pathlib
from collections.abc import Mapping, Sequence

import charset_normalizer

from jobdeck import errors, settings
from jobdeck.imports import detect, head, readers
from jobdeck.imports.mapping import ColumnMapping, match_columns
from jobdeck.imports.readers import Limits
from jobdeck.imports.targets import Target

HEAD_ROWS = detect.HEAD_ROWS
PREVIEW_ROWS = detect.PREVIEW_ROWS
#: A longer cell is cut in the preview (with an ellipsis); the import reads it whole.
PREVIEW_CELL_CHARS = 500


@dataclasses.dataclass(frozen=True)
class Preview:
    filename: str
    target: str
    kind: str  #: "csv" or "xlsx"
    encoding: str | None  #: a CSV's encoding (None for XLSX)
    delimiter: str | None  #: a CSV's delimiter (None for XLSX)
    sheets: tuple[str, ...]  #: an XLSX's sheet names, in order
    sheet: str | None  #: the sheet previewed
    header_row: int  #: 1-based: the CSV record or the sheet row holding the header
    header: tuple[str, ...]
    mapping: ColumnMapping
    rows: tuple[tuple[int, tuple[str, ...]], ...]  #: (row number, cells): row 1 is the first after the header
    notes: tuple[str, ...] = ()  #: hints for the user, such as an encoding worth naming
    #: where the mapping comes from: "automatic", "given", or "previous import #123" (see previewing.py)
    mapping_source: str = "automatic"


header_score = detect.header_score
find_header = detect.find_header
pick_header_row = detect.pick_header_row


def _shown(cells: Sequence[str]) -> tuple[str, ...]:
    return tuple(c if len(c) <= PREVIEW_CELL_CHARS else c[:PREVIEW_CELL_CHARS] + "\u2026" for c in cells)


def _after(rows: Sequence[Sequence[str]], at: int) -> tuple[tuple[int, tuple[str, ...]], ...]:
    """The non-blank rows after the header, numbered as the import numbers them (blank rows keep a number)."""
    shown = [(n, _shown(cells)) for n, cells in enumerate(rows[at + 1 :], start=1) if any(cells)]
    return tuple(shown[:PREVIEW_ROWS])


def _encoding_hint(sample: bytes, used: str) -> str:
    best = charset_normalizer.from_bytes(sample).best()
    guess = codecs.lookup(best.encoding).name if best is not None else None
    if guess and guess != used:
        return f"The file was read as {used} text; if its header looks garbled, name its encoding (perhaps {guess})."
    return f"The file was read as {used} text; if its header looks garbled, name its encoding."


def preview_csv(
    path: pathlib.Path,
    filename: str,
    target: Target,
    *,
    limits: Limits,
    fallback: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    header_row: int | None = None,
    mapping: Mapping[str, str | None] | None = None,
) -> Preview:
    text = head.read_csv_head(path, encoding, fallback)
    delimiter, rows, at = detect.csv_layout(text, target, limits, delimiter, header_row)
    header = tuple(cell.strip() for cell in rows[at])
    found = match_columns(target, header, mapping)
    notes = (_encoding_hint(text.sample, text.encoding),) if found.errors and text.from_fallback else ()
    return Preview(
        filename=filename,
        target=target.name,
        kind="csv",
        encoding=text.encoding,
        delimiter=delimiter,
        sheets=(),
        sheet=None,
        header_row=at + 1,
        header=header,
        mapping=found,
        rows=_after(rows, at),
        notes=notes,
    )


def preview_xlsx(
    path: pathlib.Path,
    filename: str,
    target: Target,
    *,
    limits: Limits,
    sheet: str | int | None = None,
    header_row: int | None = None,
    mapping: Mapping[str, str | None] | None = None,
) -> Preview:
    with head.open_workbook(path, limits) as book:
        names = [s.name for s in book.sheets]
        chosen, rows, at = detect.xlsx_layout(target, book, sheet, header_row)
    header = tuple(cell.strip() for cell in rows[at])
    return Preview(
        filename=filename,
        target=target.name,
        kind="xlsx",
        encoding=None,
        delimiter=None,
        sheets=tuple(names),
        sheet=chosen,
        header_row=at + 1,
        header=header,
        mapping=match_columns(target, header, mapping),
        rows=_after(rows, at),
    )


def preview(
    path: pathlib.Path,
    filename: str,
    target: Target,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    header_row: int | None = None,
    mapping: Mapping[str, str | None] | None = None,
    *,
    limits: Limits | None = None,
    fallback: str | None = None,
) -> Preview:
    """Preview `path` (uploaded as `filename`) for `target`: an XLSX by its name, anything else as CSV.

    `limits` and `fallback` (the encoding tried after UTF-8) default to this process's settings."""
    if limits is None or fallback is None:
        current = settings.load()
        limits = limits or Limits.from_settings(current)
        fallback = fallback or current.import_fallback_encoding
    if path.stat().st_size == 0:
        raise errors.ImportRejected("The file is empty.")
    if readers.is_xlsx(filename):
        if encoding or delimiter:
            raise errors.InvalidParams("An XLSX file has no encoding or delimiter to choose.")
        return preview_xlsx(path, filename, target, limits=limits, sheet=sheet, header_row=header_row, mapping=mapping)
    if sheet is not None:
        raise errors.InvalidParams("A CSV file has no sheets to choose.")
    return preview_csv(
        path,
        filename,
        target,
        limits=limits,
        fallback=fallback,
        encoding=encoding,
        delimiter=delimiter,
        header_row=header_row,
        mapping=mapping,
    )
