"""When a job function raises: whether the job runs again, and after how long.

One policy per job type (declared with `@job_type(..., retry_on=, fail_on=, backoff_base=, backoff_cap=)`);
how many runs a job gets is its `max_attempts`. The runner (runner/execute.py) asks this module and nothing else.
"""

from __future__ import annotations

import dataclasses
import random

from jobdeck import errors

ExceptionTypes = tuple[type[BaseException], ...]


def is_refusal(exc: BaseException) -> bool:
    """jobdeck's own errors (errors.JobFailed, an import's ImportRejected, …) carry a message meant for
    the user: the job saying why it cannot go on. A failed database statement is not one."""
    return isinstance(exc, errors.JobdeckError) and not isinstance(exc, errors.DatabaseFailed)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Which exceptions run a job again while attempts remain, and the backoff between attempts.

    By default every exception retries (as Sidekiq, Oban and Dramatiq do) except a refusal, whose input will
    not be better next time, and those in `fail_on`, which fail the job at once. A job type with
    `max_attempts=1` (the default) never retries."""

    retry_on: ExceptionTypes = (Exception,)
    fail_on: ExceptionTypes = ()
    #: seconds before the second attempt; doubled for each attempt after it, up to `backoff_cap`
    backoff_base: float = 1.0
    backoff_cap: float = 300.0

    def __post_init__(self) -> None:
        if self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("backoff_base and backoff_cap are seconds: never negative")

    def retries(self, exc: BaseException) -> bool:
        """Whether this exception runs the job again (when it has attempts left)."""
        if isinstance(exc, self.fail_on) or is_refusal(exc):
            return False
        return isinstance(exc, self.retry_on)

    def ceiling(self, attempt: int) -> float:
        """The longest wait after attempt number `attempt` (1 for the first run) failed."""
        return float(min(self.backoff_cap, self.backoff_base * 2 ** max(0, attempt - 1)))

    def delay(self, attempt: int) -> float:
        """Seconds to wait after attempt `attempt` failed: "equal jitter", between half the ceiling and the
        ceiling, so jobs that failed together (an outage) do not all come back at the same moment, and none
        comes back much sooner than the backoff says."""
        ceiling = self.ceiling(attempt)
        return ceiling * random.uniform(0.5, 1.0)  # nosec B311: spreading retries, not a secret


#: What a job type gets when it declares nothing.
DEFAULT = RetryPolicy()
