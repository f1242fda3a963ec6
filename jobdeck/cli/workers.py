"""`jobdeck workers list`: the Workers page on the command line, as the console admin."""

from __future__ import annotations

import json

import click
import rich.table

from jobdeck import views
from jobdeck.cli.db import one_line_errors, open_service
from jobdeck.cli.jobs import CONSOLE_ADMIN
from jobdeck.cli.printing import print_table
from jobdeck.operations import Operations


@click.group("workers")
def workers_group() -> None:
    """Worker processes: their heartbeats and the jobs they run now."""


@workers_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON (GET /api/v1/workers).")
@one_line_errors
def list_workers(as_json: bool) -> None:
    """Every registered worker: host, pid, started, last heartbeat, concurrency, running jobs."""
    with open_service() as service:
        found = Operations(service.wiring).workers(CONSOLE_ADMIN)
    if as_json:
        click.echo(json.dumps([views.worker_document(w) for w in found], indent=2, ensure_ascii=False))
        return
    table = rich.table.Table("Host", "PID", "Started", "Last heartbeat", "Concurrency", "Running now")
    for w in found:
        running = ", ".join(f"{r.job_id} ({r.type})" for r in w.running) or "idle"
        started = f"{views.clock(w.started_at)} UTC" if w.started_at else ""
        table.add_row(w.hostname, str(w.pid), started, f"{w.heartbeat_age_s:.1f}s ago", str(w.concurrency), running)
    print_table(table)


def register(cli: click.Group) -> None:
    """Add this module's commands to the `jobdeck` group."""
    cli.add_command(workers_group)
