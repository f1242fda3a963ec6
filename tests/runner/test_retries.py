"""Automatic retries through a real worker and ledger: backoff by the database clock, the attempts history,
which exceptions retry, and what never does (cancellation, time limits)."""

from __future__ import annotations

import time

from jobdeck import model
from jobdeck.service import Service
from jobdeck.store import attempts, cancelling, claim, jobs
from tests.runner import kinds_retry

PATIENCE_S = 60.0


def run_until_finished(service: Service, job_id: int) -> model.Job:
    """Run batches in this thread until the job ends (a retry waits out its backoff in the queue)."""
    worker = service.worker(concurrency=1)
    deadline = time.monotonic() + PATIENCE_S
    while True:
        worker.run_once()
        job = get(service, job_id)
        if job.status.is_terminal:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job.status.value}"
        time.sleep(0.02)


def get(service: Service, job_id: int) -> model.Job:
    with service.db.read() as conn:
        return jobs.get(conn, job_id)


def history(service: Service, job_id: int) -> list[model.Attempt]:
    with service.db.read() as conn:
        return attempts.for_job(conn, jobs.get(conn, job_id))


def test_a_raising_job_is_queued_again_not_before_its_backoff_by_the_database_clock(service: Service) -> None:
    job = service.start_job(None, kinds_retry.SLOW)
    assert service.worker(concurrency=1).run_once() == 1
    after = get(service, job.id)
    assert after.status is model.Status.QUEUED and after.attempt == 1 and after.error is None
    (first,) = history(service, job.id)
    assert first.outcome is model.AttemptOutcome.RETRYING and first.error == "boom on attempt 1"
    assert first.started_at is not None and first.ended_at is not None and after.not_before is not None
    waited = (after.not_before - first.ended_at).total_seconds()
    # equal jitter: between half the ceiling and the ceiling (4 s for the first retry), both times the database's
    assert kinds_retry.SLOW_BASE_S / 2 - 0.05 <= waited <= kinds_retry.SLOW_BASE_S + 0.05


def test_attempts_exhausted_fail_the_job_with_the_last_error_and_keep_every_attempt(service: Service) -> None:
    job = service.start_job(None, kinds_retry.ALWAYS)
    final = run_until_finished(service, job.id)
    assert final.status is model.Status.FAILED and final.error == "boom on attempt 3" and final.attempt == 3
    runs = history(service, job.id)
    assert [(a.attempt, a.outcome) for a in runs] == [
        (1, model.AttemptOutcome.RETRYING),
        (2, model.AttemptOutcome.RETRYING),
        (3, model.AttemptOutcome.FAILED),
    ]
    assert [a.error for a in runs] == [f"boom on attempt {n}" for n in (1, 2, 3)]
    assert all(a.worker_id and a.started_at and a.ended_at and a.started_at <= a.ended_at for a in runs)


def test_each_attempt_keeps_its_own_subtasks_and_starts_with_fresh_progress(
    service: Service, admin: model.User
) -> None:
    job = service.start_job(None, kinds_retry.ALWAYS)
    service.worker(concurrency=1).run_once()
    assert get(service, job.id).progress_done == 5  # the failed attempt's progress stays until the next
    run_until_finished(service, job.id)
    detail = service.job_detail(admin, job.id)
    assert [(s.name, s.attempt) for s in detail.subtasks] == [("Work", 3)]  # the detail: the last attempt's
    with service.db.read() as conn:
        every = jobs.subtasks(conn, job.id)
    assert [(s.attempt, s.status) for s in every] == [(n, model.SubtaskStatus.FAILED) for n in (1, 2, 3)]


def test_an_exception_in_fail_on_fails_at_once_with_attempts_left(service: Service) -> None:
    job = service.start_job(None, kinds_retry.FAIL_ON)
    final = run_until_finished(service, job.id)
    assert final.status is model.Status.FAILED and final.attempt == 1 and final.error == "the account is closed"
    assert [a.outcome for a in history(service, job.id)] == [model.AttemptOutcome.FAILED]


def test_an_exception_outside_retry_on_fails_at_once(service: Service) -> None:
    final = run_until_finished(service, service.start_job(None, kinds_retry.ONLY_OS).id)
    assert final.status is model.Status.FAILED and final.attempt == 1


def test_a_refusal_fails_at_once_with_attempts_left(service: Service) -> None:
    final = run_until_finished(service, service.start_job(None, kinds_retry.REFUSES).id)
    assert final.status is model.Status.FAILED and final.attempt == 1 and final.error == "The input says no"


def test_a_job_type_with_one_attempt_fails_at_once_as_before(service: Service) -> None:
    final = run_until_finished(service, service.start_job(None, "t_fail_always").id)
    assert final.status is model.Status.FAILED and final.attempt == 1


def test_the_flaky_demo_succeeds_on_the_attempt_after_its_failures(service: Service) -> None:
    job = service.start_job(None, "flaky", {"fail_times": 2})
    final = run_until_finished(service, job.id)
    assert final.status is model.Status.COMPLETED and final.attempt == 3 and final.progress_done == 1
    outcomes = [a.outcome for a in history(service, job.id)]
    assert outcomes == [model.AttemptOutcome.RETRYING, model.AttemptOutcome.RETRYING, model.AttemptOutcome.SUCCEEDED]


def test_a_cancelled_run_is_not_retried(service: Service) -> None:
    job = service.start_job(None, kinds_retry.WAITS)
    with service.db.write() as conn:
        cancelling.request_cancel(conn, job.id)  # queued: cancelled at once, never run
    assert get(service, job.id).status is model.Status.CANCELLED
    running = service.start_job(None, kinds_retry.WAITS, {"seconds": 0.5})
    with service.db.write() as conn:
        (claimed,) = claim.claim(service.db, conn, "w-test", 1, lease_seconds=30)
    with service.db.write() as conn:
        cancelling.request_cancel(conn, running.id)
    worker = service.worker(concurrency=1)
    ctx = worker._context(claimed)
    ctx.mark_cancel_requested()
    outcome = worker.pool.execute(ctx)
    assert outcome is not None and outcome.status is model.Status.CANCELLED


def test_a_run_past_its_time_limit_is_not_retried(service: Service) -> None:
    job = service.start_job(None, kinds_retry.WAITS, {"seconds": 30})
    worker = service.worker(concurrency=1, job_timeout_seconds=0.2)
    with service.db.write() as conn:
        (claimed,) = claim.claim(service.db, conn, worker.id, 1, lease_seconds=30)
    outcome = worker.pool.execute(worker._context(claimed))
    assert outcome is not None and outcome.status is model.Status.FAILED and "limit" in (outcome.error or "")
    assert job.id == claimed.job.id


def test_a_run_asked_to_stop_is_not_retried_whatever_it_raises(service: Service) -> None:
    service.start_job(None, kinds_retry.RAISES_WHEN_CANCELLED)
    worker = service.worker(concurrency=1)
    with service.db.write() as conn:
        (claimed,) = claim.claim(service.db, conn, worker.id, 1, lease_seconds=30)
    ctx = worker._context(claimed)
    ctx.mark_cancel_requested()
    outcome = worker.pool.execute(ctx)
    assert outcome is not None and outcome.status is model.Status.FAILED and outcome.error == "stopped badly"
