"""What an import hands back: the error report, the rejected rows as uploaded, and a summary per chunk."""

from __future__ import annotations

import dataclasses
import io
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO

from jobdeck import csvsafe
from jobdeck.imports.validate import Problem

ERROR_HEADER = ("row", "column", "value", "code", "message")
SUMMARY_HEADER = ("chunk", "first_row", "last_row", "rows", "written", "created", "updated", "rejected", "note")


class _SpooledCsv:
    """A CSV written to a temporary file (UTF-8 with BOM, CRLF, every cell protected), so a large report
    never sits in memory and never runs as a formula."""

    def __init__(self, header: Sequence[str], delimiter: str = ",") -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="jobdeck-import-")  # noqa: SIM115 - closed in close()
        self._text = io.TextIOWrapper(self._file, encoding="utf-8-sig", newline="")
        self._csv = csvsafe.Writer(self._text, delimiter)
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
    """`row, column, value, code, message`, one line per bad cell."""

    def __init__(self) -> None:
        super().__init__(ERROR_HEADER)
        self.rejected_rows = 0

    def add(self, problems: Sequence[Problem]) -> None:
        self.rejected_rows += 1
        for p in problems:
            self._csv.writerow((p.row, p.column, p.value, p.code, p.message))
            self.rows += 1


class RejectedRows(_SpooledCsv):
    """The rejected rows under the file's own header and delimiter, ready to fix and upload again: the
    reader removes exactly the protection the writer adds, so the values come back as they were uploaded."""

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
    def blank(n: int | None) -> int | str:
        return "" if n is None else n

    lines: list[Sequence[csvsafe.Cell]] = [SUMMARY_HEADER]
    for c in chunks:
        lines.append(
            (c.name, c.first_row, c.last_row, c.rows, c.written, blank(c.created), blank(c.updated), c.rejected, c.note)
        )
    split = totals.split_known
    lines.append(
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
    return csvsafe.to_bytes(lines)
