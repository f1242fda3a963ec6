"""The operator's view as a service: admins only, the queues and workers it lists, and pause and resume with a
real worker running."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from jobdeck import errors, model
from jobdeck.operations import Operations
from jobdeck.runner.worker import Worker
from jobdeck.service import Service
from tests.conftest import wait_for

PATIENCE_S = 60
POLL_S = 0.2  #: the test settings' poll interval


@pytest.fixture
def ops(service: Service) -> Operations:
    return Operations(service.wiring)


@pytest.fixture
def worker(service: Service) -> Iterator[Worker]:
    """A real worker running in a thread, polling every 0.2 s."""
    running = service.worker(concurrency=2)
    thread = threading.Thread(target=running.run)
    thread.start()
    yield running
    running.stop(0)
    thread.join(PATIENCE_S)


def status(service: Service, admin: model.User, job_id: int) -> model.Status:
    return service.get_job(admin, job_id).status


def test_an_ordinary_user_may_not_see_workers_or_queues_or_pause(ops: Operations, alice: model.User) -> None:
    for call in (lambda: ops.workers(alice), lambda: ops.queues(alice), lambda: ops.pause(alice, "default")):
        with pytest.raises(errors.NotAllowed):
            call()
    with pytest.raises(errors.NotAllowed):
        ops.queues(None)


def test_a_disabled_admin_may_not_pause(service: Service, ops: Operations, admin: model.User) -> None:
    service.accounts.set_disabled("ada", True)
    disabled = service.accounts.user("ada")
    with pytest.raises(errors.NotAllowed):
        ops.pause(disabled, "default")
    assert not ops.queue(admin, "default").paused


def test_queues_list_every_registered_types_queue(ops: Operations, admin: model.User) -> None:
    names = [q.name for q in ops.queues(admin)]
    assert "default" in names and names == sorted(names)


def test_pausing_an_unknown_queue_is_refused_and_records_nothing(ops: Operations, admin: model.User) -> None:
    with pytest.raises(errors.QueueNotFound):
        ops.pause(admin, "no-such-queue")
    assert "no-such-queue" not in [q.name for q in ops.queues(admin)]


def test_a_pause_names_the_admin_who_paused(ops: Operations, admin: model.User) -> None:
    paused = ops.pause(admin, "default")
    assert paused.paused and paused.paused_by == "ada" and paused.paused_at is not None
    assert not ops.resume(admin, "default").paused


def test_a_paused_queues_jobs_stay_queued_while_a_worker_runs_until_it_is_resumed(
    service: Service, ops: Operations, admin: model.User, worker: Worker
) -> None:
    ops.pause(admin, "default")
    job = service.start_job(None, "noop")
    time.sleep(5 * POLL_S)  # several polls (and the wake-up the enqueue sends) pass without a claim
    assert status(service, admin, job.id) is model.Status.QUEUED
    assert ops.queue(admin, "default").depth == 1
    ops.resume(admin, "default")
    wait_for(lambda: status(service, admin, job.id) is model.Status.COMPLETED, timeout=PATIENCE_S)


def test_a_job_already_running_when_its_queue_is_paused_finishes_normally(
    service: Service, ops: Operations, admin: model.User, worker: Worker
) -> None:
    job = service.start_job(None, "t_wait_cancel", {"timeout": 1.0})
    wait_for(lambda: status(service, admin, job.id) is model.Status.IN_PROGRESS, timeout=PATIENCE_S)
    ops.pause(admin, "default")
    wait_for(lambda: status(service, admin, job.id) is model.Status.COMPLETED, timeout=PATIENCE_S)


def test_the_workers_list_shows_the_running_worker_and_its_job(
    service: Service, ops: Operations, admin: model.User, worker: Worker
) -> None:
    job = service.start_job(None, "t_wait_cancel", {"timeout": PATIENCE_S})
    wait_for(lambda: status(service, admin, job.id) is model.Status.IN_PROGRESS, timeout=PATIENCE_S)
    (listed,) = [w for w in ops.workers(admin) if w.id == worker.id]
    assert (listed.hostname, listed.pid, listed.concurrency) == (worker.hostname, worker.pid, 2)
    assert [(r.job_id, r.type) for r in listed.running] == [(job.id, "t_wait_cancel")]
    service.cancel(admin, job.id)


def test_resuming_wakes_an_idle_worker_without_waiting_for_its_poll(
    service: Service, ops: Operations, admin: model.User
) -> None:
    first = service.start_job(None, "noop")
    idle = service.worker(concurrency=1, poll_seconds=3600)  # after its first turns, only a wake-up moves it
    thread = threading.Thread(target=idle.run)
    thread.start()
    try:
        # Once the first job shows as completed, the worker has looked for more and waits for an hour.
        wait_for(lambda: status(service, admin, first.id) is model.Status.COMPLETED, timeout=PATIENCE_S)
        ops.pause(admin, "default")
        job = service.start_job(None, "noop")  # its wake-up finds the queue paused
        time.sleep(5 * POLL_S)
        assert status(service, admin, job.id) is model.Status.QUEUED
        ops.resume(admin, "default")
        wait_for(lambda: status(service, admin, job.id) is model.Status.COMPLETED, timeout=PATIENCE_S)
    finally:
        idle.stop(0)
        thread.join(PATIENCE_S)
