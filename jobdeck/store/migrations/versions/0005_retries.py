"""delayed jobs, automatic retries: jobs.not_before, attempts history, subtasks per attempt

Revision ID: 0005_retries
Revises: 0004_perf
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_retries"
down_revision = "0004_perf"
branch_labels = None
depends_on = None

QUEUED = sa.text("status = 'queued'")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("not_before", Timestamp))
    op.add_column("jobs", sa.Column("attempt_started_at", Timestamp))
    # The claim's index gains not_before as its last column: same order, delayed jobs skipped from the index.
    op.drop_index("ix_jobs_claimable", "jobs")
    op.create_index(
        "ix_jobs_claimable",
        "jobs",
        ["queue", "priority", "id", "not_before"],
        sqlite_where=QUEUED,
        postgresql_where=QUEUED,
    )
    op.add_column("subtasks", sa.Column("attempt", sa.Integer, nullable=False, server_default="1"))
    # Subtasks written before attempts were kept apart belong to the job's latest attempt.
    op.execute(
        "UPDATE subtasks SET attempt = (SELECT CASE WHEN jobs.attempt > 1 THEN jobs.attempt ELSE 1 END"
        " FROM jobs WHERE jobs.id = subtasks.job_id)"
    )
    op.create_table(
        "job_attempts",
        sa.Column("id", Id, primary_key=True),
        sa.Column("job_id", Id, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("worker_id", sa.String(64)),
        sa.Column("started_at", Timestamp),
        sa.Column("ended_at", Timestamp, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_job_attempts_job", "job_attempts", ["job_id", "attempt"])


def downgrade() -> None:
    op.drop_index("ix_job_attempts_job", "job_attempts")
    op.drop_table("job_attempts")
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch rebuild of the table would lose the indexes it
    # cannot reflect (0004's expression indexes and search triggers).
    op.execute("ALTER TABLE subtasks DROP COLUMN attempt")
    op.drop_index("ix_jobs_claimable", "jobs")
    op.create_index(
        "ix_jobs_claimable", "jobs", ["queue", "priority", "id"], sqlite_where=QUEUED, postgresql_where=QUEUED
    )
    op.execute("ALTER TABLE jobs DROP COLUMN attempt_started_at")
    op.execute("ALTER TABLE jobs DROP COLUMN not_before")
