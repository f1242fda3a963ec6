"""Migrations: they build exactly the schema that store/schema.py declares, and run idempotently."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from jobdeck.store import migrate, schema
from jobdeck.store.database import Database


def test_migrated_database_matches_the_declared_schema(db: Database) -> None:
    def ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        # Other tests' tables (the demo's, the test ledger) share the database; they are not ours to check.
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table is None or table in schema.metadata.tables

    with db.read() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": ours})
        diff = compare_metadata(context, schema.metadata)
    assert diff == []


def test_migrated_database_has_the_grid_and_claim_indexes(db: Database) -> None:
    import sqlalchemy as sa

    names = {ix["name"] for ix in sa.inspect(db.engine).get_indexes("jobs")}
    assert {"ix_jobs_tab_id", "ix_jobs_run_by_tab_id", "ix_jobs_claimable", "ix_jobs_lease"} <= names


def test_upgrade_is_a_no_op_on_a_current_database(db: Database) -> None:
    migrate.upgrade(db)
    assert migrate.current(db) == migrate.head()
    migrate.check(db)
