"""Schema migrations (Alembic), run by `jobdeck db upgrade` and by serve/worker on an empty database."""

from __future__ import annotations

import pathlib

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from jobdeck import errors
from jobdeck.store.database import Database

MIGRATIONS_DIR = pathlib.Path(__file__).parent / "migrations"


def _config(conn: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


def lock_schema_changes(db: Database, conn: sa.Connection) -> None:
    """Until this transaction ends, be the only process changing the schema: two processes starting at once
    on an empty database must not both create a table (`CREATE … checkfirst` is not atomic)."""
    if db.is_postgresql:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7302015)")


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to run again and from several processes."""
    with db.write() as conn:
        lock_schema_changes(db, conn)
        command.upgrade(_config(conn), revision)


def head() -> str | None:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return script.get_current_head()


def current(db: Database) -> str | None:
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check(db: Database) -> None:
    """Raise SchemaOutdated unless the database is at the newest revision."""
    if current(db) != head():
        raise errors.SchemaOutdated()


def ensure(db: Database) -> None:
    """Upgrade when behind: what serve and worker do at start-up."""
    if current(db) != head():
        upgrade(db)
