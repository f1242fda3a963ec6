"""The domain: jobs, subtasks, files, users, and the transitions a job may make. No I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from typing import Any, Literal


class Status(enum.StrEnum):
    QUEUED = "queued"  #: waiting for a worker
    IN_PROGRESS = "in_progress"  #: claimed by a worker and running
    COMPLETED = "completed"  #: finished successfully
    FAILED = "failed"  #: raised, was lost too often, or broke a limit
    CANCELLED = "cancelled"  #: stopped on a user's request

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})

#: Every transition the ledger makes; anything else is a bug.
TRANSITIONS: frozenset[tuple[Status, Status]] = frozenset(
    {
        (Status.QUEUED, Status.IN_PROGRESS),
        (Status.QUEUED, Status.CANCELLED),
        (Status.IN_PROGRESS, Status.COMPLETED),
        (Status.IN_PROGRESS, Status.FAILED),
        (Status.IN_PROGRESS, Status.CANCELLED),
        (Status.IN_PROGRESS, Status.QUEUED),  # released at shutdown or requeued after a lost worker
    }
)


def can_transition(old: Status, new: Status) -> bool:
    return (old, new) in TRANSITIONS


#: how the failure of a job begins when its worker died on every attempt
WORKER_STOPPED = "The worker running this job stopped"


def worker_stopped(times: int, worker: str, cause: str) -> str:
    """The error of a job whose runs kept ending with a dead worker; `worker` names the last one."""
    return f"{WORKER_STOPPED} {times} time{'' if times == 1 else 's'} (last: {worker}, {cause})"


def stopped_its_workers(job: Job) -> bool:
    """A poison job: every run ended with a dead worker, so running it again may stop another one."""
    return job.status is Status.FAILED and (job.error or "").startswith(WORKER_STOPPED)


class Tab(enum.StrEnum):
    GENERAL = "general"  #: system activity
    IMPORTS = "imports"  #: import operations


class FileKind(enum.StrEnum):
    INPUT = "input"  #: the file the user uploaded
    OUTPUT = "output"  #: a file the job produced
    ERROR_REPORT = "error_report"  #: what went wrong, row by row


class SubtaskStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    is_admin: bool
    disabled: bool = False


@dataclasses.dataclass(frozen=True)
class Job:
    id: int
    type: str
    tab: Tab
    description: str
    status: Status
    params: dict[str, Any]
    run_by_id: int | None  #: None when the system started it
    run_by: str | None  #: the username behind run_by_id
    run_at: str | None  #: relative path of the page the job was started from
    queue: str
    priority: int
    attempt: int
    max_attempts: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    failed_at: dt.datetime | None
    error: str | None
    progress_done: int
    progress_total: int | None
    worker_id: str | None
    lease_token: str | None
    lease_expires_at: dt.datetime | None
    cancel_requested: bool
    retry_of: int | None
    idempotency_key: str | None = None
    #: while Queued: not claimed before this time (a delayed job, or a retry waiting out its backoff)
    not_before: dt.datetime | None = None
    #: when the current (or last) attempt was claimed
    attempt_started_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Subtask:
    id: int
    job_id: int
    seq: int
    name: str
    status: SubtaskStatus
    started_at: dt.datetime
    ended_at: dt.datetime | None
    message: str | None
    attempt: int = 1  #: the job's attempt that wrote it


class AttemptOutcome(enum.StrEnum):
    """How one run of a job ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"  #: raised with no attempt left, or an exception that does not retry, or its time limit
    RETRYING = "retrying"  #: raised, and the job was queued again for a later attempt
    LOST = "lost"  #: its worker stopped (no heartbeat within the lease)
    CANCELLED = "cancelled"
    HANDED_BACK = "handed_back"  #: its worker stopped cleanly and gave it back; it does not count


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One run of a job: the job's attempt number, who ran it and how it ended (None: running now)."""

    job_id: int
    attempt: int
    worker_id: str | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    outcome: AttemptOutcome | None
    error: str | None


@dataclasses.dataclass(frozen=True)
class JobFile:
    id: int
    job_id: int
    kind: FileKind
    name: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class LogLine:
    id: int
    job_id: int
    at: dt.datetime
    level: str
    message: str


@dataclasses.dataclass(frozen=True)
class Lease:
    """A worker's hold on one job: while the job is In Progress under this token, the worker may write
    to it; once the job was reclaimed, released or ended, every write under the lease changes nothing."""

    job_id: int
    token: str


@dataclasses.dataclass(frozen=True)
class Claimed:
    """A job a worker holds: the row as claimed and the token that fences its writes."""

    job: Job
    lease_token: str

    @property
    def lease(self) -> Lease:
        return Lease(self.job.id, self.lease_token)


@dataclasses.dataclass(frozen=True)
class Page:
    items: list[Job]
    next_cursor: str | None


_RUN_AT = re.compile(r"^/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@%/?#-]*$")


def safe_run_at(path: str | None) -> str | None:
    """Only a path on this site is kept as "Job Run At": no scheme, no host, no `//`, no backslashes."""
    if not path or len(path) > 500 or not _RUN_AT.match(path):
        return None
    return path


#: What an audit row records: a single action, or the same action over every job matching a filter.
EventAction = Literal["cancel", "retry", "bulk_cancel", "bulk_retry"]


@dataclasses.dataclass(frozen=True)
class JobEvent:
    """One entry of a job's audit trail: who did what to it, and when (by the database clock)."""

    id: int
    job_id: int
    at: dt.datetime
    actor_id: int | None  #: None once the user is deleted; `actor` keeps their name
    actor: str
    action: EventAction
    detail: str
