"""The tables and indexes; the Alembic migrations are generated from this and tested against it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from jobdeck.store.expressions import description_prefix, time_or_epoch

metadata = sa.MetaData()

# Timestamps are always UTC. BigInteger ids become INTEGER PRIMARY KEY (the rowid) on SQLite.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("username", sa.String(150), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", Timestamp),
    sa.Column("created_at", Timestamp, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_used_at", Timestamp),
    sa.Column("expires_at", Timestamp),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_seen_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
)

#: Failed-login counters, one row per throttled key (a client address or an account name), keyed by a sha256
#: so neither is stored in clear; unknown names get a row like known ones.
login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),  #: attempts counted: failed ones and those in flight
    sa.Column("in_flight", sa.Integer, nullable=False),  #: attempts whose password is being checked
    sa.Column("resets_at", Timestamp, nullable=False),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("tab", sa.String(16), nullable=False),
    sa.Column("description", sa.String(1000), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("params", Json, nullable=False),
    sa.Column("run_by_id", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("run_at", sa.String(500)),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("started_at", Timestamp),
    sa.Column("ended_at", Timestamp),
    sa.Column("failed_at", Timestamp),
    sa.Column("error", sa.Text),
    sa.Column("progress_done", sa.BigInteger, nullable=False),
    sa.Column("progress_total", sa.BigInteger),
    sa.Column("worker_id", sa.String(64)),
    sa.Column("lease_token", sa.String(32)),
    sa.Column("lease_expires_at", Timestamp),
    sa.Column("cancel_requested", sa.Boolean, nullable=False),
    sa.Column("retry_of", Id, sa.ForeignKey("jobs.id", ondelete="SET NULL")),
    sa.Column("idempotency_key", sa.String(200), unique=True),
    sa.Column("not_before", Timestamp),  #: not claimed before this time (a delayed job, a retry's backoff)
    sa.Column("attempt_started_at", Timestamp),  #: when the current (or last) attempt was claimed
    #: a unique type's key: at most one queued or in-progress job of a type has it (the index below)
    sa.Column("unique_key", sa.String(200)),
    #: the username of run_by_id copied at enqueue ('' for the system): the grid's Run By sort, by an index
    sa.Column("run_by_name", sa.String(150), nullable=False, server_default=""),
    # The grid's two orders, newest first (a b-tree reads backwards as fast as forwards).
    sa.Index("ix_jobs_tab_id", "tab", "id"),
    sa.Index("ix_jobs_run_by_tab_id", "run_by_id", "tab", "id"),
    # not_before last: the claim keeps the (queue, priority, id) order and skips a delayed job from the
    # index entry, without reading its row.
    sa.Index(
        "ix_jobs_claimable",
        "queue",
        "priority",
        "id",
        "not_before",
        sqlite_where=sa.text("status = 'queued'"),
        postgresql_where=sa.text("status = 'queued'"),
    ),
    sa.Index(
        "ix_jobs_lease",
        "lease_expires_at",
        sqlite_where=sa.text("status = 'in_progress'"),
        postgresql_where=sa.text("status = 'in_progress'"),
    ),
    sa.Index(
        "ix_jobs_worker",
        "worker_id",
        sqlite_where=sa.text("status = 'in_progress'"),
        postgresql_where=sa.text("status = 'in_progress'"),
    ),
    sa.Index("ix_jobs_created_at", "created_at"),
    sa.Index(
        "ux_jobs_unique_key",
        "type",
        "unique_key",
        unique=True,
        sqlite_where=sa.text("status IN ('queued', 'in_progress')"),
        postgresql_where=sa.text("status IN ('queued', 'in_progress')"),
    ),
)

subtasks = sa.Table(
    "subtasks",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("job_id", Id, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("ended_at", Timestamp),
    sa.Column("message", sa.Text),
    #: the job's attempt that wrote it: the detail shows the current attempt's, an import resumes from all
    sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
    sa.Index("ix_subtasks_job_seq", "job_id", "seq"),
)

#: One row per finished attempt (a run that ended: succeeded, failed, retrying, lost, cancelled, handed back),
#: written in the transaction that ends it; the attempt running now is read from the job row.
job_attempts = sa.Table(
    "job_attempts",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("job_id", Id, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("worker_id", sa.String(64)),
    sa.Column("started_at", Timestamp),
    sa.Column("ended_at", Timestamp, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("error", sa.Text),
    sa.Index("ix_job_attempts_job", "job_id", "attempt"),
)

job_files = sa.Table(
    "job_files",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("job_id", Id, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("storage_key", sa.String(100), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

file_blobs = sa.Table(
    "file_blobs",
    metadata,
    sa.Column("storage_key", sa.String(100), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

job_log = sa.Table(
    "job_log",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("job_id", Id, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("level", sa.String(10), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)

workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("hostname", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("concurrency", sa.Integer, nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("heartbeat_at", Timestamp, nullable=False),
)

schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("job_type", sa.String(100), primary_key=True),
    sa.Column("last_period", Timestamp, nullable=False),
)

#: A queue's pause: a row once a queue has been paused; no row means running. paused_at and paused_by_id record
#: the last pause and stay after a resume.
queues = sa.Table(
    "queues",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("paused_at", Timestamp),
    sa.Column("paused_by_id", Id, sa.ForeignKey("users.id", ondelete="SET NULL")),
)


#: The audit trail: who cancelled or retried a job (alone or in bulk), and when. The actor's name is copied
#: so the entry still reads right after the user is deleted; the entries go with their job.
job_events = sa.Table(
    "job_events",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("job_id", Id, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("actor_id", Id, sa.ForeignKey("users.id", ondelete="SET NULL"), index=True),
    sa.Column("actor", sa.String(150), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index("ix_job_events_job_id", "job_id", "id"),
)


#: The grid's sorts by a time column that stays empty while a job waits or runs: newest first (or oldest)
#: over a tab is a walk down one of these instead of a sort of the whole tab. The tab leads, as in
#: SORT_INDEXES: SQLite without statistics picks an index that answers `tab = ?`, and then the one that
#: also gives the order.
TIME_SORT_INDEXES = {
    name: sa.Index(f"ix_jobs_{name}_sort", jobs.c.tab, time_or_epoch(jobs.c[name]), jobs.c.id)
    for name in ("started_at", "ended_at", "failed_at")
}


#: The grid's other sorts: a walk down an index instead of a sort of the whole ledger (docs/scaling.md
#: gives what each costs a drain: status changes on every claim and finish, so its index is updated then).
#: The grid always shows one tab, so the tab leads: an ascending walk never passes the other tab's rows.
SORT_INDEXES = {
    "type": sa.Index("ix_jobs_type_sort", jobs.c.tab, jobs.c.type, jobs.c.id),
    "status": sa.Index("ix_jobs_status_sort", jobs.c.tab, jobs.c.status, jobs.c.id),
    "description": sa.Index("ix_jobs_description_sort", jobs.c.tab, description_prefix(jobs.c.description), jobs.c.id),
    "run_by": sa.Index("ix_jobs_run_by_sort", jobs.c.tab, jobs.c.run_by_name, jobs.c.id),
    "created_at": sa.Index("ix_jobs_created_at_sort", jobs.c.tab, jobs.c.created_at, jobs.c.id),
}
#: A child found from its original: deleting a job sets its retries' `retry_of` to NULL, a scan per
#: deleted row without this (retention deletes in batches of hundreds).
sa.Index(
    "ix_jobs_retry_of",
    jobs.c.retry_of,
    sqlite_where=sa.text("retry_of IS NOT NULL"),
    postgresql_where=sa.text("retry_of IS NOT NULL"),
)
#: Indexes outside the comparison of the migrated database with this metadata (tests check them by name):
#: expression indexes, which Alembic cannot reflect on every database, and the search index that
#: migration 0004 creates beside the metadata (a pg_trgm GIN index; on SQLite an FTS5 table and triggers).
UNCOMPARED_INDEXES = {
    "ix_jobs_started_at_sort",
    "ix_jobs_ended_at_sort",
    "ix_jobs_failed_at_sort",
    "ix_jobs_description_sort",
    "ix_jobs_description_trgm",
}
