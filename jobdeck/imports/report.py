"""What an import hands back: the error report, the rejected rows as uploaded, and a summary per chunk."""

from __future__ import annotations

import csv
import dataclasses
import io
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO

from jobdeck.imports.validate import Problem

#: A cell starting with one of these may run as a formula in a spreadsheet (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\x00")
ERROR_HEADER = ("row", "column", "value", "code", "message")
SUMMARY_HEADER = ("chunk", "first_row", "last_row", "rows", "written", "created", "updated", "rejected", "note")


def neutralize(cell: str) -> str:
    """A leading `'` makes a spreadsheet show the cell as text rather than evaluate it."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


class _SpooledCsv:
    """A CSV written to a temporary file (UTF-8 with BOM, CRLF), so a large report never sits in memory."""

    def __init__(self, header: Sequence[str], delimiter: str = ",") -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="jobdeck-import-")  # noqa: SIM115 - closed in close()
        self._text = io.TextIOWrapper(self._file, encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._text, delimiter=delimiter, lineterminator="\r\n")
        self._csv.writerow(header)
        self.rows = 0

    def stream(self) -> Iterator[bytes]:
        self._text.flush()
        self._file.seek(0)
        while chunk := self._file.read(1024 * 1024):
            yield chunk

    def close(self) -> None:
        self._text.close()


class ErrorReport(_SpooledCsv):
    """`row, column, value, code, message`, every cell neutralised against formula injection."""

    def __init__(self) -> None:
        super().__init__(ERROR_HEADER)
        self.rejected_rows = 0

    def add(self, problems: Sequence[Problem]) -> None:
        self.rejected_rows += 1
        for p in problems:
            self._csv.writerow((p.row, neutralize(p.column), neutralize(p.value), p.code, neutralize(p.message)))
            self.rows += 1


class RejectedRows(_SpooledCsv):
    """The rejected rows exactly as uploaded, under the file's own header, ready to fix and upload again."""

    def add(self, cells: Sequence[str]) -> None:
        self._csv.writerow(cells)
        self.rows += 1


@dataclasses.dataclass
class ChunkResult:
    name: str
    first_row: int
    last_row: int
    rows: int = 0
    written: int = 0
    created: int | None = 0  #: None when an earlier attempt wrote the chunk (the split is not known)
    updated: int | None = 0
    rejected: int = 0
    note: str = ""


@dataclasses.dataclass
class Totals:
    rows: int = 0
    written: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    split_known: bool = True  #: False when some chunk's created/updated split is unknown

    @classmethod
    def of(cls, chunks: Sequence[ChunkResult]) -> Totals:
        totals = cls()
        for chunk in chunks:
            totals.add(chunk)
        return totals

    def add(self, chunk: ChunkResult) -> None:
        self.rows += chunk.rows
        self.written += chunk.written
        self.rejected += chunk.rejected
        if chunk.created is None or chunk.updated is None:
            self.split_known = False
        else:
            self.created += chunk.created
            self.updated += chunk.updated


def summary_csv(chunks: Sequence[ChunkResult], totals: Totals) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SUMMARY_HEADER)

    def blank(n: int | None) -> int | str:
        return "" if n is None else n

    for c in chunks:
        writer.writerow(
            (c.name, c.first_row, c.last_row, c.rows, c.written, blank(c.created), blank(c.updated), c.rejected, c.note)
        )
    split = totals.split_known
    writer.writerow(
        (
            "Total",
            "",
            "",
            totals.rows,
            totals.written,
            totals.created if split else "",
            totals.updated if split else "",
            totals.rejected,
            "" if split else "some chunks were written by an earlier attempt",
        )
    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
