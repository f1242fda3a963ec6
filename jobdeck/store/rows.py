"""Rows to domain objects and back: the one place that knows column names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import schema


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything jobdeck stores is UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def to_db_time(value: dt.datetime) -> dt.datetime:
    """A parameter compared with stored times: UTC, naive on SQLite as stored there."""
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


JOB_COLUMNS = [*schema.jobs.c, schema.users.c.username.label("run_by")]


def job_select() -> sa.Select[Any]:
    return sa.select(*JOB_COLUMNS).select_from(
        schema.jobs.outerjoin(schema.users, schema.users.c.id == schema.jobs.c.run_by_id)
    )


def job(row: sa.Row[Any]) -> model.Job:
    return job_of(row._mapping)


def job_of(m: Mapping[Any, Any]) -> model.Job:
    """A job from its columns by name (and `run_by`, the username)."""
    created_at = utc(m["created_at"])
    assert created_at is not None
    return model.Job(
        id=m["id"],
        type=m["type"],
        tab=model.Tab(m["tab"]),
        description=m["description"],
        status=model.Status(m["status"]),
        params=m["params"] or {},
        run_by_id=m["run_by_id"],
        run_by=m["run_by"],
        run_at=m["run_at"],
        queue=m["queue"],
        priority=m["priority"],
        attempt=m["attempt"],
        max_attempts=m["max_attempts"],
        created_at=created_at,
        started_at=utc(m["started_at"]),
        ended_at=utc(m["ended_at"]),
        failed_at=utc(m["failed_at"]),
        error=m["error"],
        progress_done=m["progress_done"],
        progress_total=m["progress_total"],
        worker_id=m["worker_id"],
        lease_token=m["lease_token"],
        lease_expires_at=utc(m["lease_expires_at"]),
        cancel_requested=bool(m["cancel_requested"]),
        retry_of=m["retry_of"],
        idempotency_key=m["idempotency_key"],
        not_before=utc(m["not_before"]),
        attempt_started_at=utc(m["attempt_started_at"]),
    )


def subtask(row: sa.Row[Any]) -> model.Subtask:
    m = row._mapping
    started_at = utc(m["started_at"])
    assert started_at is not None
    return model.Subtask(
        id=m["id"],
        job_id=m["job_id"],
        seq=m["seq"],
        name=m["name"],
        status=model.SubtaskStatus(m["status"]),
        started_at=started_at,
        ended_at=utc(m["ended_at"]),
        message=m["message"],
        attempt=m["attempt"],
    )


def job_file(row: sa.Row[Any]) -> model.JobFile:
    m = row._mapping
    created_at = utc(m["created_at"])
    assert created_at is not None
    return model.JobFile(
        id=m["id"],
        job_id=m["job_id"],
        kind=model.FileKind(m["kind"]),
        name=m["name"],
        content_type=m["content_type"],
        size=m["size"],
        sha256=m["sha256"],
        storage_key=m["storage_key"],
        created_at=created_at,
    )


def log_line(row: sa.Row[Any]) -> model.LogLine:
    m = row._mapping
    at = utc(m["at"])
    assert at is not None
    return model.LogLine(id=m["id"], job_id=m["job_id"], at=at, level=m["level"], message=m["message"])


def user(row: sa.Row[Any]) -> model.User:
    m = row._mapping
    return model.User(
        id=m["id"],
        username=m["username"],
        display_name=m["display_name"],
        is_admin=bool(m["is_admin"]),
        disabled=bool(m["disabled"]),
    )
