"""`jobdeck users add|list|disable|enable|tokens|revoke-token`: accounts for the page and the API."""

from __future__ import annotations

import json
import sys

import click
import rich.console
import rich.table

from jobdeck import model, views
from jobdeck.cli.db import one_line_errors, open_service


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line, so `echo "$PASSWORD" | jobdeck users add …` works; the newline is not part of it.
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _as_dict(user: model.User) -> dict[str, object]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "is_admin": user.is_admin,
        "disabled": user.disabled,
    }


@click.group("users")
def users_group() -> None:
    """People who sign in to jobdeck."""


@users_group.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="May see every job and start admin-only job types.")
@click.option("--display-name", default="", help="Shown on the page; defaults to NAME.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@one_line_errors
def add(name: str, admin: bool, display_name: str, password_stdin: bool) -> None:
    """Create a user (asks for the password twice, hidden, unless --password-stdin)."""
    password = _read_password(password_stdin)
    with open_service() as service:
        user = service.accounts.create_user(name, password, is_admin=admin, display_name=display_name)
    click.echo(f"Created {'admin' if user.is_admin else 'user'} {user.username}.")


@users_group.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@one_line_errors
def set_password(name: str, password_stdin: bool) -> None:
    """Give a user a new password (asked twice, hidden, unless --password-stdin); their sessions and API
    tokens end, and a lockout from failed logins is lifted."""
    with open_service() as service:
        service.accounts.user(name)  # an unknown name is refused before anyone types a password
        password = _read_password(password_stdin)
        user = service.accounts.set_password(name, password)
    click.echo(f"Set a new password for {user.username}; their sessions and API tokens have ended.")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@one_line_errors
def list_users(as_json: bool) -> None:
    """Every user, by name."""
    with open_service() as service:
        users = service.accounts.users()
    if as_json:
        click.echo(json.dumps([_as_dict(u) for u in users], indent=2))
        return
    table = rich.table.Table("Username", "Display name", "Admin", "Status")
    for u in users:
        table.add_row(u.username, u.display_name, "yes" if u.is_admin else "", "disabled" if u.disabled else "active")
    rich.console.Console(markup=False, highlight=False).print(table)  # names are user data, not markup


def _set_disabled(name: str, disabled: bool) -> None:
    with open_service() as service:
        user = service.accounts.set_disabled(name, disabled)  # disabling also ends sessions and API tokens now
    click.echo(f"{'Disabled' if disabled else 'Enabled'} {user.username}.")


@users_group.command("disable")
@click.argument("name")
@one_line_errors
def disable(name: str) -> None:
    """Stop a user from signing in or using the API: their sessions and API tokens end (their jobs stay)."""
    _set_disabled(name, True)


@users_group.command("enable")
@click.argument("name")
@one_line_errors
def enable(name: str) -> None:
    """Let a disabled user sign in again."""
    _set_disabled(name, False)


@users_group.command("tokens")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@one_line_errors
def tokens(name: str, as_json: bool) -> None:
    """A user's live API tokens: id, name, created, last used, expires (never the token itself)."""
    with open_service() as service:
        found = service.accounts.tokens_of(service.accounts.user(name))
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "created_at": views.timestamp(t.created_at),
            "last_used_at": views.timestamp(t.last_used_at),
            "expires_at": views.timestamp(t.expires_at),
        }
        for t in found
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = rich.table.Table("ID", "Name", "Created", "Last used", "Expires")
    for r in rows:
        table.add_row(*(str(r[key] or "") for key in ("id", "name", "created_at", "last_used_at", "expires_at")))
    rich.console.Console(markup=False, highlight=False).print(table)


@users_group.command("revoke-token")
@click.argument("name")
@click.argument("token_id", type=click.IntRange(1))
@one_line_errors
def revoke_token(name: str, token_id: int) -> None:
    """Revoke one of a user's API tokens (its id from `jobdeck users tokens NAME`)."""
    with open_service() as service:
        service.accounts.revoke_token(service.accounts.user(name), token_id)
    click.echo(f"Revoked token {token_id} of {name}.")


def register(cli: click.Group) -> None:
    """Add this module's commands to the `jobdeck` group."""
    cli.add_command(users_group)
