"""grid sorts by time columns, description search, retry_of index

Revision ID: 0004_perf
Revises: 0002_websec
Create Date: 2026-11-30
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0004_perf"
down_revision = "0002_websec"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)
TIME_COLUMNS = ("started_at", "ended_at", "failed_at")
EPOCH = {"sqlite": "'1970-01-01 00:00:00.000000'", "postgresql": "'1970-01-01 00:00:00+00'::timestamptz"}

#: An external-content FTS5 table over jobs.description: the trigram tokenizer answers LIKE '%words%'
#: from its index. Triggers keep it in step; only a change of the description touches it on update.
SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE jobs_search USING fts5("
    "description, content='jobs', content_rowid='id', tokenize='trigram')",
    "INSERT INTO jobs_search(jobs_search) VALUES ('rebuild')",
    "CREATE TRIGGER jobs_search_insert AFTER INSERT ON jobs BEGIN "
    "INSERT INTO jobs_search(rowid, description) VALUES (new.id, new.description); END",
    "CREATE TRIGGER jobs_search_delete AFTER DELETE ON jobs BEGIN "
    "INSERT INTO jobs_search(jobs_search, rowid, description) VALUES ('delete', old.id, old.description); END",
    "CREATE TRIGGER jobs_search_update AFTER UPDATE OF description ON jobs BEGIN "
    "INSERT INTO jobs_search(jobs_search, rowid, description) VALUES ('delete', old.id, old.description); "
    "INSERT INTO jobs_search(rowid, description) VALUES (new.id, new.description); END",
]


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    for column in TIME_COLUMNS:
        op.create_index(f"ix_jobs_{column}_sort", "jobs", [sa.text(f"coalesce({column}, {EPOCH[dialect]})"), "id"])
    op.create_index(
        "ix_jobs_retry_of",
        "jobs",
        ["retry_of"],
        sqlite_where=sa.text("retry_of IS NOT NULL"),
        postgresql_where=sa.text("retry_of IS NOT NULL"),
    )
    if dialect == "sqlite":
        for statement in SQLITE_SEARCH:
            bind.exec_driver_sql(statement)
    elif _has_trigram(bind):
        op.create_index(
            "ix_jobs_description_trgm",
            "jobs",
            [sa.text("lower(description) gin_trgm_ops")],
            postgresql_using="gin",
        )


def _has_trigram(bind: sa.Connection) -> bool:
    """pg_trgm is a contrib extension: without it (not installed, or no right to create it) the search
    still works, by a scan."""
    if bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").first():
        return True
    if not bind.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").first():
        log.warning("pg_trgm is not available: the description search runs without an index")
        return False
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        log.warning("could not create pg_trgm (%s): the description search runs without an index", exc.orig)
        return False
    return True


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("jobs_search_insert", "jobs_search_delete", "jobs_search_update"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS jobs_search")
    else:
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_jobs_description_trgm")
    op.drop_index("ix_jobs_retry_of", "jobs")
    for column in TIME_COLUMNS:
        op.drop_index(f"ix_jobs_{column}_sort", "jobs")
