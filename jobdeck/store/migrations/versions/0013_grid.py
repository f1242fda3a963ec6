"""grid sorts by time columns led by the tab, and a sort index for Created

Revision ID: 0013_grid
Revises: 0010_run_by_name
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_grid"
down_revision = "0010_run_by_name"
branch_labels = None
depends_on = None

TIME_COLUMNS = ("started_at", "ended_at", "failed_at")
#: The same constants as expressions.epoch (an expression index matches only the same expression).
EPOCH = {"sqlite": "'1970-01-01 00:00:00.000000'", "postgresql": "'1970-01-01 00:00:00+00'::timestamptz"}


def _time_sort(column: str, dialect: str) -> sa.TextClause:
    return sa.text(f"coalesce({column}, {EPOCH[dialect]})")


def upgrade() -> None:
    # The grid always lists one tab. Without the tab in front, SQLite (which has no statistics unless someone
    # runs ANALYZE) prefers any index that answers `tab = ?` and sorts the whole tab; led by the tab, the index
    # that also gives the order wins, on either database.
    dialect = op.get_bind().dialect.name
    for column in TIME_COLUMNS:
        op.drop_index(f"ix_jobs_{column}_sort", table_name="jobs")
        op.create_index(f"ix_jobs_{column}_sort", "jobs", ["tab", _time_sort(column, dialect), "id"])
    op.create_index("ix_jobs_created_at_sort", "jobs", ["tab", "created_at", "id"])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("ix_jobs_created_at_sort", table_name="jobs")
    for column in TIME_COLUMNS:
        op.drop_index(f"ix_jobs_{column}_sort", table_name="jobs")
        op.create_index(f"ix_jobs_{column}_sort", "jobs", [_time_sort(column, dialect), "id"])
