"""Retry: a failed job runs again as a new job, except a poison job (its workers kept dying), which only
an administrator may retry."""

from __future__ import annotations

import time

import pytest

from jobdeck import errors, model
from jobdeck.service import Service
from jobdeck.store import claim, workers


def stop_its_worker_every_time(service: Service, job: model.Job) -> None:
    """Each attempt is claimed by a worker that then goes silent, and reaped after its short lease."""
    for n in range(job.max_attempts):
        with service.db.write() as conn:
            workers.register(conn, f"lost-{n}", "host-a", 4242 + n, 1)
            assert claim.claim(service.db, conn, f"lost-{n}", 1, lease_seconds=0.05)
        time.sleep(0.1)
        with service.db.write() as conn:
            workers.reap(service.db, conn)


def test_a_poison_job_is_not_retried_for_an_ordinary_user_who_is_told_why(
    service: Service, admin: model.User, alice: model.User
) -> None:
    job = service.start_job(alice, "t_crash")  # two attempts
    stop_its_worker_every_time(service, job)
    assert service.get_job(alice, job.id).status is model.Status.FAILED
    with pytest.raises(errors.InvalidTransition) as refused:
        service.retry(alice, job.id)
    assert refused.value.message == (
        f"Job {job.id} cannot be retried: The worker running this job stopped 2 times "
        "(last: host-a, pid 4243, no heartbeat within its lease). Only an administrator may retry it."
    )


def test_an_administrator_may_retry_a_poison_job(service: Service, admin: model.User, alice: model.User) -> None:
    job = service.start_job(alice, "t_crash")
    stop_its_worker_every_time(service, job)
    again = service.retry(admin, job.id)
    assert again.status is model.Status.QUEUED and again.retry_of == job.id


def test_an_ordinary_user_still_retries_a_job_that_failed_on_its_own(service: Service, alice: model.User) -> None:
    job = service.start_job(alice, "t_fail_always")
    service.worker(concurrency=1).run(burst=True)
    assert service.retry(alice, job.id).retry_of == job.id
