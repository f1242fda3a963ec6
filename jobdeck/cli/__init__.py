"""The `jobdeck` command (also `python -m jobdeck`): each subcommand group lives in its own module."""

from __future__ import annotations

import click

from jobdeck import errors
from jobdeck.cli import db, imports, jobs, logs, serve, users, worker


class _Jobdeck(click.Group):
    """The top-level group: whatever jobdeck error a command lets through is one `Error:` line, exit 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except errors.JobdeckError as exc:
            raise click.ClickException(exc.message) from None


@click.group(cls=_Jobdeck, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def cli(verbose: bool) -> None:
    """jobdeck: background jobs, imports, and the Job Management page."""
    logs.configure(verbose)


for module in (serve, worker, db, users, jobs, imports):
    module.register(cli)


def main(args: list[str] | None = None) -> None:
    cli.main(args=args, prog_name="jobdeck")
