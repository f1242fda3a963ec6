"""`jobdeck users add|list|disable|enable`."""

from __future__ import annotations

import json

import sqlalchemy as sa

from jobdeck import passwords
from jobdeck.service import Service
from jobdeck.store import auth as auth_rows
from jobdeck.store import schema
from jobdeck.store import users as user_rows
from tests.cli.conftest import Run


def test_users_add_reads_the_password_from_stdin_and_stores_an_argon2_hash(run: Run, service: Service) -> None:
    result = run(
        "users", "add", "carol", "--admin", "--display-name", "Carol C", "--password-stdin", input="a fine password\n"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "Created admin carol.\n"
    user = service.accounts.user("carol")
    assert (user.is_admin, user.display_name, user.disabled) == (True, "Carol C", False)
    with service.db.read() as conn:
        stored = user_rows.password_hash(conn, user.id)
    assert stored.startswith("$argon2id$") and passwords.verify(stored, "a fine password")


def test_users_add_without_stdin_asks_twice_for_the_password(run: Run, service: Service) -> None:
    result = run("users", "add", "dave", input="another fine one\nanother fine one\n")
    assert result.exit_code == 0, result.output
    assert "another fine one" not in result.output  # hidden input is not echoed
    assert service.accounts.user("dave").is_admin is False


def test_users_add_asks_again_when_the_two_passwords_differ(run: Run, service: Service) -> None:
    result = run("users", "add", "dave", input="first password\nsecond password\nthird password\nthird password\n")
    assert result.exit_code == 0
    assert "do not match" in result.output
    assert service.accounts.user("dave")


def test_users_add_refuses_a_weak_password_in_one_line(run: Run, service: Service) -> None:
    result = run("users", "add", "erin", "--password-stdin", input="password\n")
    assert result.exit_code == 1
    assert result.stderr == "Error: The password is too weak: use at least 8 characters, and not a common password.\n"
    assert [u.username for u in service.accounts.users()] == []


def test_users_add_refuses_an_existing_name(run: Run, service: Service, alice: object) -> None:
    result = run("users", "add", "alice", "--password-stdin", input="yet another password\n")
    assert result.exit_code == 1
    assert result.stderr == "Error: A user named 'alice' already exists.\n"


def test_users_add_refuses_a_name_with_spaces(run: Run, service: Service) -> None:
    result = run("users", "add", "bad name", "--password-stdin", input="a fine password\n")
    assert result.exit_code == 1
    assert "username" in result.stderr


def test_users_list_shows_every_user_in_a_table(run: Run, admin: object, alice: object) -> None:
    result = run("users", "list")
    assert result.exit_code == 0
    assert "ada" in result.stdout and "alice" in result.stdout and "Ada Admin" in result.stdout


def test_users_list_json_gives_names_roles_and_state(run: Run, admin: object, alice: object) -> None:
    result = run("users", "list", "--json")
    assert json.loads(result.stdout) == [
        {"id": 1, "username": "ada", "display_name": "Ada Admin", "is_admin": True, "disabled": False},
        {"id": 2, "username": "alice", "display_name": "alice", "is_admin": False, "disabled": False},
    ]


def test_users_disable_and_enable_flip_the_account(run: Run, service: Service, alice: object) -> None:
    assert run("users", "disable", "alice").stdout == "Disabled alice.\n"
    assert service.accounts.user("alice").disabled is True
    assert run("users", "enable", "alice").stdout == "Enabled alice.\n"
    assert service.accounts.user("alice").disabled is False


def test_users_disable_ends_the_users_api_tokens_at_once(run: Run, service: Service, alice: object) -> None:
    user = service.accounts.user("alice")
    with service.db.write() as conn:
        auth_rows.create_token(conn, "a-token-alice-holds", user.id, "laptop", 3600)

    def tokens() -> int:
        with service.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(schema.api_tokens)).scalar_one())

    assert tokens() == 1
    run("users", "disable", "alice")
    assert tokens() == 0


def test_users_disable_of_an_unknown_user_is_an_error(run: Run) -> None:
    result = run("users", "disable", "nobody")
    assert result.exit_code == 1
    assert result.stderr == "Error: No user named 'nobody'.\n"


def test_users_tokens_lists_a_users_tokens_and_revoke_token_ends_one(run: Run, service: Service) -> None:
    alice = service.accounts.create_user("alice", "alice's long password")
    laptop, _ = service.accounts.issue_token(alice, "laptop", 3)
    service.accounts.issue_token(alice, "ci")
    listed = json.loads(run("users", "tokens", "alice", "--json").stdout)
    assert [t["name"] for t in listed] == ["ci", "laptop"]
    assert laptop not in json.dumps(listed)
    table = run("users", "tokens", "alice").stdout
    assert "laptop" in table and "ci" in table
    laptop_id = next(t["id"] for t in listed if t["name"] == "laptop")
    result = run("users", "revoke-token", "alice", str(laptop_id))
    assert result.exit_code == 0, result.output
    assert service.accounts.find_token(laptop) is None
    assert [t["name"] for t in json.loads(run("users", "tokens", "alice", "--json").stdout)] == ["ci"]


def test_revoke_token_of_another_users_token_fails_in_one_line(run: Run, service: Service) -> None:
    alice = service.accounts.create_user("alice", "alice's long password")
    service.accounts.create_user("bob", "bob's long password")
    service.accounts.issue_token(alice, "laptop")
    alices_id = service.accounts.tokens_of(alice)[0].id
    result = run("users", "revoke-token", "bob", str(alices_id))
    assert result.exit_code == 1
    assert result.stderr == "Error: No such API token.\n"
    assert len(service.accounts.tokens_of(alice)) == 1
