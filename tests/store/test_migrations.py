"""Migrations: they build exactly the schema that store/schema.py declares, and run idempotently."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from jobdeck.store import migrate, schema
from jobdeck.store.database import Database

# SQLite cannot reflect expression indexes: SQLAlchemy and Alembic say so and skip them (checked by name below).
pytestmark = pytest.mark.filterwarnings("ignore:.*expression-based index")


def test_migrated_database_matches_the_declared_schema(db: Database) -> None:
    def ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        # Other tests' tables (the demo's, the test ledger) share the database; they are not ours to check.
        # The FTS5 search table and its shadow tables are not in the metadata either, so not compared.
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        # Expression and search indexes cannot be compared (Alembic skips them with a warning, or reports
        # the GIN index as unknown): the test below checks them by name.
        if type_ == "index" and name in schema.UNCOMPARED_INDEXES:
            return False
        return table is None or table in schema.metadata.tables

    with db.read() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": ours})
        diff = compare_metadata(context, schema.metadata)
    assert diff == []


def test_migrated_database_has_the_grid_and_claim_indexes(db: Database) -> None:
    import sqlalchemy as sa

    names = {ix["name"] for ix in sa.inspect(db.engine).get_indexes("jobs")}
    assert {"ix_jobs_tab_id", "ix_jobs_run_by_tab_id", "ix_jobs_claimable", "ix_jobs_lease"} <= names


def test_migrated_database_has_the_sort_indexes_and_the_description_search(db: Database) -> None:
    with db.read() as conn:
        if db.is_sqlite:
            names = set(
                conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type IN ('index', 'table', 'trigger')"
                ).scalars()
            )
            search = {"jobs_search", "jobs_search_insert", "jobs_search_update", "jobs_search_delete"}
        else:
            names = set(conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE tablename = 'jobs'").scalars())
            search = {"ix_jobs_description_trgm"}  # the test server ships pg_trgm
    assert {"ix_jobs_started_at_sort", "ix_jobs_ended_at_sort", "ix_jobs_failed_at_sort", "ix_jobs_retry_of"} <= names
    assert search <= names


def test_upgrade_is_a_no_op_on_a_current_database(db: Database) -> None:
    migrate.upgrade(db)
    assert migrate.current(db) == migrate.head()
    migrate.check(db)
