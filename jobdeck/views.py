"""Jobs as the API's JSON shapes (JobSummary, job detail): one conversion that the web API and the CLI share."""

from __future__ import annotations

import datetime as dt
from typing import Any

from jobdeck import model
from jobdeck.service import JobDetail


def timestamp(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z` suffix; naive values are taken as UTC, as the ledger stores them."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def download_url(job_id: int, file_id: int) -> str:
    return f"/api/v1/jobs/{job_id}/files/{file_id}"


def job_summary(job: model.Job) -> dict[str, Any]:
    """JobSummary: what one row of the grid shows."""
    return {
        "id": job.id,
        "type": job.type,
        "tab": job.tab.value,
        "description": job.description,
        "status": job.status.value,
        "created_at": timestamp(job.created_at),
        "started_at": timestamp(job.started_at),
        "ended_at": timestamp(job.ended_at),
        "failed_at": timestamp(job.failed_at),
        "run_by": job.run_by,
        "progress": {"done": job.progress_done, "total": job.progress_total},
    }


def job_file(f: model.JobFile) -> dict[str, Any]:
    return {
        "id": f.id,
        "kind": f.kind.value,
        "name": f.name,
        "size": f.size,
        "content_type": f.content_type,
        "download_url": download_url(f.job_id, f.id),
    }


def subtask(s: model.Subtask) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "status": s.status.value,
        "started_at": timestamp(s.started_at),
        "ended_at": timestamp(s.ended_at),
        "message": s.message,
    }


def job_detail(detail: JobDetail) -> dict[str, Any]:
    """The detail view: JobSummary plus where it was started, its error, files and subtasks."""
    job = detail.job
    return {
        **job_summary(job),
        "run_at": job.run_at,
        "error": job.error,
        "files": [job_file(f) for f in detail.files],
        "subtasks": [subtask(s) for s in detail.subtasks],
    }


def page(items: list[model.Job], next_cursor: str | None) -> dict[str, Any]:
    """A listing page: `{"items": [JobSummary], "next_cursor": str | null}`."""
    return {"items": [job_summary(j) for j in items], "next_cursor": next_cursor}


def log_line(line: model.LogLine) -> dict[str, Any]:
    return {"at": timestamp(line.at), "level": line.level, "message": line.message}


def job_document(detail: JobDetail, title: str) -> dict[str, Any]:
    """What `GET /api/v1/jobs/{id}` and `jobdeck jobs show --json` return: the detail view, the job type's
    title (the grid's Job column) and the job's log lines."""
    return {**job_detail(detail), "title": title, "log": [log_line(line) for line in detail.log]}
