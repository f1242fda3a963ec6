"""The reading half of an import, run in a capped child process (runner/isolation.py): open the file, match
its header, check its rows a chunk at a time and send each chunk to the job, which writes it.

Messages are tuples of builtins (the job reads them with a class-free unpickler):

- `("header", reading, estimated_rows, header, delimiter, columns)`, first; `reading` is the log's first
  line and `columns` the target's columns in the file's order;
- `("chunk", first, last, rows, valid_count, valid_rows | None, rejected)` per chunk, where `rejected` is
  `[(row, cells, [(column, value, code, message), …]), …]` and `valid_rows` is None for a chunk the job
  does not need (the check pass, and chunks written by an earlier attempt, named in `skip`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import pathlib
from collections.abc import Iterator
from typing import Any

from jobdeck import errors
from jobdeck.imports import readers, targets, validate, xlsx
from jobdeck.runner.child import MessageTooLarge, Send

#: Allocations between young-generation collections in the child (Python's default is 700): a chunk
#: allocates ~100,000 short-lived lists and tuples, and collecting every 700 costs a third of the time.
GC_GEN0_THRESHOLD = 50_000

Rejected = list[tuple[int, list[str], list[tuple[str, str, str, str]]]]


def chunk_name(first: int, last: int) -> str:
    """A chunk's subtask name, "Rows 1" en dash "5,000": what a resumed attempt looks for."""
    return f"Row {first:,}" if first == last else f"Rows {first:,}\u2013{last:,}"


@dataclasses.dataclass(frozen=True)
class ReadOrder:
    """What the job asks the child to read; plain values, sent as a dict."""

    path: str
    filename: str
    target: str
    modules: list[str]  #: JOBDECK_JOB_MODULES, which register the target in the child too
    limits: dict[str, int]
    chunk_rows: int
    fallback: str
    encoding: str | None = None
    delimiter: str | None = None
    check_only: bool = False  #: send no valid rows (the fail policy's first pass)
    skip: list[str] = dataclasses.field(default_factory=list)  #: chunks written by an earlier attempt

    def as_args(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def describe_reading(
    filename: str, opened: readers.Opened, columns: list[targets.Column], target: targets.Target
) -> str:
    """The job log's first line: how the file was read, so a surprising result can be explained."""
    how = "the first sheet of the workbook"
    if opened.encoding:
        delimiter = readers.DELIMITER_NAMES.get(opened.delimiter or ",", opened.delimiter)
        how = f"{opened.encoding} text, {delimiter}-delimited"
    names = ", ".join(c.name for c in columns)
    return f"Reading {filename} as {how}; columns {names} into {target.title}"


@contextlib.contextmanager
def open_file(order: ReadOrder, target: targets.Target) -> Iterator[tuple[readers.Opened, list[targets.Column]]]:
    """The file opened by its user's name (XLSX by calamine, anything else as CSV), its header matched."""
    path = pathlib.Path(order.path)
    limits = readers.Limits(**order.limits)
    if path.stat().st_size == 0:
        raise errors.ImportRejected("The file is empty.")
    if readers.is_xlsx(order.filename):
        source = xlsx.open_xlsx(path, limits)
    else:
        source = readers.open_csv(
            path, limits, encoding=order.encoding, delimiter=order.delimiter, fallback=order.fallback
        )
    with source as opened:
        readers.check_columns(opened.header, limits)
        yield opened, validate.match_header(target, opened.header)


def read(args: dict[str, Any], send: Send) -> None:
    """The child's entry point: every chunk of the file, checked, sent in order."""
    order = ReadOrder(**args)
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
    for module in order.modules:
        importlib.import_module(module)
    target = targets.TARGETS.get(order.target)
    skip = set(order.skip)
    with (
        open_file(order, target) as (opened, columns),
        contextlib.closing(validate.RowChecker(target, columns)) as checker,
    ):
        reading = describe_reading(order.filename, opened, columns, target)
        names = [c.name for c in columns]
        send(("header", reading, opened.estimated_rows, opened.header, opened.delimiter or ",", names))
        for first, last, batch in opened.chunks(order.chunk_rows):
            valid, rejected = checker.check_batch(batch)
            name = chunk_name(first, last)
            rows = None if order.check_only or name in skip else valid
            plain: Rejected = [
                (number, cells, [(p.column, p.value, p.code, p.message) for p in problems])
                for number, cells, problems in rejected
            ]
            try:
                send(("chunk", first, last, len(batch), len(valid), rows, plain))
            except MessageTooLarge as exc:
                raise errors.ImportRejected(
                    f"{name} hold {exc.size / 1024 / 1024:,.0f} MB of data, more than an import takes in one "
                    "chunk; lower JOBDECK_IMPORT_CHUNK_ROWS, or split the file."
                ) from None
