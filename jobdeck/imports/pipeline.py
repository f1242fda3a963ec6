"""The reading half of an import, run in a capped child process (runner/isolation.py): open the file, find
and map its header (imports/detect.py, imports/mapping.py), check its rows a chunk at a time and send each
chunk to the job, which writes it.

Messages are tuples of builtins (the job reads them with a class-free unpickler):

- `("header", reading, estimated_rows, header, delimiter, columns, ignored)`, first; `reading` is the log's
  first line, `columns` the target columns the file feeds, in the file's order, and `ignored` the file
  columns no target column takes;
- `("chunk", first, last, rows, valid_count, payload)` per chunk, where `payload` is `(valid_rows | None,
  rejected)` pickled on its own (see `pack`; the job reads it with the same class-free unpickler),
  `rejected` is `[(row, cells, [(column, value, code, message), …]), …]` and `valid_rows` is None for a
  chunk the job does not need (the check pass, and chunks written by an earlier attempt, named in `skip`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import io
import pathlib
import pickle  # the job reads the payload with a class-free unpickler  # nosec B403
from collections.abc import Iterator
from typing import Any

from jobdeck import errors
from jobdeck.imports import detect, head, mapping, messages, readers, targets, validate, xlsx
from jobdeck.runner.child import MessageTooLarge, Send

#: Allocations between young-generation collections in the child (Python's default is 700): a chunk
#: allocates ~100,000 short-lived lists and tuples, and collecting every 700 costs a third of the time.
GC_GEN0_THRESHOLD = 50_000

Rejected = list[tuple[int, list[str], list[tuple[str, str, str, str]]]]


def pack(rows: list[tuple[Any, ...]] | None, rejected: Rejected) -> bytes:
    """A chunk's rows and rejections as one bytes payload, pickled without a memo: a chunk holds ~35,000
    distinct strings and nothing shared, so remembering each one only costs time (3x the pickling)."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo; safe because the payload holds no cycles, only tuples, lists and builtins
    pickler.dump((rows, rejected))
    return out.getvalue()


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
    sheet: str | None = None  #: an XLSX sheet's name or 1-based number; None: the first that matches
    header_row: int | None = None  #: 1-based; None: detected
    mapping: dict[str, str | None] | None = None  #: file column -> target column (None: ignored)

    def as_args(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where the header was found and how its columns map onto the target."""

    sheet: str | None
    header_row: int
    found: mapping.ColumnMapping
    columns: list[targets.Column]  #: the target columns the file feeds, in the file's order
    indexes: list[int] | None  #: where each is in a file row; None when the row is already in that order


def describe_reading(filename: str, opened: readers.Opened, layout: Layout, target: targets.Target) -> str:
    """The job log's first line: how the file was read, so a surprising result can be explained."""
    how = "the first sheet of the workbook" if layout.sheet is None else f"the sheet {layout.sheet!r} of the workbook"
    if opened.encoding:
        delimiter = readers.DELIMITER_NAMES.get(opened.delimiter or ",", opened.delimiter)
        how = f"{opened.encoding} text, {delimiter}-delimited"
    if layout.header_row != 1:
        how += f", the header on row {layout.header_row:,}"
    fed = {m.column: m.file_column for m in layout.found.matches}
    names = ", ".join(c.name if fed[c.name] == c.name else f"{c.name} from {fed[c.name]!r}" for c in layout.columns)
    return f"Reading {filename} as {how}; columns {names} into {target.title}"


def _locate(order: ReadOrder, target: targets.Target, limits: readers.Limits) -> tuple[str | None, str | None, int]:
    """The sheet (XLSX), the delimiter (CSV) and the header row: as ordered, or found as the preview finds them."""
    path = pathlib.Path(order.path)
    try:
        if readers.is_xlsx(order.filename):
            if order.sheet is not None and order.header_row is not None:
                return detect.named_sheet(xlsx.sheet_names(path), order.sheet), None, order.header_row
            with head.open_workbook(path, limits) as book:
                sheet, _rows, at = detect.xlsx_layout(target, book, order.sheet, order.header_row)
            return sheet, None, at + 1
        if order.delimiter is not None and order.header_row is not None:
            return None, order.delimiter, order.header_row
        text = head.read_csv_head(path, order.encoding, order.fallback)
        delimiter, _rows, at = detect.csv_layout(text, target, limits, order.delimiter, order.header_row, lenient=True)
        return None, delimiter, at + 1
    except errors.InvalidParams as exc:  # a choice the file cannot honour, found only now
        raise errors.ImportRejected(str(exc)) from None


def map_header(
    target: targets.Target, opened: readers.Opened, user: dict[str, str | None] | None
) -> tuple[mapping.ColumnMapping, list[targets.Column], list[int] | None]:
    """The header mapped onto the target; an unmatched required column stops the import here, before any row."""
    try:
        found = mapping.match_columns(target, opened.header, user)
    except errors.InvalidParams as exc:
        raise errors.ImportRejected(str(exc)) from None
    if not found.ok:
        raise errors.ImportRejected(messages.header_mismatch(found, opened))
    used, positions = mapping.used_columns(target, found)
    pairs = sorted(zip(positions, used, strict=True), key=lambda pair: pair[0])
    indexes = [at for at, _ in pairs]
    # The fast path: a file whose columns are exactly the used ones, in order, is read as it is.
    in_order = indexes == list(range(len(opened.header)))
    return found, [col for _, col in pairs], None if in_order else indexes


@contextlib.contextmanager
def open_file(order: ReadOrder, target: targets.Target) -> Iterator[tuple[readers.Opened, Layout]]:
    """The file opened by its user's name (XLSX by calamine, anything else as CSV), its header mapped."""
    path = pathlib.Path(order.path)
    limits = readers.Limits(**order.limits)
    if path.stat().st_size == 0:
        raise errors.ImportRejected("The file is empty.")
    sheet, delimiter, header_row = _locate(order, target, limits)
    if readers.is_xlsx(order.filename):
        source = xlsx.open_xlsx(path, limits, sheet=sheet, header_row=header_row)
    else:
        source = readers.open_csv(
            path, limits, encoding=order.encoding, delimiter=delimiter, fallback=order.fallback, header_row=header_row
        )
    with source as opened:
        readers.check_columns(opened.header, limits)
        found, columns, indexes = map_header(target, opened, order.mapping)
        yield opened, Layout(sheet, header_row, found, columns, indexes)


def read(args: dict[str, Any], send: Send) -> None:
    """The child's entry point: every chunk of the file, checked, sent in order."""
    order = ReadOrder(**args)
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
    for module in order.modules:
        importlib.import_module(module)
    target = targets.TARGETS.get(order.target)
    skip = set(order.skip)
    with (
        open_file(order, target) as (opened, layout),
        contextlib.closing(
            validate.RowChecker(target, layout.columns, indexes=layout.indexes, header_width=len(opened.header))
        ) as checker,
    ):
        reading = describe_reading(order.filename, opened, layout, target)
        names = [c.name for c in layout.columns]
        ignored = list(layout.found.ignored)
        send(("header", reading, opened.estimated_rows, opened.header, opened.delimiter or ",", names, ignored))
        for first, last, batch in opened.chunks(order.chunk_rows):
            valid, rejected = checker.check_batch(batch)
            name = chunk_name(first, last)
            rows = None if order.check_only or name in skip else valid
            plain: Rejected = [
                (number, cells, [(p.column, p.value, p.code, p.message) for p in problems])
                for number, cells, problems in rejected
            ]
            try:
                send(("chunk", first, last, len(batch), len(valid), pack(rows, plain)))
            except MessageTooLarge as exc:
                raise errors.ImportRejected(
                    f"{name} hold {exc.size / 1024 / 1024:,.0f} MB of data, more than an import takes in one "
                    "chunk; lower JOBDECK_IMPORT_CHUNK_ROWS, or split the file."
                ) from None
