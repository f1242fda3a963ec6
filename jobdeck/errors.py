"""Every failure jobdeck names: one small class each; the docstring is the default message."""

from __future__ import annotations


class JobdeckError(Exception):
    """Something went wrong in jobdeck."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        super().__init__(self.message)


class ConfigInvalid(JobdeckError):
    """A JOBDECK_* setting has a value jobdeck cannot use; fix the variable named in the message."""


class SchemaOutdated(JobdeckError):
    """The database schema is behind this version of jobdeck; run `jobdeck db upgrade`."""


class JobNotFound(JobdeckError):
    """No such job (or you may not see it)."""


class FileNotFound(JobdeckError):
    """No such file (or you may not see it)."""


class QueueNotFound(JobdeckError):
    """No such queue: no job type runs on it and no job waits or runs on it."""


class NotAllowed(JobdeckError):
    """You may not do that."""


class InvalidTransition(JobdeckError):
    """The job is not in a state that allows this action."""


class UnknownJobType(JobdeckError):
    """No job type of that name is registered; check JOBDECK_JOB_MODULES."""


class InvalidParams(JobdeckError):
    """The job's parameters are not valid for its type."""


class UserNotFound(JobdeckError):
    """No such user."""


class UserExists(JobdeckError):
    """A user with that name already exists."""


class WeakPassword(JobdeckError):
    """The password is too weak: use at least 8 characters, and not a common password."""


class BadCredentials(JobdeckError):
    """Wrong username or password."""


class LoginThrottled(JobdeckError):
    """Too many failed logins for this account; wait a few minutes and try again."""


class LeaseLost(JobdeckError):
    """This worker no longer holds the job's lease (it was reclaimed); its result is abandoned."""


class JobCancelled(JobdeckError):
    """The job was cancelled on request."""


class DatabaseUnreachable(JobdeckError):
    """The database could not be reached for longer than the lease; the worker stops so a supervisor restarts it."""


class InvalidCursor(JobdeckError):
    """The page cursor is not one this listing produced; start again from the first page."""


class InvalidSort(JobdeckError):
    """Unknown sort column."""


class FileTooLarge(JobdeckError):
    """The file is larger than the configured limit (JOBDECK_MAX_UPLOAD_MB)."""


class UnknownTarget(JobdeckError):
    """No import target of that name is registered; check JOBDECK_JOB_MODULES."""


class ImportRejected(JobdeckError):
    """The file cannot be imported as it is; the message says why."""


class NotAuthenticated(JobdeckError):
    """Sign in first: send `Authorization: Bearer <token>` (from POST /api/v1/auth/token) or the session cookie."""


class CsrfRejected(JobdeckError):
    """The request did not carry this session's CSRF token, or came from another site; reload the page and retry."""


class TokenNotFound(JobdeckError):
    """No such API token."""


class JobFailed(JobdeckError):
    """The job could not do its work; the message says why."""


class WorkerStuck(JobdeckError):
    """Too many jobs ran past their time limit without stopping; the worker stops so that its supervisor restarts it."""


class DatabaseFailed(JobdeckError):
    """A database statement failed."""


class DatabaseUnavailable(DatabaseFailed):
    """The database could not be reached for a moment (a restart, a network blip); worth retrying."""


class CountChanged(JobdeckError):
    """The number of matching jobs changed since you were shown it; nothing was done. Look again and confirm."""

    def __init__(self, count: int, confirmed: int) -> None:
        self.count = count  #: how many jobs match now
        super().__init__(
            f"{count} jobs match these filters now, not the {confirmed} you confirmed; nothing was done. "
            f"Check them again and confirm {count}."
        )
