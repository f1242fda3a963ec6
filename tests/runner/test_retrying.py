"""The retry policy: which exceptions run a job again, and how long the backoff is (no database)."""

from __future__ import annotations

import pytest

from jobdeck import errors
from jobdeck.runner.retrying import DEFAULT, RetryPolicy


def test_every_exception_retries_by_default() -> None:
    assert DEFAULT.retries(ValueError("x")) and DEFAULT.retries(OSError("x"))


def test_a_refusal_never_retries_but_a_failed_database_statement_does() -> None:
    assert not DEFAULT.retries(errors.JobFailed("the input is wrong"))
    assert DEFAULT.retries(errors.DatabaseFailed("deadlock detected"))


def test_fail_on_wins_over_retry_on() -> None:
    policy = RetryPolicy(retry_on=(Exception,), fail_on=(KeyError,))
    assert not policy.retries(KeyError("k")) and policy.retries(ValueError("v"))


def test_only_the_exceptions_in_retry_on_retry() -> None:
    policy = RetryPolicy(retry_on=(OSError,))
    assert policy.retries(ConnectionResetError()) and not policy.retries(ValueError())


def test_the_backoff_doubles_per_attempt_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=5.0)
    assert [policy.ceiling(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


@pytest.mark.parametrize("attempt", [1, 2, 3, 10])
def test_the_delay_is_between_half_the_ceiling_and_the_ceiling(attempt: int) -> None:
    policy = RetryPolicy(backoff_base=2.0, backoff_cap=60.0)
    delays = [policy.delay(attempt) for _ in range(500)]
    ceiling = policy.ceiling(attempt)
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert max(delays) - min(delays) > ceiling / 10  # jittered, not a constant


def test_a_negative_backoff_is_refused() -> None:
    with pytest.raises(ValueError, match="never negative"):
        RetryPolicy(backoff_base=-1)
