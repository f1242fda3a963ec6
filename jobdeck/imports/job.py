"""The `import` job type: a stored upload into a target's table, chunk by chunk, resumable after a crash."""

from __future__ import annotations

import contextlib
import gc
import pathlib
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal

import pydantic

from jobdeck import errors, model
from jobdeck.imports import readers, report, targets, validate, writer, xlsx
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import job_type

JOB_TYPE = "import"
MAX_ATTEMPTS = 3
#: Progress is written after a chunk at most this often: each write is a commit (an fsync on SQLite).
PROGRESS_EVERY_S = 0.5
#: Allocations between young-generation collections while an import runs (Python's default is 700):
#: a chunk allocates ~100,000 short-lived lists and tuples, and collecting every 700 costs a third of the time.
GC_GEN0_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] = gc.get_threshold()


class ImportParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    target: str = pydantic.Field(min_length=1, max_length=100)
    filename: str = pydantic.Field(min_length=1, max_length=255)
    on_error: Literal["skip", "fail"] = "skip"
    dry_run: bool = False
    encoding: str | None = pydantic.Field(default=None, max_length=40)
    delimiter: str | None = pydantic.Field(default=None, max_length=1)


def describe(params: dict[str, Any]) -> str:
    """The grid's description while the job waits: "contacts.csv into Contacts"."""
    name = params.get("target", "")
    title = targets.TARGETS.get(name).title if name in targets.TARGETS else name
    dry = " (dry run)" if params.get("dry_run") else ""
    return f"{params.get('filename', '')} into {title}{dry}"


def chunk_name(first: int, last: int) -> str:
    """A chunk's subtask name, "Rows 1" en dash "5,000": what a resumed attempt looks for."""
    return f"Row {first:,}" if first == last else f"Rows {first:,}\u2013{last:,}"


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the young-generation threshold while any import runs in this process; restore it after the last."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(_gc_saved[0], GC_GEN0_THRESHOLD), *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)


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


