"""`jobdeck db upgrade|current`, and how every command opens the service and reports errors in one line."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import click
import sqlalchemy as sa

from jobdeck import errors, settings, wiring
from jobdeck.service import Service

P = ParamSpec("P")
R = TypeVar("R")


def _database_problem(exc: sa.exc.DBAPIError) -> str:
    # The driver's own first line says what is wrong (refused, unknown database…); the SQL is noise here.
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
    return f"cannot use the database: {detail}"


def one_line_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn jobdeck's own errors (bad settings, unknown job, weak password…) into one line on stderr
    and a non-zero exit: a user mistake is not a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except errors.JobdeckError as exc:
            raise click.ClickException(exc.message) from None
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            raise click.ClickException(_database_problem(exc)) from None

    return wrapper


def _quiet_migrations() -> None:
    # Alembic announces its context on every connection; a command's output should be its answer.
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger("alembic").setLevel(logging.WARNING)


@contextlib.contextmanager
def open_service() -> Iterator[Service]:
    """The service for one command: settings from JOBDECK_*, an empty database migrated, closed afterwards."""
    _quiet_migrations()
    service = Service.open(settings.load())
    try:
        yield service
    finally:
        service.close()


def _describe(revision: str | None) -> str:
    if revision is None:
        return "none (an empty database; run `jobdeck db upgrade`)"
    head = wiring.schema_head()
    return f"{revision} (head)" if revision == head else f"{revision} (behind {head})"


@click.group("db")
def db_group() -> None:
    """The database schema."""


@db_group.command("upgrade")
@one_line_errors
def upgrade() -> None:
    """Bring the schema up to date (safe to run again, and from several machines at once)."""
    _quiet_migrations()
    before, after = wiring.upgrade_schema(settings.load())
    if before == after:
        click.echo(f"Already up to date: {_describe(after)}.")
    else:
        click.echo(f"Upgraded from {before or 'an empty database'} to {_describe(after)}.")


@db_group.command("current")
@one_line_errors
def current() -> None:
    """Show the schema revision of the database."""
    _quiet_migrations()
    click.echo(_describe(wiring.schema_revision(settings.load())))


def register(cli: click.Group) -> None:
    """Add this module's commands to the `jobdeck` group."""
    cli.add_command(db_group)
