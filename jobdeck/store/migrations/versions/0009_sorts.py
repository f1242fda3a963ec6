"""grid sorts by type, status and description

Revision ID: 0009_sorts
Revises: 0008_queues
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_sorts"
down_revision = "0008_queues"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_type_sort", "jobs", ["tab", "type", "id"])
    op.create_index("ix_jobs_status_sort", "jobs", ["tab", "status", "id"])
    # The same expression as expressions.description_prefix: a whole description could pass PostgreSQL's
    # limit for a b-tree entry.
    op.create_index("ix_jobs_description_sort", "jobs", ["tab", sa.text("substr(description, 1, 200)"), "id"])


def downgrade() -> None:
    for name in ("ix_jobs_description_sort", "ix_jobs_status_sort", "ix_jobs_type_sort"):
        op.drop_index(name, table_name="jobs")
