"""`jobdeck import FILE --target T`: an import queued as the web queues it, watched to its end."""

from __future__ import annotations

import json
import pathlib
import threading
import time

import click
import rich.console
import rich.progress
import rich.table

from jobdeck import model, previewing, views
from jobdeck.cli.db import one_line_errors, open_service
from jobdeck.runner.worker import Worker
from jobdeck.service import JobDetail, Service
from jobdeck.web import preview as web_preview

POLL_S = 0.2


def _uploader(service: Service, as_user: str | None) -> model.User:
    """The --as user, else the only enabled admin."""
    if as_user:
        return service.accounts.user(as_user)
    admins = [u for u in service.accounts.users() if u.is_admin and not u.disabled]
    if len(admins) != 1:
        found = "There are no admins" if not admins else f"There are {len(admins)} admins"
        raise click.ClickException(f"{found}; name the user the import runs as with --as USER.")
    return admins[0]


def _watch(service: Service, user: model.User, job: model.Job, console: rich.console.Console) -> model.Job:
    """Poll the job until it ends, with a progress bar of rows on stderr."""
    columns = (
        rich.progress.TextColumn("{task.description}"),
        rich.progress.BarColumn(),
        rich.progress.MofNCompleteColumn(),
        rich.progress.TimeElapsedColumn(),
    )
    with rich.progress.Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"Import {job.params['filename']}", total=None)
        while not job.status.is_terminal:
            time.sleep(POLL_S)
            job = service.get_job(user, job.id)
            bar.update(task, completed=job.progress_done, total=job.progress_total)
    return job


def _summary(detail: JobDetail) -> list[str]:
    job = detail.job
    lines = [f"Job {job.id} {job.status.value}: {job.description}"]
    if job.error:
        lines.append(f"Error: {job.error}")
    for f in detail.files:
        if f.kind is not model.FileKind.INPUT:
            lines.append(
                f"{f.kind.value.replace('_', ' ').capitalize()}: {f.name} ({views.download_url(job.id, f.id)})"
            )
    return lines


def _in_process_worker(service: Service) -> tuple[Worker, threading.Thread] | None:
    """A worker in this process when none is running, so `jobdeck import` works on its own."""
    if service.stats().live_workers:
        return None
    worker = service.worker(1)
    thread = threading.Thread(target=worker.run, name="jobdeck-import-worker", daemon=True)
    thread.start()
    return worker, thread


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@click.option("--target", "-t", required=True, help="The import target, e.g. contacts.")
@click.option("--on-error", type=click.Choice(["skip", "fail"]), default="skip", show_default=True)
@click.option("--dry-run", is_flag=True, help="Check and count everything, write nothing.")
@click.option("--encoding", help="The file's encoding (default: detected; BOM, UTF-8, then cp1252).")
@click.option("--delimiter", help="comma, semicolon, tab or pipe (default: detected).")
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="'FILE COLUMN=target_column'",
    help="Feed a target column from a file column (nothing after = ignores the file column); repeatable. "
    "Columns not named are matched automatically.",
)
@click.option("--sheet", metavar="NAME_OR_NUMBER", help="The XLSX sheet (default: the first whose header matches).")
@click.option("--header-row", type=click.IntRange(1), help="The header's row, 1-based (default: detected).")
@click.option(
    "--preview", is_flag=True, help="Print what was detected, the mapping and the first rows; import nothing."
)
@click.option("--as", "as_user", metavar="USER", help="Run the import as this user (default: the only admin).")
@click.option("--json", "as_json", is_flag=True, help="Print the job's detail (or the preview) as the API returns it.")
@one_line_errors
def import_command(
    file: pathlib.Path,
    target: str,
    on_error: str,
    dry_run: bool,
    encoding: str | None,
    delimiter: str | None,
    maps: tuple[str, ...],
    sheet: str | None,
    header_row: int | None,
    preview: bool,
    as_user: str | None,
    as_json: bool,
) -> None:
    """Import FILE (CSV or XLSX) into an import target; exit 0 only when the job completed (with --preview:
    when the mapping can be used)."""
    console = rich.console.Console(stderr=True, markup=False, highlight=False)
    mapping = parse_maps(maps)
    with open_service() as service:
        user = _uploader(service, as_user)
        if preview:
            with open(file, "rb") as source:
                found = previewing.preview_upload(
                    service,
                    user,
                    source,
                    file.name,
                    target,
                    encoding=encoding,
                    delimiter=delimiter,
                    sheet=sheet,
                    header_row=header_row,
                    mapping=mapping,
                )
            show_preview(found, as_json)
            raise SystemExit(0 if found.mapping.ok else 1)
        with open(file, "rb") as source:
            job = service.start_import(
                user,
                source,
                file.name,
                target,
                on_error=on_error,
                dry_run=dry_run,
                encoding=encoding,
                delimiter=delimiter,
                run_at=None,
                mapping=mapping,
                sheet=sheet,
                header_row=header_row,
            )
        local = _in_process_worker(service)
        try:
            job = _watch(service, user, job, console)
        except KeyboardInterrupt:
            console.print(f"Stopped watching; job {job.id} goes on (cancel it with `jobdeck jobs cancel {job.id}`).")
            raise SystemExit(130) from None
        finally:
            if local:
                local[0].stop()
                local[1].join(30)
        detail = service.job_detail(user, job.id)
    if as_json:
        click.echo(json.dumps(views.job_document(detail), indent=2, ensure_ascii=False))
    else:
        for line in _summary(detail):
            click.echo(line)
    if detail.job.status is not model.Status.COMPLETED:
        raise SystemExit(1)


