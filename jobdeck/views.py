"""Jobs as people and programs read them: the API's JSON shapes (JobSummary, the job document), the status
words and the time formats. The web API, the pages and the CLI all take them from here."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jobdeck import csvsafe, model
from jobdeck.operations import QueueState, WorkerState
from jobdeck.service import JobDetail

#: What the page and the CLI call each status (the seed's words); storage keeps the lowercase enum values.
STATUS_LABELS = {
    "queued": "Queued",
    "in_progress": "In Progress",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}


def status_label(value: object) -> str:
    """The word for a job's or a subtask's status."""
    key = value.value if isinstance(value, model.Status | model.SubtaskStatus) else str(value)
    return STATUS_LABELS.get(key, key.replace("_", " ").title())


def _utc(value: dt.datetime) -> dt.datetime:
    """Naive values are taken as UTC, as the ledger stores them."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def timestamp(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z` suffix: the API's times, and the page's machine-readable ones."""
    if value is None:
        return None
    return _utc(value).isoformat().replace("+00:00", "Z")


def clock(value: dt.datetime | None) -> str:
    """A time as people read it, in UTC to the second: `2026-01-02 03:04:05`; empty for none."""
    return _utc(value).strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def short_time(value: dt.datetime, now: dt.datetime | None = None) -> str:
    """A time later today as `14:05`, on another day as `2026-01-02 14:05` (UTC, as every time here)."""
    when, today = _utc(value), _utc(now or dt.datetime.now(dt.UTC))
    return when.strftime("%H:%M") if when.date() == today.date() else when.strftime("%Y-%m-%d %H:%M")


def waiting(job: model.Job, now: dt.datetime | None = None) -> str | None:
    """Why a queued job is not running yet, when it waits for a time: "Scheduled for 14:05" (a delayed job),
    "Retrying at 14:05 — attempt 2 of 5" (an attempt failed). None when it waits only for a free worker."""
    now = now or dt.datetime.now(dt.UTC)
    if job.status is not model.Status.QUEUED or job.not_before is None or _utc(job.not_before) <= now:
        return None
    at = short_time(job.not_before, now)
    if job.attempt == 0:
        return f"Scheduled for {at}"
    return f"Retrying at {at} — attempt {job.attempt + 1} of {job.max_attempts}"


#: How each attempt's end reads (the outcome words); a running attempt has no outcome yet.
OUTCOME_LABELS = {
    "succeeded": "Succeeded",
    "failed": "Failed",
    "retrying": "Failed, retried",
    "lost": "Worker lost",
    "cancelled": "Cancelled",
    "handed_back": "Handed back",
}


def attempt_outcome(a: model.Attempt) -> str:
    return OUTCOME_LABELS[a.outcome.value] if a.outcome is not None else "Running"


def attempt(a: model.Attempt) -> dict[str, Any]:
    """One run of a job, as the API, the page and the CLI show it."""
    return {
        "attempt": a.attempt,
        "worker": a.worker_id,
        "started_at": timestamp(a.started_at),
        "ended_at": timestamp(a.ended_at),
        "outcome": a.outcome.value if a.outcome is not None else "running",
        "error": a.error,
    }


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
        "not_before": timestamp(job.not_before),
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "waiting": waiting(job),
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
        "attempt": s.attempt,
    }


def job_detail(detail: JobDetail) -> dict[str, Any]:
    """JobSummary plus where it was started, its error, files and subtasks, and an import's column mapping."""
    job = detail.job
    return {
        **job_summary(job),
        "run_at": job.run_at,
        "error": job.error,
        "files": [job_file(f) for f in detail.files],
        "subtasks": [subtask(s) for s in detail.subtasks],
        "events": [event(e) for e in detail.events],
        "mapping": column_mapping(job),
        "attempts": [attempt(a) for a in detail.attempts],
    }


