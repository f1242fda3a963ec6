"""Isolated job types: the child's messages reach the job, and every way a child can end is one job's
clear failure while the worker carries on."""

from __future__ import annotations

import threading

import psutil
import pytest

from jobdeck import model
from jobdeck.service import Service
from tests.conftest import wait_for
from tests.runner import kinds_isolated  # noqa: F401 - registers the isolated test type

Status = model.Status
TYPE = "t_isolated"


def run(service: Service, user: model.User, do: str) -> model.Job:
    job = service.start_job(user, TYPE, {"do": do})
    service.worker(concurrency=1).run(burst=True)
    return service.get_job(user, job.id)


def test_the_childs_messages_reach_the_job_in_order(service: Service, alice: model.User) -> None:
    job = run(service, alice, "count")
    assert job.status is Status.COMPLETED, job.error
    assert job.description == "('n', 0) ('n', 1) ('n', 2)"


@pytest.mark.slow
def test_a_child_over_its_memory_cap_fails_the_job_with_the_cap_named(service: Service, alice: model.User) -> None:
    job = run(service, alice, "hog")
    assert job.status is Status.FAILED
    assert job.error == "Doing the test work needed more than 256 MB; give it less."


@pytest.mark.slow
def test_a_child_over_its_cpu_time_cap_fails_the_job_with_the_cap_named(service: Service, alice: model.User) -> None:
    job = run(service, alice, "spin")
    assert job.status is Status.FAILED
    assert job.error == "Doing the test work took more than 2 s of CPU time; give it less."


def test_a_killed_child_fails_the_job_naming_the_signal(service: Service, alice: model.User) -> None:
    job = run(service, alice, "kill")
    assert job.status is Status.FAILED
    assert job.error is not None and job.error.startswith("The process doing the test work stopped (signal 9)")


def test_a_jobdeck_error_in_the_child_is_the_jobs_error(service: Service, alice: model.User) -> None:
    job = run(service, alice, "refuse")
    assert (job.status, job.error) == (Status.FAILED, "the child refuses")


def test_a_child_cannot_send_an_object_of_any_class(service: Service, alice: model.User) -> None:
    job = run(service, alice, "object")
    assert job.status is Status.FAILED
    assert job.error == "a child process sent an object of class datetime.datetime; refused"


def test_the_worker_runs_the_next_job_after_a_child_died(service: Service, alice: model.User) -> None:
    dead = service.start_job(alice, TYPE, {"do": "kill"})
    fine = service.start_job(alice, TYPE, {"do": "count"})
    service.worker(concurrency=1).run(burst=True)
    assert service.get_job(alice, dead.id).status is Status.FAILED
    assert service.get_job(alice, fine.id).status is Status.COMPLETED


def children() -> list[psutil.Process]:
    found = []
    for process in psutil.Process().children():
        try:
            if "jobdeck.runner.child" in " ".join(process.cmdline()):
                found.append(process)
        except psutil.Error:  # gone, or a zombie of some other test's process
            continue
    return found


@pytest.mark.slow
def test_cancelling_the_job_kills_its_child(service: Service, alice: model.User) -> None:
    job = service.start_job(alice, TYPE, {"do": "sleep"})
    worker = service.worker(concurrency=1, heartbeat_seconds=0.1)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: bool(children()), timeout=60)
        [child] = children()
        service.cancel(alice, job.id)
        wait_for(lambda: service.get_job(alice, job.id).status.is_terminal, timeout=60)
    finally:
        worker.stop()
        thread.join(30)
    assert service.get_job(alice, job.id).status is Status.CANCELLED
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
