"""`jobdeck users set-password NAME`, run as its own process on the test database of each backend."""

from __future__ import annotations

import os
import pathlib
import subprocess  # nosec B404: the test runs jobdeck's own command
import sys

import pytest

from jobdeck import errors, passwords
from jobdeck.service import Service
from jobdeck.store import users as user_rows

OLD = "the old password"
NEW = "a brand new password"


def set_password(database_url: str, tmp_path: pathlib.Path, *args: str, input: str) -> subprocess.CompletedProcess[str]:
    """`python -m jobdeck users set-password …` in a fresh process without a terminal, so prompts read stdin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_")}
    env.update(JOBDECK_DATABASE_URL=database_url, JOBDECK_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(  # nosec B603: a fixed argument list
        [sys.executable, "-m", "jobdeck", "users", "set-password", *args],
        env=env,
        cwd=tmp_path,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # no controlling terminal: the hidden prompt reads stdin
    )


@pytest.fixture
def carol(service: Service) -> str:
    service.accounts.create_user("carol", OLD)
    return "carol"


def test_set_password_from_stdin_replaces_the_password_with_a_new_argon2_hash(
    service: Service, carol: str, database_url: str, tmp_path: pathlib.Path
) -> None:
    result = set_password(database_url, tmp_path, carol, "--password-stdin", input=NEW + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Set a new password for carol; their sessions and API tokens have ended.\n"
    assert service.accounts.authenticate(carol, NEW).username == carol
    with pytest.raises(errors.BadCredentials):
        service.accounts.authenticate(carol, OLD)
    with service.db.read() as conn:
        stored = user_rows.password_hash(conn, service.accounts.user(carol).id)
    assert stored.startswith("$argon2id$") and passwords.verify(stored, NEW)


def test_set_password_asks_twice_and_again_when_the_two_differ(
    service: Service, carol: str, database_url: str, tmp_path: pathlib.Path
) -> None:
    typed = f"{NEW}\nsomething else\n{NEW}\n{NEW}\n"
    result = set_password(database_url, tmp_path, carol, input=typed)
    assert result.returncode == 0, result.stderr
    assert "do not match" in result.stdout + result.stderr
    assert NEW not in result.stdout
    assert service.accounts.authenticate(carol, NEW).username == carol


def test_set_password_ends_the_users_sessions_and_api_tokens(
    service: Service, carol: str, database_url: str, tmp_path: pathlib.Path
) -> None:
    user = service.accounts.user(carol)
    session = service.accounts.start_session(user)
    token, _ = service.accounts.issue_token(user)
    result = set_password(database_url, tmp_path, carol, "--password-stdin", input=NEW + "\n")
    assert result.returncode == 0, result.stderr
    assert service.accounts.find_session(session.id) is None
    assert service.accounts.find_token(token) is None


def test_set_password_lifts_the_accounts_lockout_from_failed_logins(
    service: Service, carol: str, database_url: str, tmp_path: pathlib.Path
) -> None:
    with pytest.raises(errors.LoginThrottled):
        for attempt in range(service.accounts.settings.login_max_failures_per_account + 1):
            with pytest.raises(errors.BadCredentials):
                service.accounts.authenticate(carol, "wrong guess", address=f"10.0.0.{attempt}")
    result = set_password(database_url, tmp_path, carol, "--password-stdin", input=NEW + "\n")
    assert result.returncode == 0, result.stderr
    assert service.accounts.authenticate(carol, NEW, address="10.0.1.1").username == carol


def test_a_weak_password_is_refused_in_one_error_line_and_the_old_one_still_works(
    service: Service, carol: str, database_url: str, tmp_path: pathlib.Path
) -> None:
    result = set_password(database_url, tmp_path, carol, "--password-stdin", input="short\n")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert service.accounts.authenticate(carol, OLD).username == carol


def test_an_unknown_user_is_refused_in_one_error_line_before_any_password_is_asked(
    service: Service, database_url: str, tmp_path: pathlib.Path
) -> None:
    result = set_password(database_url, tmp_path, "nobody", input="")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    with pytest.raises(errors.UserNotFound):
        service.accounts.user("nobody")