def column_mapping(job: model.Job) -> dict[str, str | None] | None:
    """The file column -> target column pairs an import used (None: the file column was ignored), in the
    file's order; None for a job that is not an import or whose file could not be read up front."""
    found = job.params.get("mapping") if job.type == "import" else None
    if not isinstance(found, dict):
        return None
    header = job.params.get("header") or []
    order = {name: at for at, name in enumerate(header)}  # JSON objects need not keep their order (jsonb does not)
    return {name: found[name] for name in sorted(found, key=lambda n: (order.get(n, len(order)), n))}


def page(items: list[model.Job], next_cursor: str | None) -> dict[str, Any]:
    """A listing page: `{"items": [JobSummary], "next_cursor": str | null}`."""
    return {"items": [job_summary(j) for j in items], "next_cursor": next_cursor}


def log_line(line: model.LogLine) -> dict[str, Any]:
    return {"at": timestamp(line.at), "level": line.level, "message": line.message}


def job_document(detail: JobDetail) -> dict[str, Any]:
    """What `GET /api/v1/jobs/{id}` and `jobdeck jobs show --json` return: the detail view, the job type's
    title (the grid's Job column) and the log lines the reader may see."""
    return {**job_detail(detail), "title": detail.title, "log": [log_line(line) for line in detail.log]}


def worker_document(w: WorkerState) -> dict[str, Any]:
    """What `GET /api/v1/workers` and `jobdeck workers list --json` give for one worker."""
    return {
        "id": w.id,
        "hostname": w.hostname,
        "pid": w.pid,
        "concurrency": w.concurrency,
        "started_at": timestamp(w.started_at),
        "heartbeat_at": timestamp(w.heartbeat_at),
        "heartbeat_age_seconds": round(w.heartbeat_age_s, 3),
        "running": [{"id": r.job_id, "type": r.type, "started_at": timestamp(r.started_at)} for r in w.running],
    }


def queue_document(q: QueueState) -> dict[str, Any]:
    """What `GET /api/v1/queues` and `jobdeck queues list --json` give for one queue."""
    return {
        "name": q.name,
        "depth": q.depth,
        "oldest_queued_at": timestamp(q.oldest_at),
        "oldest_queued_age_seconds": round(q.oldest_age_s, 3),
        "paused": q.paused,
        "paused_at": timestamp(q.paused_at),
        "paused_by": q.paused_by,
    }


#: What the detail view, the API's `events` and `jobdeck jobs show` call each audited action.
EVENT_LABELS = {
    "cancel": "Cancelled",
    "retry": "Retried",
    "bulk_cancel": "Cancelled (bulk)",
    "bulk_retry": "Retried (bulk)",
}


def event(e: model.JobEvent) -> dict[str, Any]:
    """One entry of a job's audit trail: who (`actor`, a username), what (`action`, `detail`) and when (`at`)."""
    return {"at": timestamp(e.at), "actor": e.actor, "action": e.action, "detail": e.detail}


#: The grid's columns, in its order: the header of an export.
EXPORT_COLUMNS = ["Status", "Job ID", "Job", "Description", "Start", "End", "Failed", "Run By"]
#: Rows written between two chunks of a streamed export.
EXPORT_CHUNK_ROWS = 200


def export_row(job: model.Job, title: str) -> list[csvsafe.Cell]:
    """A job as one row of the grid's CSV export: the grid's words, ISO 8601 times (empty when unset)."""
    return [
        status_label(job.status),
        job.id,
        title,
        job.description,
        timestamp(job.started_at),
        timestamp(job.ended_at),
        timestamp(job.failed_at),
        job.run_by or "System",
    ]


def export_csv(jobs: Iterable[model.Job], title_of: Callable[[str], str]) -> Iterator[bytes]:
    """The grid as CSV, chunk by chunk (constant memory whatever the number of jobs): UTF-8 with a byte order
    mark, every cell protected and quoted by csvsafe."""
    buffer = io.StringIO()
    writer = csvsafe.Writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(EXPORT_COLUMNS)
    for n, job in enumerate(jobs, start=1):
        writer.writerow(export_row(job, title_of(job.type)))
        if n % EXPORT_CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
