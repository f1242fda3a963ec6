"""The `import` job type: a stored upload into a target's table, chunk by chunk, resumable after a crash.

The file is read and checked in a capped child process (imports/pipeline.py, runner/isolation.py), which
sends checked chunks; this side writes each chunk with its completed subtask in one transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import operator
import pathlib
from collections.abc import Iterator
from typing import Any, Literal

import pydantic

from jobdeck import errors, model
from jobdeck.imports import gcpause, pipeline, readers, report, targets, validate, writer
from jobdeck.runner import isolation
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import REGISTRY, job_type

JOB_TYPE = "import"
MAX_ATTEMPTS = 3
#: How a failed child reads to the user.
WORDING = isolation.Wording(
    subject="reading this file",
    memory_advice="split it into smaller files, or ask an administrator to raise JOBDECK_IMPORT_MAX_MEMORY_MB",
    cpu_advice="split it into smaller files, or ask an administrator to raise JOBDECK_IMPORT_MAX_CPU_SECONDS",
)


class ImportParams(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    target: str = pydantic.Field(min_length=1, max_length=100)
    filename: str = pydantic.Field(min_length=1, max_length=255)
    on_error: Literal["skip", "fail"] = "skip"
    dry_run: bool = False
    encoding: str | None = pydantic.Field(default=None, max_length=40)
    delimiter: str | None = pydantic.Field(default=None, max_length=1)
    sheet: str | None = pydantic.Field(default=None, max_length=200)  #: a name or 1-based number; None: detected
    header_row: int | None = pydantic.Field(default=None, ge=1)  #: 1-based; None: detected
    mapping: dict[str, str | None] | None = None  #: file column -> target column (None: ignored); see choices.py
    header: list[str] | None = None  #: the file's header as the mapping was checked against it


def describe(params: dict[str, Any]) -> str:
    """The grid's description while the job waits: "contacts.csv into Contacts"."""
    name = params.get("target", "")
    title = targets.TARGETS.get(name).title if name in targets.TARGETS else name
    dry = " (dry run)" if params.get("dry_run") else ""
    return f"{params.get('filename', '')} into {title}{dry}"


def set_description(ctx: JobContext, text: str) -> None:
    """The final description, counts included, written while the lease holds."""
    ctx.describe(text)


@dataclasses.dataclass(frozen=True)
class Reading:
    """What the child found when it opened the file (its first message)."""

    header: list[str]
    delimiter: str
    columns: list[str]
    estimated_rows: int


def unpack(message: tuple[Any, ...]) -> tuple[int, int, int, int, list[tuple[Any, ...]] | None, pipeline.Rejected]:
    """A "chunk" message (pipeline.py) as (first, last, rows, valid_count, valid_rows | None, rejected)."""
    _tag, first, last, count, valid_count, payload = message
    rows, rejected = isolation.loads(payload)
    return first, last, count, valid_count, rows, rejected


