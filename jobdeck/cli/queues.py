"""`jobdeck queues list|pause NAME|resume NAME`: the Queues page on the command line, as the console admin."""

from __future__ import annotations

import json
from typing import Any

import click
import rich.table

from jobdeck import views
from jobdeck.cli.db import one_line_errors, open_service
from jobdeck.cli.jobs import CONSOLE_ADMIN
from jobdeck.cli.printing import print_table
from jobdeck.operations import Operations, QueueState


@click.group("queues")
def queues_group() -> None:
    """Queues: how many jobs wait on each, and pausing and resuming them."""


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _table(found: list[QueueState]) -> None:
    table = rich.table.Table("Queue", "State", "Waiting", "Oldest waiting", "Last paused")
    for q in found:
        paused = f"{views.clock(q.paused_at)} UTC by {q.paused_by or 'console'}" if q.paused_at else ""
        oldest = f"{q.oldest_age_s:.1f}s" if q.oldest_at else ""
        table.add_row(q.name, "paused" if q.paused else "running", str(q.depth), oldest, paused)
    print_table(table)


@queues_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON (GET /api/v1/queues).")
@one_line_errors
def list_queues(as_json: bool) -> None:
    """Every known queue: jobs waiting, the oldest one's age, paused or running."""
    with open_service() as service:
        found = Operations(service.wiring).queues(CONSOLE_ADMIN)
    if as_json:
        _echo_json([views.queue_document(q) for q in found])
    else:
        _table(found)


@queues_group.command("pause")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@one_line_errors
def pause(name: str, as_json: bool) -> None:
    """Stop workers taking NAME's jobs; running jobs finish normally."""
    with open_service() as service:
        state = Operations(service.wiring).pause(CONSOLE_ADMIN, name)
    _show(state, as_json)


@queues_group.command("resume")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@one_line_errors
def resume(name: str, as_json: bool) -> None:
    """Let workers take NAME's jobs again."""
    with open_service() as service:
        state = Operations(service.wiring).resume(CONSOLE_ADMIN, name)
    _show(state, as_json)


def _show(state: QueueState, as_json: bool) -> None:
    """One queue after a pause or a resume: as the API's JSON, or as a one-row table."""
    if as_json:
        _echo_json(views.queue_document(state))
    else:
        _table([state])


def register(cli: click.Group) -> None:
    """Add this module's commands to the `jobdeck` group."""
    cli.add_command(queues_group)
