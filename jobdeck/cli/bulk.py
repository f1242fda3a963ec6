"""The command line's side of acting on many jobs: the filters of `jobdeck jobs cancel|retry --all` and
`jobdeck jobs export`, the confirmation, and a job's history for `jobdeck jobs show`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import click
import rich.table

from jobdeck import bulk, model, views
from jobdeck.cli.db import one_line_errors, open_service
from jobdeck.query import JobFilter, JobQuery
from jobdeck.service import JobDetail, Service

#: A command function, before click makes it a command.
Command = Callable[..., Any]
#: How the jobs group finds the user a command acts as (its --as, or the console's administrator).
Acting = Callable[[Service, str | None], model.User | None]
Action = Literal["cancel", "retry"]
#: What each bulk action says it did.
DONE = {"cancel": "Cancelled (or asked to stop)", "retry": "Retried"}


def filter_options(func: Command) -> Command:
    """The list's filters, as `jobdeck jobs list` takes them."""
    for option in reversed(
        [
            click.option(
                "--status", "statuses", multiple=True, help="queued, in_progress, completed, failed, cancelled."
            ),
            click.option("--type", "type_name", help="Only jobs of this type."),
            click.option("--tab", type=click.Choice([t.value for t in model.Tab]), help="General or Imports."),
            click.option("--run-by", help="Only jobs this user started."),
            click.option("--q", help="A job id or words of the description."),
        ]
    ):
        func = option(func)
    return func


def all_options(func: Command) -> Command:
    """--all with the filters that choose the jobs, and --yes to skip the question."""
    func = filter_options(func)
    func = click.option("--yes", "-y", is_flag=True, help="Do not ask: act on the matching jobs.")(func)
    return click.option("--all", "every", is_flag=True, help="Every job matching the filters (not one JOB_ID).")(func)


def query_of(
    statuses: tuple[str, ...] = (),
    type_name: str | None = None,
    tab: str | None = None,
    run_by: str | None = None,
    q: str | None = None,
    sort: str = "id",
    order: str = "desc",
) -> JobQuery:
    try:
        wanted = tuple(model.Status(s.strip()) for value in statuses for s in value.split(",") if s.strip())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--status") from None
    flt = JobFilter(
        tab=model.Tab(tab) if tab else None, statuses=wanted, type=type_name, run_by=run_by, q=(q or "").strip() or None
    )
    return JobQuery(filter=flt, sort=sort, order=order)


def chosen(job_id: int | None, every: bool, filters: dict[str, Any]) -> int | None:
    """The one job a command acts on, or None for every job matching the filters (--all); a mix of the two
    is refused before anything is opened."""
    if every and job_id is not None:
        raise click.UsageError("Give a JOB_ID or --all, not both.")
    if not every and job_id is None:
        raise click.UsageError("Give a JOB_ID, or --all to act on every job matching the filters.")
    if not every and any(filters.values()):
        raise click.UsageError("The filters choose the jobs of --all; with a JOB_ID, leave them out.")
    return job_id


def act_on_all(service: Service, user: model.User | None, action: Action, yes: bool, filters: dict[str, Any]) -> None:
    """Count the matching jobs, ask (unless --yes), then act on them as the page and the API do."""
    assert user is not None  # the console acts as an administrator unless --as names someone
    query = query_of(**filters)
    matched = bulk.count(service, user, query)
    if matched == 0:
        click.echo("No jobs match these filters.")
        return
    if not yes:
        click.confirm(f"{action.title()} {matched} job{'' if matched == 1 else 's'}?", abort=True)
    outcome = bulk.ACTIONS[action](service, user, query, matched)
    skipped = f"; {outcome.skipped} skipped (not in a state that allows it)" if outcome.skipped else ""
    click.echo(f"{DONE[action]} {outcome.acted} of {outcome.matched} jobs{skipped}.")


def export_command(as_option: Callable[[Command], Command], acting: Acting) -> click.Command:
    """`jobdeck jobs export`, with the group's --as and its way of finding the user to act as."""

    @click.command("export")
    @filter_options
    @click.option("--sort", default="id", show_default=True, help="A grid column: id, created_at, started_at, …")
    @click.option("--order", type=click.Choice(["asc", "desc"]), default="desc", show_default=True)
    @as_option
    @one_line_errors
    def export(as_user: str | None, **filters: Any) -> None:
        """Every job matching the filters as CSV on stdout, with the grid's columns (`> jobs.csv`)."""
        with open_service() as service:
            user = acting(service, as_user)
            assert user is not None
            chunks = views.export_csv(bulk.walk(service, user, query_of(**filters)), service.registry.title)
            for chunk in chunks:  # as GET /api/v1/jobs/export.csv streams them; bytes go out as they are
                click.echo(chunk, nl=False)

    return export


def history_table(detail: JobDetail) -> rich.table.Table | None:
    """A job's audit trail for `jobdeck jobs show`; None when nobody cancelled or retried it."""
    if not detail.events:
        return None
    table = rich.table.Table("When", "Who", "What", title="History")
    for e in detail.events:
        what = views.EVENT_LABELS.get(e.action, e.action)
        table.add_row(views.clock(e.at), e.actor, f"{what} {e.detail}".strip())
    return table
