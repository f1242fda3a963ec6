"""How the command line prints a job, a grid or any table: rich tables without markup (descriptions, file names
and messages are user data, printed as they are)."""

from __future__ import annotations

from typing import Any

import click
import rich.console
import rich.table

from jobdeck import model, views
from jobdeck.cli import bulk as bulk_cli
from jobdeck.service import JobDetail

WIDE_COLUMNS = 200


def progress(job: model.Job) -> str:
    if job.progress_total:
        return f"{job.progress_done}/{job.progress_total}"
    return str(job.progress_done) if job.progress_done else ""


def print_table(renderable: Any) -> None:
    # No markup: descriptions, file names and messages are user data, printed as they are.
    console = rich.console.Console(markup=False, highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, WIDE_COLUMNS)  # piped into a file or grep: do not squeeze the grid
    console.print(renderable)


def print_detail(detail: JobDetail) -> None:
    job = detail.job
    fields = rich.table.Table.grid(padding=(0, 2))
    for label, value in [
        ("Job ID", str(job.id)),
        ("Job", detail.title),
        ("Job Description", job.description),
        ("Status", views.status_label(job.status)),
        ("Start", views.clock(job.started_at)),
        ("End", "Still in progress" if job.status is model.Status.IN_PROGRESS else views.clock(job.ended_at)),
        ("Failed", views.clock(job.failed_at)),
        ("Job Run By", job.run_by or "system"),
        ("Job Run At", job.run_at or ""),
        ("Progress", progress(job)),
        ("Attempt", f"{job.attempt} of {job.max_attempts}"),
        ("Waiting", views.waiting(job) or ""),
        ("Error", job.error or ""),
    ]:
        if value:
            fields.add_row(label, value)
    print_table(fields)
    if detail.files:
        files = rich.table.Table("Kind", "Name", "Size", "Download", title="Files")
        for f in detail.files:
            files.add_row(f.kind.value, f.name, str(f.size), views.download_url(f.job_id, f.id))
        print_table(files)
    mapping = views.column_mapping(job)
    if mapping:
        columns = rich.table.Table("File column", "Target column", title="Column mapping")
        for file_column, column in mapping.items():
            columns.add_row(file_column, column or "(ignored)")
        print_table(columns)
    if detail.subtasks:
        subtasks = rich.table.Table("Task", "Status", "Start", "End", "Message", title="Subtasks")
        for s in detail.subtasks:
            subtasks.add_row(
                s.name, s.status.value, views.clock(s.started_at), views.clock(s.ended_at), s.message or ""
            )
        print_table(subtasks)
    if detail.attempts:
        runs = rich.table.Table("Attempt", "Worker", "Start", "End", "Outcome", "Error", title="Attempts")
        for a in detail.attempts:
            runs.add_row(
                f"{a.attempt} of {job.max_attempts}",
                a.worker_id or "",
                views.clock(a.started_at),
                views.clock(a.ended_at) if a.ended_at else "Still in progress",
                views.attempt_outcome(a),
                a.error or "",
            )
        print_table(runs)
    for line in detail.log:
        click.echo(f"{views.clock(line.at)} {line.level.upper():7} {line.message}")
    if history := bulk_cli.history_table(detail):
        print_table(history)
