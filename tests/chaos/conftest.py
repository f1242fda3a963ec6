"""Fixtures for the chaos tests: a PostgreSQL server of their own (they stop and restart it), fresh
databases on it or in SQLite files, and worker processes that are never left running."""

from __future__ import annotations

import itertools
import pathlib
from collections.abc import Iterator

import pytest

from bench import chaos
from jobdeck import settings
from jobdeck.service import Service
from tests import pgserver

#: The workers' lease. It only has to be short next to the clock skews the tests apply (ten minutes) and
#: to the time a test waits for a dead worker's jobs; it must be long next to what a loaded 2-core machine
#: can delay a live worker's heartbeat, or a busy machine alone reclaims jobs whose worker is alive.
LEASE_S = 8.0
#: A live worker beats this often: only LEASE_S - HEARTBEAT_S of silence (15 missed beats) loses a lease.
HEARTBEAT_S = 0.5
_names = itertools.count()


@pytest.fixture(scope="session")
def chaos_pg() -> Iterator[pgserver.PostgresServer]:
    """Not the session's shared server: these tests stop it, restart it and pause its clients."""
    with pgserver.running() as server:
        yield server


@pytest.fixture
def chaos_url(backend: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'chaos.sqlite3'}"
    server: pgserver.PostgresServer = request.getfixturevalue("chaos_pg")
    return server.create_database(f"chaos_test_{next(_names)}")


@pytest.fixture
def chaos_service(chaos_url: str, tmp_path: pathlib.Path) -> Iterator[Service]:
    """A migrated database with the chaos ledger and the status audit trigger installed."""
    service = Service.open(
        settings.load(
            database_url=chaos_url,
            data_dir=tmp_path / "data",
            file_storage="database",
            job_modules=chaos.JOB_MODULES,
            lease_seconds=LEASE_S,
        )
    )
    chaos.install_audit(service.db)
    yield service
    service.close()


@pytest.fixture
def processes(chaos_url: str, tmp_path: pathlib.Path) -> Iterator[chaos.Processes]:
    """`python -m jobdeck` processes on the test's database (lease LEASE_S); all stopped afterwards."""
    (tmp_path / "logs").mkdir()
    env = chaos.worker_env(chaos_url, tmp_path / "data", LEASE_S, JOBDECK_HEARTBEAT_SECONDS=str(HEARTBEAT_S))
    pool = chaos.Processes(env, tmp_path / "logs")
    yield pool
    pool.stop_all()
