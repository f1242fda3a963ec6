"""CLI fixtures: the `jobdeck` command run in-process against the test database of each backend."""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import click.testing
import pytest

from jobdeck.cli import cli

Run = Callable[..., click.testing.Result]


@pytest.fixture
def cli_env(database_url: str, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """JOBDECK_* variables pointing the command at this test's database; returns the database URL."""
    monkeypatch.setenv("JOBDECK_DATABASE_URL", database_url)
    monkeypatch.setenv("JOBDECK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JOBDECK_JOB_MODULES", "jobdeck.demo,tests.kinds")
    monkeypatch.setenv("JOBDECK_LEASE_SECONDS", "5")
    monkeypatch.setenv("JOBDECK_POLL_SECONDS", "0.2")
    monkeypatch.setenv("JOBDECK_SHUTDOWN_GRACE_SECONDS", "2")
    return database_url


@pytest.fixture
def run(cli_env: str) -> Run:
    """`run("jobs", "list", input=...)`: the result of one `jobdeck …` command, with stdout and stderr apart."""
    runner = click.testing.CliRunner()

    def invoke(*args: str, input: str | None = None) -> click.testing.Result:
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke
