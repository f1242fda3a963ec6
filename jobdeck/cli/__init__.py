"""The `jobdeck` command (also `python -m jobdeck`): each subcommand group lives in its own module."""

from __future__ import annotations

import importlib

import click

from jobdeck import errors, settings
from jobdeck.cli import logs

#: Each command and the module under jobdeck.cli that defines it. A module is imported only when its
#: command runs: `jobdeck worker` then never loads the web server, whose imports double a worker's start-up.
COMMANDS = {
    "db": "db",
    "import": "imports",
    "jobs": "jobs",
    "queues": "queues",
    "serve": "serve",
    "users": "users",
    "worker": "worker",
    "workers": "workers",
}

#: The commands that use a database that must be there already: only `db upgrade`, `serve` and `worker`
#: create one, and a command run from the wrong folder must not answer from a new, empty database.
#: (`db current` answers "none" for a missing database, without creating one.)
NEED_DATABASE = {("jobs",), ("users",), ("import",), ("queues",), ("workers",)}
#: The ones that run for long, and say once, at start, which database they use.
LONG_RUNNING = {("serve",), ("worker",)}
HELP = {"-h", "--help"}


class _Jobdeck(click.Group):
    """The top-level group: whatever jobdeck error a command lets through is one `Error:` line, exit 1;
    and before a command runs, which database it uses is settled here, once for every command."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except errors.JobdeckError as exc:
            raise click.ClickException(exc.message) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = super().get_command(ctx, name)
        if found is not None or name not in COMMANDS:
            return found
        module = importlib.import_module(f"jobdeck.cli.{COMMANDS[name]}")
        holder = click.Group()
        module.register(holder)
        return holder.commands[name]

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and command is not None and not ctx.resilient_parsing and not HELP & set(rest):
            _settle_database((name, *rest[:1]))
        return name, command, rest


def _settle_database(words: tuple[str, ...]) -> None:
    """Refuse a database that is not there yet to a command that needs one; say which one a server uses."""
    if words[:1] in NEED_DATABASE or words in NEED_DATABASE:
        from jobdeck import wiring  # here: a command that needs no database does not load the whole service

        wiring.require_database(settings.read())
    elif words[:1] in LONG_RUNNING:
        click.echo(f"Database: {settings.shown_url(settings.read().resolved_database_url)}")


@click.group(cls=_Jobdeck, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def cli(verbose: bool) -> None:
    """jobdeck: background jobs, imports, and the Job Management page."""
    logs.configure(verbose)


def main(args: list[str] | None = None) -> None:
    cli.main(args=args, prog_name="jobdeck")
