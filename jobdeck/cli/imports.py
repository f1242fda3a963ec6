"""`jobdeck import FILE --target T`: an import queued as the web queues it, watched to its end."""

from __future__ import annotations

import json
import pathlib
import threading
import time

import click
import rich.console
import rich.progress

from jobdeck import model, views
from jobdeck.cli.db import one_line_errors, open_service
from jobdeck.runner.worker import Worker
from jobdeck.service import JobDetail, Service

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
@click.option("--as", "as_user", metavar="USER", help="Run the import as this user (default: the only admin).")
@click.option("--json", "as_json", is_flag=True, help="Print the job's detail as the API returns it.")
@one_line_errors
def import_command(
    file: pathlib.Path,
    target: str,
    on_error: str,
    dry_run: bool,
    encoding: str | None,
    delimiter: str | None,
    as_user: str | None,
    as_json: bool,
) -> None:
    """Import FILE (CSV or XLSX) into an import target; exit 0 only when the job completed."""
    console = rich.console.Console(stderr=True, markup=False, highlight=False)
    with open_service() as service:
        user = _uploader(service, as_user)
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


def register(cli: click.Group) -> None:
    """Add `jobdeck import` to the `jobdeck` group."""
    cli.add_command(import_command)
