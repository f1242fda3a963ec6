"""The first run from a shell: which database a command uses, and no new empty database made by mistake."""

from __future__ import annotations

import os
import pathlib
import sqlite3
import subprocess  # nosec B404: the test runs jobdeck's own command
import sys

HINT = "run `jobdeck db upgrade`, or start `jobdeck serve`, to create it"


def jobdeck(cwd: pathlib.Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m jobdeck …` in a fresh process in folder cwd, with only the given JOBDECK_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_")}
    return subprocess.run(  # nosec B603: a fixed argument list
        [sys.executable, "-m", "jobdeck", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_jobs_list_in_an_empty_folder_names_the_missing_database_and_creates_nothing(tmp_path: pathlib.Path) -> None:
    error = one_error_line(jobdeck(tmp_path, "jobs", "list"))
    assert f"no database at sqlite:///{tmp_path / 'var' / 'jobdeck.sqlite3'}; {HINT}" in error
    assert list(tmp_path.iterdir()) == []


def test_a_command_on_a_database_without_jobdecks_tables_says_to_create_them(tmp_path: pathlib.Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "jobdeck.sqlite3").touch()
    error = one_error_line(jobdeck(tmp_path, "users", "list"))
    assert f"the database sqlite:///{tmp_path / 'var' / 'jobdeck.sqlite3'} has no jobdeck tables yet; {HINT}" in error
    with sqlite3.connect(tmp_path / "var" / "jobdeck.sqlite3") as conn:
        assert conn.execute("select count(*) from sqlite_master").fetchone() == (0,)


def test_db_current_on_a_missing_database_answers_none_without_creating_it(tmp_path: pathlib.Path) -> None:
    result = jobdeck(tmp_path, "db", "current")
    assert result.returncode == 0, result.stderr
    assert "jobdeck db upgrade" in result.stdout
    assert not (tmp_path / "var" / "jobdeck.sqlite3").exists()


def test_a_worker_says_once_which_database_it_uses_by_its_absolute_path(tmp_path: pathlib.Path) -> None:
    result = jobdeck(tmp_path, "worker", "--burst", JOBDECK_DATA_DIR="var")
    assert result.returncode == 0, result.stderr
    database = tmp_path / "var" / "jobdeck.sqlite3"
    assert result.stdout.splitlines().count(f"Database: sqlite:///{database}") == 1
    assert database.is_file()


def test_after_db_upgrade_a_command_run_from_another_folder_uses_the_same_database(tmp_path: pathlib.Path) -> None:
    data = tmp_path / "data"
    assert jobdeck(tmp_path, "db", "upgrade", JOBDECK_DATA_DIR=str(data)).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = jobdeck(elsewhere, "users", "list", "--json", JOBDECK_DATA_DIR=str(data))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert list(elsewhere.iterdir()) == []
