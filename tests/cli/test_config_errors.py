"""A setting jobdeck cannot use stops every command with one `Error:` line naming the variable and the value."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import click
import click.testing
import pytest

from jobdeck import errors
from jobdeck.cli import cli


def jobdeck(tmp_path: pathlib.Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m jobdeck …` in a fresh process, with only the given JOBDECK_* variables set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_")}
    clean["JOBDECK_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "jobdeck", *args],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], *says: str) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for text in says:
        assert text in lines[0]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("mysql://x", "jobdeck runs on SQLite or PostgreSQL, not mysql"),
        ("not-a-url", "not a database URL"),
        ("postgresql+asyncpg://jobdeck@localhost/jobdeck", "the database driver 'asyncpg' is not installed"),
    ],
)
def test_a_database_url_jobdeck_cannot_use_is_one_error_line(tmp_path: pathlib.Path, value: str, reason: str) -> None:
    result = jobdeck(tmp_path, "jobs", "list", JOBDECK_DATABASE_URL=value)
    assert_one_error_line(result, f"JOBDECK_DATABASE_URL='{value}'", reason)


def test_a_database_url_shows_no_password(tmp_path: pathlib.Path) -> None:
    result = jobdeck(tmp_path, "jobs", "list", JOBDECK_DATABASE_URL="postgresql+asyncpg://jobdeck:s3cret@db/jobdeck")
    assert_one_error_line(result, "JOBDECK_DATABASE_URL='postgresql+asyncpg://jobdeck:***@db/jobdeck'")
    assert "s3cret" not in result.stderr


def test_a_sqlite_file_in_a_missing_directory_is_refused_and_nothing_is_created(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'typo' / 'jobdeck.sqlite3'}"
    result = jobdeck(tmp_path, "jobs", "list", JOBDECK_DATABASE_URL=url)
    assert_one_error_line(result, f"JOBDECK_DATABASE_URL='{url}'", "does not exist")
    assert not (tmp_path / "typo").exists()


def test_a_data_dir_that_is_a_file_is_one_error_line(tmp_path: pathlib.Path) -> None:
    (tmp_path / "data").write_text("not a directory")
    result = jobdeck(tmp_path, "jobs", "list", JOBDECK_DATA_DIR=str(tmp_path / "data"))
    assert_one_error_line(result, f"JOBDECK_DATA_DIR='{tmp_path / 'data'}'", "it is a file, not a directory")


def test_a_data_dir_that_cannot_be_created_is_one_error_line(tmp_path: pathlib.Path) -> None:
    (tmp_path / "file").write_text("a file where a directory would go")
    result = jobdeck(tmp_path, "jobs", "list", JOBDECK_DATA_DIR=str(tmp_path / "file" / "data"))
    assert_one_error_line(result, f"JOBDECK_DATA_DIR='{tmp_path / 'file' / 'data'}'", "cannot use it")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any directory")
def test_a_data_dir_jobdeck_may_not_write_is_one_error_line(tmp_path: pathlib.Path) -> None:
    (tmp_path / "data").mkdir(mode=0o500)
    result = jobdeck(tmp_path, "jobs", "list")
    assert_one_error_line(result, f"JOBDECK_DATA_DIR='{tmp_path / 'data'}'", "Permission denied")


def test_an_unknown_fallback_encoding_is_one_error_line(tmp_path: pathlib.Path) -> None:
    result = jobdeck(tmp_path, "jobs", "list", JOBDECK_IMPORT_FALLBACK_ENCODING="bogus")
    assert_one_error_line(result, "JOBDECK_IMPORT_FALLBACK_ENCODING='bogus'", "not an encoding")


def test_a_jobdeck_error_no_command_catches_is_one_error_line() -> None:
    @click.command("fails-plainly")
    def fails_plainly() -> None:
        raise errors.UnknownTarget("No import target 'x'.")

    cli.add_command(fails_plainly)
    try:
        result = click.testing.CliRunner().invoke(cli, ["fails-plainly"])
    finally:
        cli.commands.pop("fails-plainly")
    assert result.exit_code == 1
    assert result.stderr == "Error: No import target 'x'.\n"
