"""The API's response shapes for the OpenAPI document; bodies come from jobdeck.views so the CLI's --json agrees."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import pydantic

Status = Literal["queued", "in_progress", "completed", "failed", "cancelled"]
SubtaskStatus = Literal["in_progress", "completed", "failed"]
TabName = Literal["general", "imports"]
FileKindName = Literal["input", "output", "error_report"]


class Progress(pydantic.BaseModel):
    done: int
    total: int | None


class JobSummary(pydantic.BaseModel):
    id: int
    type: str
    tab: TabName
    description: str
    status: Status
    created_at: dt.datetime
    started_at: dt.datetime | None  #: the grid's Start
    ended_at: dt.datetime | None  #: the grid's End; null while in progress ("Still in progress")
    failed_at: dt.datetime | None  #: the grid's Failed; set only when the job failed
    run_by: str | None  #: the grid's Run By: the username of whoever started it, null for the system
    progress: Progress
    not_before: dt.datetime | None  #: while queued: not started before this time (a delayed job, a retry)
    attempt: int  #: runs so far (the current one included)
    max_attempts: int
    #: why a queued job waits, in words: "Scheduled for 14:05", "Retrying at 14:05 — attempt 2 of 5"; else null
    waiting: str | None


class JobFileOut(pydantic.BaseModel):
    id: int
    kind: FileKindName
    name: str
    size: int
    content_type: str
    download_url: str


class SubtaskOut(pydantic.BaseModel):
    id: int
    name: str
    status: SubtaskStatus
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    message: str | None
    attempt: int  #: the attempt that wrote it


AttemptOutcome = Literal["running", "succeeded", "failed", "retrying", "lost", "cancelled", "handed_back"]


class AttemptOut(pydantic.BaseModel):
    attempt: int
    worker: str | None  #: the worker id (host:pid:…) that ran it
    started_at: dt.datetime | None
    ended_at: dt.datetime | None  #: null while it runs
    outcome: AttemptOutcome
    error: str | None


class LogLineOut(pydantic.BaseModel):
    at: dt.datetime
    level: str
    message: str


class JobEventOut(pydantic.BaseModel):
    at: dt.datetime
    actor: str  #: the username of who acted (kept after the user is deleted)
    action: Literal["cancel", "retry", "bulk_cancel", "bulk_retry"]
    detail: str  #: e.g. "as job 42" for a retry


class JobDetailOut(JobSummary):
    title: str  #: the grid's "Job": the job type's title
    run_at: str | None  #: "Job Run At": the relative path of the page the job was started from
    error: str | None
    files: list[JobFileOut]
    subtasks: list[SubtaskOut]  #: the current (or last) attempt's
    attempts: list[AttemptOut]  #: every run, oldest first
    #: an import's columns: file column -> target column (null: ignored), in the file's order
    mapping: dict[str, str | None] | None
    log: list[LogLineOut]
    events: list[JobEventOut]  #: the audit trail, oldest first


class JobPage(pydantic.BaseModel):
    items: list[JobSummary]
    next_cursor: str | None


class Me(pydantic.BaseModel):
    username: str
    display_name: str
    is_admin: bool


class Token(pydantic.BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int  #: seconds until the token stops working


class TokenOut(pydantic.BaseModel):
    id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None


class ColumnOut(pydantic.BaseModel):
    name: str
    type: str
    required: bool
    max_length: int | None
    allowed: list[str] | None


class ImportTargetOut(pydantic.BaseModel):
    name: str
    title: str
    description: str
    columns: list[ColumnOut]
    key: list[str]
    template_url: str


class JobTypeOut(pydantic.BaseModel):
    name: str
    title: str
    tab: TabName
    params_schema: dict[str, Any] | None


class NewJob(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    type: str = pydantic.Field(min_length=1, max_length=100)
    params: dict[str, Any] = pydantic.Field(default_factory=dict)
    #: run at this time or later (ISO 8601; without a zone: UTC); a time already past runs it now
    run_after: dt.datetime | None = None
    #: or this many seconds from now (at most a year); not with run_after
    delay_seconds: float | None = pydantic.Field(default=None, ge=0, le=366 * 24 * 3600)

    @pydantic.model_validator(mode="after")
    def _one_time(self) -> NewJob:
        if self.run_after is not None and self.delay_seconds is not None:
            raise ValueError("give run_after or delay_seconds, not both")
        return self


class FieldProblem(pydantic.BaseModel):
    field: str
    message: str


class Problem(pydantic.BaseModel):
    """RFC 9457 problem details, sent as application/problem+json."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None  #: a 422 names each bad field and what is wrong with it


class Health(pydantic.BaseModel):
    status: Literal["ok"]


class JobCount(pydantic.BaseModel):
    count: int  #: the jobs the caller's listing with these filters holds, over all its pages


class BulkOutcome(pydantic.BaseModel):
    matched: int  #: the jobs the filters matched (the count confirmed)
    acted: int  #: cancelled (or asked to stop), or retried as new jobs
    skipped: int  #: not in a state that allows the action
