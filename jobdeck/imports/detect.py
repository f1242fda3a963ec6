"""Where a file's header is: the delimiter, the sheet and the header row, found as the preview and the import
both find them (one place, so that what the preview shows is what the import reads).

Rows are the lists `head.py` gives: blank rows included, so that row N of the list is row N of the file.
"""

from __future__ import annotations

from collections.abc import Sequence

from jobdeck import errors
from jobdeck.imports import head, readers
from jobdeck.imports import mapping as column_mapping
from jobdeck.imports.readers import Limits
from jobdeck.imports.targets import Target

#: The header is looked for in this many first rows (title, blank and comment rows may come first).
HEAD_ROWS = 50
#: Rows shown after the header by a preview.
PREVIEW_ROWS = 20


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


def csv_layout(
    text: head.CsvHead,
    target: Target,
    limits: Limits,
    delimiter: str | None,
    header_row: int | None,
    *,
    lenient: bool = False,
) -> tuple[str, list[list[str]], int]:
    """The delimiter, the first rows under it and the 0-based index of the header among them.

    The readers split the first line; with a title row above the header that line says nothing, so
    without a delimiter each one is tried and the one under which the header reads best wins (the
    readers' choice on a tie). `lenient`: see `head.csv_rows`."""
    count = HEAD_ROWS + PREVIEW_ROWS
    if delimiter is None:
        usual = readers.detect_delimiter(text.text[: readers.SNIFF_CHARS])
        candidates = [usual, *(d for d in readers.DELIMITERS if d != usual)]
        scored = []
        for candidate in candidates:
            try:
                rows = head.csv_rows(text, candidate, limits, count, lenient=lenient)
            except errors.ImportRejected:
                continue
            at = find_header(target, rows)
            scored.append((header_score(target, rows[at]) if at is not None else 0.0, candidate))
        best = max(scored, key=lambda s: s[0], default=(0.0, usual))
        delimiter = best[1] if best[0] > 0 else usual
    rows = head.csv_rows(text, delimiter, limits, count, lenient=lenient)
    return delimiter, rows, pick_header_row(target, rows, header_row)


def named_sheet(names: Sequence[str], sheet: str | int) -> str:
    """A sheet by name, or by its 1-based number when no sheet has that name."""
    if isinstance(sheet, str) and sheet in names:
        return sheet
    text = str(sheet).strip()
    if text.isdigit() and 1 <= int(text) <= len(names):
        return names[int(text) - 1]
    raise errors.InvalidParams(f"The workbook has no sheet {sheet!r}; its sheets: {', '.join(map(repr, names))}.")


def first_matching_sheet(target: Target, book: head.Workbook) -> tuple[str, list[list[str]]]:
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
        if column_mapping.match_columns(target, [c.strip() for c in rows[at]]).ok:
            return info.name, rows
        score = header_score(target, rows[at])
        if score > 0 and (best is None or score > best[0]):
            best = (score, info.name, rows)
    if best is not None:
        return best[1], best[2]
    if first_filled is not None:
        return first_filled
    raise errors.ImportRejected("The file is empty: none of its sheets has anything in it.")


def xlsx_layout(
    target: Target, book: head.Workbook, sheet: str | int | None, header_row: int | None
) -> tuple[str, list[list[str]], int]:
    """The sheet (given by name or number, or the first that matches), its first rows and the header's index."""
    if sheet is not None:
        chosen = named_sheet([s.name for s in book.sheets], sheet)
        rows = book.rows(chosen, HEAD_ROWS + PREVIEW_ROWS)
    else:
        chosen, rows = first_matching_sheet(target, book)
    return chosen, rows, pick_header_row(target, rows, header_row)
