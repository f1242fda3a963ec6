"""`jobdeck jobs list|show|cancel|retry|export|enqueue|stats`: the Job Management page on the command line."""

from __future__ import annotations

import json
import time
from typing import Any

import click
import rich.console
import rich.table

from jobdeck import model, views
from jobdeck.cli import bulk as bulk_cli
from jobdeck.cli import printing, when
from jobdeck.cli.db import one_line_errors, open_service
from jobdeck.query import MAX_PAGE, JobFilter, JobQuery
from jobdeck.service import Service

#: Whom list, show, cancel and retry act as without --as: an operator at the console sees every job.
CONSOLE_ADMIN = model.User(id=0, username="console", display_name="Console", is_admin=True)
as_option = click.option("--as", "as_user", metavar="USER", help="Act as this user (their view and rights).")


def _acting(service: Service, as_user: str | None, *, default: model.User | None) -> model.User | None:
    group = click.get_current_context().find_object(_Acting)
    name = as_user or (group.username if group else None)
    if not name:
        return default
    user = service.accounts.user(name)
    if user.disabled:
        # Said plainly here: the service would answer "no such job" or "no such job type" instead.
        raise click.ClickException(f"User {name!r} is disabled; `jobdeck users enable {name}` first.")
    return user


class _Acting:
    """The group-level --as, read by every subcommand that has none of its own."""

    def __init__(self, username: str | None) -> None:
        self.username = username


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group("jobs")
@as_option
@click.pass_context
def jobs_group(ctx: click.Context, as_user: str | None) -> None:
    """Background jobs: list, inspect, cancel, retry, enqueue, and queue statistics."""
    ctx.obj = _Acting(as_user)


@jobs_group.command("list")
@click.option("--tab", type=click.Choice([t.value for t in model.Tab]), help="General or Imports.")
@click.option("--status", "statuses", multiple=True, help="queued, in_progress, completed, failed, cancelled.")
@click.option("--type", "type_name", help="Only jobs of this type.")
@click.option("--run-by", help="Only jobs this user started.")
@click.option("--q", help="A job id or words of the description.")
@click.option("--sort", default="id", show_default=True, help="A grid column: id, created_at, started_at, …")
@click.option("--order", type=click.Choice(["asc", "desc"]), default="desc", show_default=True)
@click.option("--limit", type=click.IntRange(1, MAX_PAGE), default=50, show_default=True)
@click.option("--cursor", help="The next_cursor of the previous page.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON: {items, next_cursor}.")
@as_option
@one_line_errors
def list_jobs(
    tab: str | None,
    statuses: tuple[str, ...],
    type_name: str | None,
    run_by: str | None,
    q: str | None,
    sort: str,
    order: str,
    limit: int,
    cursor: str | None,
    as_json: bool,
    as_user: str | None,
) -> None:
    """A page of jobs, newest first (admins see every job, others their own)."""
    try:
        wanted = tuple(model.Status(s.strip()) for value in statuses for s in value.split(",") if s.strip())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--status") from None
    flt = JobFilter(tab=model.Tab(tab) if tab else None, statuses=wanted, type=type_name, run_by=run_by, q=q)
    query = JobQuery(filter=flt, sort=sort, order=order, limit=limit, cursor=cursor)
    with open_service() as service:
        user = _acting(service, as_user, default=CONSOLE_ADMIN)
        assert user is not None
        page = service.list_jobs(user, query)
        titles = {j.id: service.registry.title(j.type) for j in page.items}
    if as_json:
        _echo_json(views.page(page.items, page.next_cursor))
        return
    table = rich.table.Table("Status", "Job ID", "Job", "Description", "Start", "End", "Failed", "Run By", "Progress")
    for j in page.items:
        end = "Still in progress" if j.status is model.Status.IN_PROGRESS else views.clock(j.ended_at)
        table.add_row(
            views.status_label(j.status),
            str(j.id),
            titles[j.id],
            j.description,
            views.clock(j.started_at),
            end,
            views.clock(j.failed_at),
            j.run_by or "system",
            printing.progress(j),
        )
    printing.print_table(table)
    if page.next_cursor:
        click.echo(f"More: --cursor {page.next_cursor}")


