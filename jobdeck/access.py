"""The one visibility rule: who may see, download, cancel, retry and start what, and which log lines they
may read. Deny by default."""

from __future__ import annotations

from typing import Literal

from jobdeck import model

#: How a failure's traceback starts in the job log.
TRACEBACK = "Traceback (most recent call last)"

#: Who may start a job type from the page or the API.
Audience = Literal["admins", "everyone"]


def visible_to(user: model.User) -> int | None:
    """The listing restriction for this user: None (everything) for admins, else their own id."""
    return None if user.is_admin else user.id


def can_list(user: model.User | None) -> bool:
    """Whether this user may list jobs at all (a disabled user sees nothing, like can_view says)."""
    return user is not None and not user.disabled


def can_view(user: model.User | None, job: model.Job) -> bool:
    """Admins see every job; other users only the jobs they started. Disabled users see nothing."""
    if user is None or user.disabled:
        return False
    return user.is_admin or (job.run_by_id is not None and job.run_by_id == user.id)


def can_cancel(user: model.User | None, job: model.Job) -> bool:
    return can_view(user, job) and job.status in (model.Status.QUEUED, model.Status.IN_PROGRESS)


def can_start(user: model.User | None, audience: Audience) -> bool:
    if user is None or user.disabled:
        return False
    return user.is_admin or audience == "everyone"


def can_retry(user: model.User | None, job: model.Job, audience: Audience) -> bool:
    return can_view(user, job) and job.status is model.Status.FAILED and can_start(user, audience)


def visible_log(user: model.User | None, lines: list[model.LogLine]) -> list[model.LogLine]:
    """The job log as this user may read it: a failure's traceback (server paths, code) is for admins only;
    everyone who may see the job reads the error message itself on the job."""
    if user is not None and user.is_admin and not user.disabled:
        return lines
    return [line for line in lines if not line.message.startswith(TRACEBACK)]


def can_operate(user: model.User | None) -> bool:
    """Who sees the workers and queues, and pauses and resumes queues: enabled admins only."""
    return user is not None and user.is_admin and not user.disabled