def parse_maps(maps: tuple[str, ...]) -> dict[str, str | None] | None:
    """`--map 'FILE COLUMN=target_column'` options as a mapping; an empty target column ignores the file column."""
    if not maps:
        return None
    mapping: dict[str, str | None] = {}
    for item in maps:
        file_column, equals, column = item.rpartition("=")
        if not equals or not file_column.strip():
            raise click.BadParameter(f"{item!r} is not 'FILE COLUMN=target_column'.", param_hint="--map")
        mapping[file_column.strip()] = column.strip() or None
    return mapping


def show_preview(found: previewing.Preview, as_json: bool) -> None:
    """The preview as the API returns it (--json), or as tables: what was detected, the mapping, the rows."""
    if as_json:
        click.echo(json.dumps(web_preview.preview_body(found), indent=2, ensure_ascii=False))
        return
    out = rich.console.Console(markup=False, highlight=False, width=160)
    detected = [f"{found.filename} into {found.target}"]
    if found.kind == "csv":
        detected.append(f"encoding {found.encoding}, {previewing.delimiter_name(found.delimiter)}-delimited")
    else:
        detected.append(f"sheet {found.sheet!r} (of {', '.join(map(repr, found.sheets))})")
    detected.append(f"header on row {found.header_row}; mapping: {found.mapping_source}")
    out.print("; ".join(detected))
    table = rich.table.Table("Target column", "Required", "File column", "How", "Confidence", title="Mapping")
    for m in found.mapping.matches:
        shown = f"{m.confidence:.0%}" if m.file_column is not None else ""
        table.add_row(m.column, "yes" if m.required else "", m.file_column or "", m.how or "", shown)
    out.print(table)
    for s in found.mapping.suggestions:
        out.print(f"Suggestion: {s.file_column!r} may be {s.column} ({s.confidence:.0%}); map it with --map")
    if found.mapping.ignored:
        out.print("Ignored file columns: " + ", ".join(map(repr, found.mapping.ignored)))
    for problem in (*found.mapping.errors, *found.notes):
        out.print(problem)
    rows = rich.table.Table("Row", *found.header, title=f"First {len(found.rows)} rows")
    for number, cells in found.rows:
        rows.add_row(str(number), *cells[: len(found.header)])
    out.print(rows)


def register(cli: click.Group) -> None:
    """Add `jobdeck import` to the `jobdeck` group."""
    cli.add_command(import_command)
