"""Time limits: a job is asked to stop at its type's limit, failed after a grace if it does not, and a
worker holding too many such threads stops so that its supervisor restarts it."""

from __future__ import annotations

import threading

import pytest

from jobdeck import errors, model, settings
from jobdeck.runner import supervisor
from jobdeck.runner.options import WorkerOptions
from jobdeck.runner.registry import Registry
from jobdeck.service import Service
from tests.conftest import wait_for
from tests.runner import kinds_extra

assert kinds_extra  # registers the job types with limits
LIMITED = {"timeout_grace_seconds": 0.3, "poll_seconds": 0.1}


def ended(service: Service, admin: model.User, job_id: int) -> bool:
    return service.get_job(admin, job_id).status.is_terminal


def test_a_cooperative_job_stops_at_its_limit_and_fails_saying_so(service: Service, admin: model.User) -> None:
    job = service.start_job(None, "t_sleep_until_stopped")
    service.worker(concurrency=1, **LIMITED).run(burst=True)
    done = service.get_job(admin, job.id)
    assert done.status is model.Status.FAILED
    assert done.error == "Stopped after 0.5 s (the limit for this job type)"


def test_an_uncooperative_job_is_failed_after_the_grace_and_the_worker_serves_the_next_job(
    service: Service, admin: model.User
) -> None:
    stuck = service.start_job(None, "t_ignore_stop", {"seconds": 8})
    worker = service.worker(concurrency=1, **LIMITED)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        wait_for(lambda: ended(service, admin, stuck.id), timeout=30)
        assert service.get_job(admin, stuck.id).error == "Stopped after 0.3 s (the limit for this job type)"
        after = service.start_job(None, "t_echo", {"text": "still here"})
        wait_for(lambda: ended(service, admin, after.id), timeout=30)
        assert service.get_job(admin, after.id).status is model.Status.COMPLETED
        assert worker.pool.abandoned == 1
    finally:
        worker.stop(0)
        thread.join(30)


def test_the_default_limit_comes_from_the_settings_and_zero_means_none() -> None:
    registry = Registry()
    registry.job_type("own")(lambda ctx: None)
    registry.job_type("limited", timeout=5)(lambda ctx: None)
    registry.job_type("unlimited", timeout=0)(lambda ctx: None)
    options = WorkerOptions.from_settings(settings.load(job_timeout_seconds=60))
    assert [options.time_limit(registry.get(n)) for n in ("own", "limited", "unlimited")] == [60, 5, None]
    no_default = WorkerOptions.from_settings(settings.load(job_timeout_seconds=0))
    assert no_default.time_limit(registry.get("own")) is None


def test_a_worker_holding_too_many_abandoned_threads_drains_and_exits_with_status_4(
    service: Service, admin: model.User
) -> None:
    stuck = service.start_job(None, "t_ignore_stop", {"seconds": 8})
    worker = service.worker(concurrency=1, max_abandoned_threads=1, shutdown_grace_seconds=1, **LIMITED)
    assert supervisor.run_in_foreground(worker) == supervisor.EXIT_STUCK == 4
    assert service.get_job(admin, stuck.id).status is model.Status.FAILED


def test_an_embedded_worker_with_too_many_abandoned_threads_stops_with_worker_stuck(service: Service) -> None:
    service.start_job(None, "t_ignore_stop", {"seconds": 8})
    worker = service.worker(concurrency=1, max_abandoned_threads=1, shutdown_grace_seconds=1, **LIMITED)
    with pytest.raises(errors.WorkerStuck):
        worker.run()
