"""`jobdeck db`, and how every command reports bad settings and an unreachable database."""

from __future__ import annotations

import pathlib

import pytest

from jobdeck.store import migrate
from jobdeck.store.database import Database
from tests.cli.conftest import Run


@pytest.fixture
def empty_sqlite(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "fresh").mkdir()  # jobdeck never creates a database's directory
    url = f"sqlite:///{tmp_path / 'fresh' / 'jobdeck.sqlite3'}"
    monkeypatch.setenv("JOBDECK_DATABASE_URL", url)
    return url


def test_db_upgrade_migrates_an_empty_database_to_the_head(run: Run, empty_sqlite: str) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0
    assert f"to {migrate.head()} (head)" in result.stdout
    db = Database(empty_sqlite)
    assert migrate.current(db) == migrate.head()
    db.dispose()


def test_db_upgrade_again_says_the_schema_is_up_to_date(run: Run) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0
    assert result.stdout.startswith("Already up to date")


def test_db_current_shows_the_revision(run: Run) -> None:
    result = run("db", "current")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"{migrate.head()} (head)"


def test_db_current_of_an_empty_database_says_to_upgrade(run: Run, empty_sqlite: str) -> None:
    result = run("db", "current")
    assert result.exit_code == 0
    assert "jobdeck db upgrade" in result.stdout


def test_a_bad_setting_is_one_line_naming_the_variable_and_value(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBDECK_LEASE_SECONDS", "soon")
    result = run("jobs", "stats")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "JOBDECK_LEASE_SECONDS='soon'" in result.stderr
    assert "Traceback" not in result.output


def test_an_unknown_job_module_is_one_line_naming_it(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBDECK_JOB_MODULES", "jobdeck.demo,no_such_module_here")
    result = run("users", "list")
    assert result.exit_code == 1
    assert "no_such_module_here" in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_unreachable_database_is_one_line_not_a_traceback(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBDECK_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/jobdeck")
    result = run("db", "current")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot use the database:")
    assert result.stderr.count("\n") == 1