class _Progress:
    """Progress after each chunk, written at most every PROGRESS_EVERY_S (each write is a commit)."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.at = time.monotonic()

    def update(self, done: int, estimate: int, *, final: bool = False) -> None:
        if final or time.monotonic() - self.at >= PROGRESS_EVERY_S:
            self.ctx.progress(done, max(done, estimate))
            self.at = time.monotonic()


def set_description(ctx: JobContext, text: str) -> None:
    """The final description, counts included, written while the lease holds."""
    ctx.describe(text)


class ImportRun:
    """One attempt at one import: reads the file once per pass and keeps the reports of that attempt."""

    def __init__(self, ctx: JobContext, params: ImportParams, path: pathlib.Path) -> None:
        self.ctx = ctx
        self.params = params
        self.path = path
        self.settings = ctx.settings
        self.limits = readers.Limits.from_settings(self.settings)
        self.target = targets.TARGETS.get(params.target)
        self.stem = pathlib.PurePath(params.filename).stem or "import"
        self.chunk_rows = self.settings.import_chunk_rows
        self.logged = False

    @contextlib.contextmanager
    def open(self) -> Iterator[tuple[readers.Opened, list[targets.Column]]]:
        """The file opened by its user's name (XLSX by calamine, anything else as CSV), its header matched."""
        p = self.params
        if self.path.stat().st_size == 0:
            raise errors.ImportRejected("The file is empty.")
        if readers.is_xlsx(p.filename):
            source = xlsx.open_xlsx(self.path, self.limits)
        else:
            fallback = self.settings.import_fallback_encoding
            source = readers.open_csv(
                self.path, self.limits, encoding=p.encoding, delimiter=p.delimiter, fallback=fallback
            )
        with source as opened:
            readers.check_columns(opened.header, self.limits)
            columns = validate.match_header(self.target, opened.header)
            if not self.logged:
                self.logged = True
                self.ctx.log(describe_reading(p.filename, opened, columns, self.target))
            yield opened, columns

    def checker(self, columns: list[targets.Column]) -> contextlib.closing[validate.RowChecker]:
        return contextlib.closing(validate.RowChecker(self.target, columns))

    def run(self) -> None:
        p, ctx = self.params, self.ctx
        if p.on_error == "fail":
            with ctx.subtask("Check every row") as step:
                rejected, rows = self.check_all()
                step.message = f"{rows:,} rows checked, {rejected:,} rejected"
            if rejected:
                summary = f"{p.filename}: {rejected:,} of {rows:,} rows rejected, so nothing was imported"
                if p.dry_run:
                    set_description(ctx, f"Dry run of {summary} (on_error=fail)")
                    return
                set_description(ctx, summary)
                raise errors.ImportRejected(f"{summary} (on_error=fail); see the error report.")
        self.write_all()

    def check_all(self) -> tuple[int, int]:
        """The whole file validated, nothing written: the fail policy's first pass."""
        errors_csv, rejected_csv = report.ErrorReport(), None
        rows = 0
        try:
            with self.open() as (opened, columns), self.checker(columns) as checker:
                rejected_csv = report.RejectedRows(opened.header, opened.delimiter or ",")
                for _first, _last, batch in opened.chunks(self.chunk_rows):
                    self.ctx.raise_if_cancelled()
                    rows += len(batch)
                    _, rejected = checker.check_batch(batch)
                    for _number, cells, problems in rejected:
                        errors_csv.add(problems)
                        rejected_csv.add(cells)
            if errors_csv.rejected_rows:
                self.attach(errors_csv, None, None)
            return errors_csv.rejected_rows, rows
        finally:
            errors_csv.close()
            if rejected_csv:
                rejected_csv.close()

    def write_all(self) -> None:
        ctx, p = self.ctx, self.params
        finished = set() if p.dry_run else ctx.finished_subtasks()
        errors_csv, rejected_csv = report.ErrorReport(), None
        results: list[report.ChunkResult] = []
        progress = _Progress(ctx)
        try:
            with self.open() as (opened, columns), self.checker(columns) as checker:
                rejected_csv = report.RejectedRows(opened.header, opened.delimiter or ",")
                out = writer.Writer(self.target, [c.name for c in columns], ctx.db.engine.dialect)
                for first, last, batch in opened.chunks(self.chunk_rows):
                    ctx.raise_if_cancelled()
                    result = report.ChunkResult(chunk_name(first, last), first, last, rows=len(batch))
                    valid, rejected = checker.check_batch(batch)
                    for _number, cells, problems in rejected:
                        errors_csv.add(problems)
                        rejected_csv.add(cells)
                    result.rejected = len(rejected)
                    self.write_chunk(out, result, valid, finished)
                    results.append(result)
                    progress.update(last, opened.estimated_rows)
            totals = report.Totals.of(results)
            progress.update(totals.rows, totals.rows, final=True)
            self.attach(errors_csv, rejected_csv, (results, totals))
        except (errors.LeaseLost, errors.JobCancelled):
            raise
        except Exception:
            if results or errors_csv.rows:  # a file refused before its first chunk has nothing to report
                with contextlib.suppress(Exception):
                    self.attach(errors_csv, rejected_csv, (results, report.Totals.of(results)))
            raise
        finally:
            errors_csv.close()
            if rejected_csv:
                rejected_csv.close()
        self.finish(totals)

    def write_chunk(
        self, out: writer.Writer, result: report.ChunkResult, valid: list[tuple[Any, ...]], finished: set[str]
    ) -> None:
        ctx = self.ctx
        if result.name in finished:
            result.written = len(valid)
            result.created = result.updated = None
            result.note = "written by an earlier attempt"
            return
        with ctx.subtask(result.name) as step:
            if self.params.dry_run:
                with ctx.db.read() as conn:
                    result.updated = out.existing(conn, valid)
                result.created = len(valid) - result.updated
                result.note = "dry run: nothing written"
                result.written = len(valid)
                step.message = f"dry run: {len(valid):,} would be written, {result.rejected:,} rejected"
                return
            step.message = f"{len(valid):,} written, {result.rejected:,} rejected"
            # The rows and the subtask's completion commit together, retried through a database restart.
            result.created, result.updated = step.commit(lambda conn: out.write(conn, valid))
        result.written = len(valid)

    def attach(
        self,
        errors_csv: report.ErrorReport,
        rejected_csv: report.RejectedRows | None,
        summary: tuple[list[report.ChunkResult], report.Totals] | None,
    ) -> None:
        ctx = self.ctx
        if summary is not None:
            ctx.attach(model.FileKind.OUTPUT, f"{self.stem}-summary.csv", [report.summary_csv(*summary)])
        if errors_csv.rows:
            ctx.attach(model.FileKind.ERROR_REPORT, f"{self.stem}-errors.csv", errors_csv.stream())
        if rejected_csv is not None and rejected_csv.rows and self.params.on_error == "skip":
            ctx.attach(model.FileKind.OUTPUT, f"{self.stem}-rejected-rows.csv", rejected_csv.stream())

    def finish(self, totals: report.Totals) -> None:
        p = self.params
        if p.dry_run:
            text = (
                f"Dry run of {p.filename}: {totals.written:,} would be imported, {totals.rejected:,} rejected; "
                "nothing was written"
            )
        else:
            text = f"{p.filename}: {totals.written:,} imported, {totals.rejected:,} rejected"
        set_description(self.ctx, text)


@job_type(
    JOB_TYPE,
    title="Import",
    tab=model.Tab.IMPORTS,
    audience="everyone",
    max_attempts=MAX_ATTEMPTS,
    params=ImportParams,
    describe=describe,
)
def run_import(ctx: JobContext) -> None:
    """Import the job's input file into its target; see DESIGN.md §5 and docs/imports.md."""
    params = ImportParams.model_validate(ctx.params)
    inputs = ctx.input_files()
    if not inputs:
        raise errors.ImportRejected("The import has no input file.")
    with ctx.files.local_path(inputs[0].storage_key) as path, fewer_collections():
        ImportRun(ctx, params, path).run()
