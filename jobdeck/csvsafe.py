"""CSV a spreadsheet can open safely: every CSV jobdeck writes goes through `writer`, every CSV it reads
through `unprotect`, so a file jobdeck wrote comes back with the values it was given.

A cell that begins with `=`, `+`, `-`, `@`, a tab, a carriage return or NUL may run as a formula in a
spreadsheet (CSV injection, as OWASP describes it); such a cell is written with a leading `'`, which makes
a spreadsheet show it as text. Every field is quoted, so a `;` inside a cell cannot split it where `;` is
the list separator.

Reading removes exactly what writing added. `unprotect` drops a leading `'` only when the next character is
a trigger or another `'`; so `protect` also prefixes a cell that itself begins with `'` and a trigger (or
`''`), and leaves any other `'` alone (`'t Hooft` is written as it is). For every text `s`,
`unprotect(protect(s)) == s`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import IO

#: A cell starting with one of these may run as a formula in a spreadsheet.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\x00")
#: What `protect` puts before such a cell: a spreadsheet shows the rest as text.
ESCAPE = "'"
_PREFIXED = (*TRIGGERS, ESCAPE)
#: Two characters every protected cell begins with: a text without them holds nothing to unprotect.
PROTECTED_START = re.compile("'[" + re.escape("".join(_PREFIXED)) + "]")

Cell = str | int | float | None


def protect(cell: Cell) -> str:
    """The cell as text, with a leading `'` when it begins with a trigger, or when reading would take a `'`
    off it (it begins with `'` and a trigger, or with `''`)."""
    text = "" if cell is None else str(cell)
    return ESCAPE + text if text.startswith(TRIGGERS) or _taken_off(text) else text


def _taken_off(text: str) -> bool:
    return text.startswith(ESCAPE) and text[1:].startswith(_PREFIXED)


def unprotect(cell: str) -> str:
    """The value `protect` was given: a leading `'` is dropped only before a character it protects."""
    return cell[1:] if _taken_off(cell) else cell


def unprotect_row(cells: list[str]) -> list[str]:
    return [unprotect(cell) for cell in cells]


def may_be_protected(text: str) -> bool:
    """Whether a text could hold a protected cell (a cheap scan that lets a reader skip `unprotect_row`)."""
    return PROTECTED_START.search(text) is not None


class Writer:
    """`csv.writer` with every cell protected and every field quoted, CRLF line ends."""

    def __init__(self, stream: IO[str], delimiter: str = ",") -> None:
        self._csv = csv.writer(stream, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n")

    def writerow(self, cells: Iterable[Cell]) -> None:
        self._csv.writerow([protect(cell) for cell in cells])


def to_bytes(rows: Iterable[Iterable[Cell]], delimiter: str = ",") -> bytes:
    """A whole (small) CSV as UTF-8 with a byte order mark, so Excel reads its accents right."""
    out = io.StringIO()
    writer = Writer(out, delimiter)
    for row in rows:
        writer.writerow(row)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