@jobs_group.command("show")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the API's job detail JSON (with title and log).")
@as_option
@one_line_errors
def show(job_id: int, as_json: bool, as_user: str | None) -> None:
    """One job: its fields, files, subtasks (of its current attempt), attempts and log."""
    with open_service() as service:
        detail = service.job_detail(_acting(service, as_user, default=CONSOLE_ADMIN), job_id)
        if as_json:
            _echo_json(views.job_document(detail))
        else:
            printing.print_detail(detail)


@jobs_group.command("cancel")
@click.argument("job_id", type=int, required=False)
@bulk_cli.all_options
@as_option
@one_line_errors
def cancel(job_id: int | None, every: bool, yes: bool, as_user: str | None, **filters: Any) -> None:
    """Cancel a queued job, or ask a running one to stop; with --all, every job matching the filters."""
    target = bulk_cli.chosen(job_id, every, filters)
    with open_service() as service:
        user = _acting(service, as_user, default=CONSOLE_ADMIN)
        if target is None:
            bulk_cli.act_on_all(service, user, "cancel", yes, filters)
            return
        job = service.cancel(user, target)
    if job.status is model.Status.CANCELLED:
        click.echo(f"Cancelled job {job.id}.")
    else:
        click.echo(f"Asked job {job.id} to stop; it is cancelled when it next checks.")


@jobs_group.command("retry")
@click.argument("job_id", type=int, required=False)
@bulk_cli.all_options
@as_option
@one_line_errors
def retry(job_id: int | None, every: bool, yes: bool, as_user: str | None, **filters: Any) -> None:
    """Run a failed job again, as a new job with the same type, parameters and input files; with --all,
    every failed job matching the filters."""
    target = bulk_cli.chosen(job_id, every, filters)
    with open_service() as service:
        user = _acting(service, as_user, default=CONSOLE_ADMIN)
        if target is None:
            bulk_cli.act_on_all(service, user, "retry", yes, filters)
            return
        job = service.retry(user, target)
    click.echo(f"Queued job {job.id} (a retry of {job_id}).")


jobs_group.add_command(bulk_cli.export_command(as_option, lambda s, name: _acting(s, name, default=CONSOLE_ADMIN)))


def _param(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--param")
    try:
        value: Any = json.loads(raw)  # numbers, booleans, null and quoted strings keep their type
    except ValueError:
        value = raw
    return key.strip(), value


@jobs_group.command("enqueue")
@click.argument("type_name", metavar="TYPE")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A parameter (VALUE may be JSON).")
@click.option("--count", type=click.IntRange(1, 1_000_000), default=1, show_default=True, help="How many jobs.")
@when.in_option
@when.at_option
@as_option
@one_line_errors
def enqueue(
    type_name: str, params: tuple[str, ...], count: int, delay: float | None, at: str | None, as_user: str | None
) -> None:
    """Queue a job of TYPE (by default as the system; with --as, checked against that user's rights)."""
    values = dict(_param(p) for p in params)
    not_before, delay_seconds = when.start_time(delay, at)
    with open_service() as service:
        user = _acting(service, as_user, default=None)
        if count == 1:
            click.echo(
                str(service.start_job(user, type_name, values, not_before=not_before, delay_seconds=delay_seconds).id)
            )
        else:
            ids = service.enqueue_many(
                user, type_name, values, count, not_before=not_before, delay_seconds=delay_seconds
            )
            click.echo(f"Queued {len(ids)} jobs ({ids[0]}…{ids[-1]}).")


def _stats(service: Service) -> dict[str, Any]:
    stats = service.stats()
    oldest = stats.oldest_queued_at
    return {
        "by_status": stats.by_status,
        "oldest_queued_at": views.timestamp(oldest),
        "oldest_queued_age_seconds": round(time.time() - oldest.timestamp(), 3) if oldest else None,
        "live_workers": stats.live_workers,
    }


@jobs_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@one_line_errors
def stats(as_json: bool) -> None:
    """Jobs by status, the oldest queued job's age, and live workers."""
    with open_service() as service:
        data = _stats(service)
    if as_json:
        _echo_json(data)
        return
    table = rich.table.Table("Status", "Jobs")
    for status, count in data["by_status"].items():
        table.add_row(views.status_label(status), str(count))
    printing.print_table(table)
    age = data["oldest_queued_age_seconds"]
    click.echo(f"Oldest queued job: {f'{age:.1f}s old' if age is not None else 'none queued'}")
    click.echo(f"Live workers: {data['live_workers']}")


def register(cli: click.Group) -> None:
    """Add this module's commands to the `jobdeck` group."""
    cli.add_command(jobs_group)
