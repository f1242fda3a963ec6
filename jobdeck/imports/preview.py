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
from jobdeck.imports import head, readers
from jobdeck.imports import mapping as column_mapping
from jobdeck.imports.mapping import ColumnMapping, match_columns
from jobdeck.imports.readers import Limits
from jobdeck.imports.targets import Target

#: The header is looked for in this many first rows (title, blank and comment rows may come first).
HEAD_ROWS = 50
#: Rows shown after the header.
PREVIEW_ROWS = 20
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


def header_score(target: Target, cells: Sequence[str]) -> float:
    """How well a row reads as the target's header (0 for a blank row)."""
    if not any(cell.strip() for cell in cells):
        return 0.0
    return column_mapping.header_score(target, [cell.strip() for cell in cells])


def find_header(target: Target, rows: Sequence[Sequence[str]]) -> int | None:
    """The 0-based index of the row that best matches the target (the first of equals); without any
    match, the first non-blank row; None when every row is blank."""
    best, best_score = None, 0.0
    for at, cells in enumerate(rows[:HEAD_ROWS]):
        score = header_score(target, cells)
        if score > best_score:
            best, best_score = at, score
    if best is not None:
        return best
    return next((at for at, cells in enumerate(rows) if any(c.strip() for c in cells)), None)


def pick_header_row(target: Target, rows: Sequence[Sequence[str]], header_row: int | None) -> int:
    """The 0-based header index: the user's 1-based `header_row` checked against the rows read, or detected."""
    if header_row is None:
        found = find_header(target, rows)
        if found is None:
            raise errors.ImportRejected("The file is empty: it has no rows with anything in them.")
        return found
    last = min(len(rows), HEAD_ROWS)
    if not 1 <= header_row <= last:
        raise errors.InvalidParams(f"header_row must be between 1 and {last} (the first rows of the file).")
    if not any(c.strip() for c in rows[header_row - 1]):
        raise errors.InvalidParams(f"Row {header_row} is blank, so it cannot be the header.")
    return header_row - 1


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
    count = HEAD_ROWS + PREVIEW_ROWS
    if delimiter is None:
        # The readers split the first line; with a title row above the header that line says nothing,
        # so each delimiter is tried and the one under which the header reads best wins (the readers' on a tie).
        usual = readers.detect_delimiter(text.text[: readers.SNIFF_CHARS])
        candidates = [usual, *(d for d in readers.DELIMITERS if d != usual)]
        scored = []
        for candidate in candidates:
            try:
                rows = head.csv_rows(text, candidate, limits, count)
            except errors.ImportRejected:
                continue
            at = find_header(target, rows)
            scored.append((header_score(target, rows[at]) if at is not None else 0.0, candidate))
        best = max(scored, key=lambda s: s[0], default=(0.0, usual))
        delimiter = best[1] if best[0] > 0 else usual
    rows = head.csv_rows(text, delimiter, limits, count)
    at = pick_header_row(target, rows, header_row)
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


def _named_sheet(names: Sequence[str], sheet: str | int) -> str:
    """A sheet by name, or by its 1-based number when no sheet has that name."""
    if isinstance(sheet, str) and sheet in names:
        return sheet
    text = str(sheet).strip()
    if text.isdigit() and 1 <= int(text) <= len(names):
        return names[int(text) - 1]
    raise errors.InvalidParams(f"The workbook has no sheet {sheet!r}; its sheets: {', '.join(map(repr, names))}.")


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
    count = HEAD_ROWS + PREVIEW_ROWS
    with head.open_workbook(path, limits) as book:
        names = [s.name for s in book.sheets]
        if sheet is not None:
            chosen = _named_sheet(names, sheet)
            rows = book.rows(chosen, count)
        else:
            chosen, rows = _first_matching_sheet(target, book)
    at = pick_header_row(target, rows, header_row)
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


def _first_matching_sheet(target: Target, book: head.Workbook) -> tuple[str, list[list[str]]]:
    """The first visible sheet whose header maps cleanly; else the one whose header scores best; else the
    first sheet with anything in it."""
    best: tuple[float, str, list[list[str]]] | None = None
    first_filled: tuple[str, list[list[str]]] | None = None
    for info in book.sheets:
        if not info.visible:
            continue
        rows = book.rows(info.name, HEAD_ROWS + PREVIEW_ROWS)
        at = find_header(target, rows)
        if at is None:
            continue
        first_filled = first_filled or (info.name, rows)
        if match_columns(target, [c.strip() for c in rows[at]]).ok:
            return info.name, rows
        score = header_score(target, rows[at])
        if score > 0 and (best is None or score > best[0]):
            best = (score, info.name, rows)
    if best is not None:
        return best[1], best[2]
    if first_filled is not None:
        return first_filled
    raise errors.ImportRejected("The workbook is empty: none of its sheets has anything in it.")


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