class ImportRun:
    """One attempt at one import: reads the file once per pass (in a child) and keeps that attempt's reports."""

    def __init__(self, ctx: JobContext, params: ImportParams, path: pathlib.Path) -> None:
        self.ctx = ctx
        self.params = params
        self.path = path
        self.settings = ctx.settings
        self.target = targets.TARGETS.get(params.target)
        self.stem = pathlib.PurePath(params.filename).stem or "import"
        self.caps = isolation.Caps.of(REGISTRY.get(JOB_TYPE), self.settings)
        self.logged = False

    def order(self, *, check_only: bool = False, skip: set[str] | None = None) -> pipeline.ReadOrder:
        p, s = self.params, self.settings
        return pipeline.ReadOrder(
            path=str(self.path),
            filename=p.filename,
            target=p.target,
            modules=s.job_module_names,
            limits=dataclasses.asdict(readers.Limits.from_settings(s)),
            chunk_rows=s.import_chunk_rows,
            fallback=s.import_fallback_encoding,
            encoding=p.encoding,
            delimiter=p.delimiter,
            check_only=check_only,
            skip=sorted(skip or ()),
            sheet=p.sheet,
            header_row=p.header_row,
            mapping=p.mapping,
        )

    @contextlib.contextmanager
    def read(self, order: pipeline.ReadOrder) -> Iterator[tuple[Reading, Iterator[Any]]]:
        """The child reading the file: what it found, then its chunk messages (see pipeline.py)."""
        entry = "jobdeck.imports.pipeline:read"
        with isolation.child(self.ctx, self.caps, entry, order.as_args(), WORDING, preload=order.modules) as messages:
            first = next(messages, None)
            if first is None:  # the entry always sends its header first, or raises
                raise isolation.ChildStopped("The process reading this file ended without reading it.")
            _, text, estimated, header, delimiter, columns, ignored = first
            if not self.logged:
                self.logged = True
                self.ctx.log(text)
                if ignored:
                    self.ctx.log(
                        f"Ignored file columns (no column of {self.target.title} takes them): "
                        + ", ".join(map(repr, ignored))
                    )
            yield Reading(header, delimiter, columns, estimated), messages

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
        """The whole file checked in the child, nothing written: the fail policy's first pass."""
        errors_csv, rejected_csv = report.ErrorReport(), None
        rows = 0
        try:
            with self.read(self.order(check_only=True)) as (reading, messages):
                rejected_csv = report.RejectedRows(reading.header, reading.delimiter)
                for _first, _last, count, _valid_count, _valid, rejected in map(unpack, messages):
                    self.ctx.raise_if_cancelled()
                    rows += count
                    self.add_rejected(rejected, errors_csv, rejected_csv)
            if errors_csv.rejected_rows:
                self.attach(errors_csv, None, None)
            return errors_csv.rejected_rows, rows
        finally:
            errors_csv.close()
            if rejected_csv:
                rejected_csv.close()

    @staticmethod
    def add_rejected(
        rejected: pipeline.Rejected, errors_csv: report.ErrorReport, rejected_csv: report.RejectedRows
    ) -> None:
        for number, cells, problems in rejected:
            errors_csv.add([validate.Problem(number, *problem) for problem in problems])
            rejected_csv.add(cells)

    def write_all(self) -> None:
        ctx, p = self.ctx, self.params
        finished = set() if p.dry_run else ctx.finished_subtasks()
        errors_csv, rejected_csv = report.ErrorReport(), None
        results: list[report.ChunkResult] = []
        try:
            with self.read(self.order(skip=finished)) as (reading, messages):
                rejected_csv = report.RejectedRows(reading.header, reading.delimiter)
                out = writer.Writer(self.target, reading.columns, ctx.db.engine.dialect)
                for first, last, count, valid_count, valid, rejected in map(unpack, messages):
                    ctx.raise_if_cancelled()
                    result = report.ChunkResult(pipeline.chunk_name(first, last), first, last, rows=count)
                    self.add_rejected(rejected, errors_csv, rejected_csv)
                    result.rejected = len(rejected)
                    progress = (last, max(last, reading.estimated_rows))
                    self.write_chunk(out, result, valid, valid_count, finished, progress)
                    results.append(result)
            totals = report.Totals.of(results)
            ctx.progress(totals.rows, totals.rows)
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
        self,
        out: writer.Writer,
        result: report.ChunkResult,
        valid: list[tuple[Any, ...]] | None,
        valid_count: int,
        finished: set[str],
        progress: tuple[int, int],
    ) -> None:
        """The chunk's rows, its Completed subtask and the progress: one transaction, one commit."""
        ctx = self.ctx
        result.written = valid_count
        if result.name in finished or valid is None:
            result.created = result.updated = None
            result.note = "written by an earlier attempt"
            return
        if self.params.dry_run:
            with ctx.db.read() as conn:
                result.updated = out.existing(conn, valid)
            result.created = len(valid) - result.updated
            result.note = "dry run: nothing written"
            message = f"dry run: {len(valid):,} would be written, {result.rejected:,} rejected"
            ctx.completed_subtask(result.name, lambda _conn: None, message, progress)
            return
        message = f"{len(valid):,} written, {result.rejected:,} rejected"
        try:
            result.created, result.updated = ctx.completed_subtask(
                result.name, lambda conn: out.write(conn, valid), message, progress
            )
        except errors.LeaseLost:
            raise
        except Exception as exc:  # the chunk is shown Failed, with the database's reason
            with contextlib.suppress(Exception), ctx.subtask(result.name):
                raise exc from None
            raise

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
    # Attempts are for lost workers and a database away for longer than the lease; a row or chunk the
    # database refuses fails the import at once (another attempt would be refused the same way).
    retry_on=(errors.DatabaseUnavailable,),
    params=ImportParams,
    describe=describe,
    isolated=True,
    memory_mb=operator.attrgetter("import_max_memory_mb"),
    cpu_seconds=operator.attrgetter("import_max_cpu_seconds"),
)
def run_import(ctx: JobContext) -> None:
    """Import the job's input file into its target; see docs/imports.md."""
    params = ImportParams.model_validate(ctx.params)
    inputs = ctx.input_files()
    if not inputs:
        raise errors.ImportRejected("The import has no input file.")
    with ctx.files.local_path(inputs[0].storage_key) as path, gcpause.fewer_collections():
        ImportRun(ctx, params, path).run()
