"""unique jobs: jobs.unique_key, unique among a type's queued and in-progress jobs

Revision ID: 0006_unique
Revises: 0005_retries
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_unique"
down_revision = "0005_retries"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('queued', 'in_progress')")


def upgrade() -> None:
    # A nullable column, added in place (no copy of the table, so SQLite's search triggers stay): existing
    # jobs keep their rows and have no unique key.
    op.add_column("jobs", sa.Column("unique_key", sa.String(length=200), nullable=True))
    op.create_index(
        "ux_jobs_unique_key",
        "jobs",
        ["type", "unique_key"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("ux_jobs_unique_key", "jobs")
    op.drop_column("jobs", "unique_key")
