"""the username of a job's user copied into the job, for the grid's sort by Run By

Revision ID: 0010_run_by_name
Revises: 0009_sorts
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_run_by_name"
down_revision = "0009_sorts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (no copy of the table, so SQLite's search triggers stay); a server default lets a NOT NULL
    # column join a table that holds rows.
    op.add_column("jobs", sa.Column("run_by_name", sa.String(150), nullable=False, server_default=""))
    # Usernames never change, so one copy at upgrade (and one per enqueue after it) stays true.
    op.execute(
        "UPDATE jobs SET run_by_name = (SELECT username FROM users WHERE users.id = jobs.run_by_id) "
        "WHERE run_by_id IS NOT NULL"
    )
    op.create_index("ix_jobs_run_by_sort", "jobs", ["tab", "run_by_name", "id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_run_by_sort", table_name="jobs")
    op.drop_column("jobs", "run_by_name")
