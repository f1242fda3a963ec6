"""Store fixtures: an empty database of a test's own, for the migration tests that start from an old revision."""

from __future__ import annotations

import hashlib
import pathlib

import pytest

from tests import pgserver


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> str:
    """An empty database of this test's own (never the shared, already migrated one): a SQLite file, or a
    database created on the PostgreSQL server the tests start."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    server = request.getfixturevalue("pg")
    if not isinstance(server, pgserver.PostgresServer):
        pytest.skip("needs a PostgreSQL server the tests start (JOBDECK_TEST_DATABASE_URL is set)")
    name = "fresh_" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    return server.create_database(name)
