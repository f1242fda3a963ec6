"""Shared fixtures: real SQLite files and a real PostgreSQL server, migrated by the production code path."""

from __future__ import annotations

import os
import pathlib
import shutil
import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from jobdeck import model, settings
from jobdeck.runner import spares
from jobdeck.runner.registry import REGISTRY
from jobdeck.service import Service
from jobdeck.store import migrate, schema
from jobdeck.store.database import Database
from jobdeck.wiring import Wiring, load_job_modules
from tests import pgserver

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg() -> Iterator[pgserver.PostgresServer | str]:
    """The PostgreSQL server for this test session: JOBDECK_TEST_DATABASE_URL if set, else one we start."""
    external = os.environ.get("JOBDECK_TEST_DATABASE_URL")
    if external:
        yield external
        return
    with pgserver.running() as server:
        yield server


@pytest.fixture(scope="session")
def pg_url(pg: pgserver.PostgresServer | str) -> str:
    """A migrated database in that server, shared by the session and emptied between tests."""
    url = pg if isinstance(pg, str) else pg.create_database("jobdeck_test")
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("template") / "jobdeck.sqlite3"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


def _empty_postgres(url: str) -> None:
    tables = ", ".join(t.name for t in schema.metadata.sorted_tables)
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        extra = conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
        ).scalars()
        names = sorted(set(tables.split(", ")) | set(extra))
        conn.exec_driver_sql(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "jobdeck.sqlite3"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    url = str(request.getfixturevalue("pg_url"))
    _empty_postgres(url)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, pool_size=20)
    yield database
    database.dispose()


@pytest.fixture(scope="module", autouse=True)
def no_spare_outlives_its_module() -> Iterator[None]:
    """A module whose services keep spare children (the default settings do) ends them when it is done, so
    no other module's count of child processes sees them."""
    yield
    spares.SPARES.release()


@pytest.fixture
def test_settings(database_url: str, tmp_path: pathlib.Path) -> settings.Settings:
    return settings.load(
        database_url=database_url,
        data_dir=tmp_path / "data",
        # A live in-process worker keeps its lease through the stalls of a loaded machine (it beats every
        # 0.5 s; 29.5 s of silence would lose it). Tests about expiry claim with short leases of their own.
        lease_seconds=30.0,
        heartbeat_seconds=0.5,
        reap_seconds=1.0,
        poll_seconds=0.2,
        shutdown_grace_seconds=2.0,
        job_modules="jobdeck.demo,tests.kinds",
        # No idle child kept after an isolated job: this process outlives many services, and a spare left by
        # one test would be taken by another's job. tests/runner/test_spares.py turns it on.
        isolated_spare=False,
    )


@pytest.fixture
def service(test_settings: settings.Settings, db: Database) -> Iterator[Service]:
    load_job_modules(test_settings)
    svc = Service(Wiring(test_settings, db=db, registry=REGISTRY))
    yield svc


@pytest.fixture
def admin(service: Service) -> model.User:
    return service.accounts.create_user("ada", "correct horse battery", is_admin=True, display_name="Ada Admin")


@pytest.fixture
def alice(service: Service) -> model.User:
    return service.accounts.create_user("alice", "alice's long password")


@pytest.fixture
def bob(service: Service) -> model.User:
    return service.accounts.create_user("bob", "bob's long password")


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll until `predicate()` holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
