"""`async def` job functions: they run on an event loop of their own in the worker thread, use the (sync)
context, fail with their message, and stop when cancelled or past their time limit."""

from __future__ import annotations

import asyncio
import threading

import pydantic

from jobdeck import model
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import job_type
from jobdeck.service import Service
from tests.conftest import wait_for

#: How long a wait for something that takes a moment on an idle machine may last before the test fails.
PATIENCE_S = 60
STARTED = "Started"


class Greeting(pydantic.BaseModel):
    name: str


@job_type("t_async_steps", title="Async steps", audience="everyone")
async def async_steps(ctx: JobContext) -> None:
    for step in range(3):
        await asyncio.sleep(0.01)
        ctx.progress(step + 1, 3)  # a short sync write: it blocks this job's loop only briefly
    await asyncio.to_thread(ctx.log, "three steps done")


@job_type("t_async_fail", title="Async fail", audience="everyone")
async def async_fail(ctx: JobContext) -> None:
    await asyncio.sleep(0)
    raise ValueError("the remote service said no")


@job_type("t_async_wait", title="Async wait", audience="everyone")
async def async_wait(ctx: JobContext) -> None:
    """Awaits without ever looking at cancellation: the worker must stop it."""
    with ctx.subtask(STARTED):
        pass
    await asyncio.sleep(10 * PATIENCE_S)


@job_type("t_async_checks", title="Async checks", audience="everyone")
async def async_checks(ctx: JobContext) -> None:
    """Checks the context between steps, as a thread job does."""
    with ctx.subtask(STARTED):
        pass
    while True:
        ctx.raise_if_cancelled()
        await asyncio.sleep(0.01)


@job_type("t_async_limited", title="Async limited", audience="everyone", timeout=0.5)
async def async_limited(ctx: JobContext) -> None:
    await asyncio.sleep(10 * PATIENCE_S)


@job_type("t_async_greet", title="Async greet", audience="everyone")
async def async_greet(ctx: JobContext, params: Greeting) -> None:
    await asyncio.sleep(0)
    ctx.describe(f"Greeted {params.name}")


def started(service: Service, admin: model.User, job_id: int) -> bool:
    subtasks = service.job_detail(admin, job_id).subtasks
    return (STARTED, model.SubtaskStatus.COMPLETED) in [(s.name, s.status) for s in subtasks]


def cancel_while_running(service: Service, admin: model.User, type_name: str) -> model.Job:
    job = service.start_job(None, type_name)
    worker = service.worker(concurrency=1, heartbeat_seconds=0.1)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        wait_for(lambda: started(service, admin, job.id), timeout=PATIENCE_S)
        service.cancel(admin, job.id)
        wait_for(lambda: service.get_job(admin, job.id).status.is_terminal, timeout=PATIENCE_S)
    finally:
        worker.stop(0)
        thread.join()
    return service.get_job(admin, job.id)


def test_an_async_job_completes_and_its_context_writes_are_recorded(service: Service, admin: model.User) -> None:
    job = service.start_job(None, "t_async_steps")
    service.worker(concurrency=2).run(burst=True)
    detail = service.job_detail(admin, job.id)
    assert detail.job.status is model.Status.COMPLETED
    assert (detail.job.progress_done, detail.job.progress_total) == (3, 3)
    assert [line.message for line in detail.log] == ["three steps done"]


def test_a_failing_async_job_fails_with_its_message(service: Service, admin: model.User) -> None:
    job = service.start_job(None, "t_async_fail")
    service.worker(concurrency=1).run(burst=True)
    failed = service.get_job(admin, job.id)
    assert (failed.status, failed.error) == (model.Status.FAILED, "the remote service said no")


def test_an_async_job_that_only_awaits_is_stopped_when_cancelled(service: Service, admin: model.User) -> None:
    assert cancel_while_running(service, admin, "t_async_wait").status is model.Status.CANCELLED


def test_an_async_job_that_checks_the_context_ends_cancelled(service: Service, admin: model.User) -> None:
    assert cancel_while_running(service, admin, "t_async_checks").status is model.Status.CANCELLED


def test_an_async_job_past_its_time_limit_is_stopped_and_failed(service: Service, admin: model.User) -> None:
    job = service.start_job(None, "t_async_limited")
    service.worker(concurrency=1).run(burst=True)
    failed = service.get_job(admin, job.id)
    assert (failed.status, failed.error) == (model.Status.FAILED, "Stopped after 0.5 s (the limit for this job type)")


def test_an_async_job_can_take_its_params_as_the_model(service: Service, admin: model.User) -> None:
    job = service.start_job(None, "t_async_greet", {"name": "Ada"})
    service.worker(concurrency=1).run(burst=True)
    done = service.get_job(admin, job.id)
    assert (done.status, done.description) == (model.Status.COMPLETED, "Greeted Ada")


def test_several_async_jobs_run_side_by_side_on_their_own_loops(service: Service, admin: model.User) -> None:
    ids = [service.start_job(None, "t_async_steps").id for _ in range(6)]
    service.worker(concurrency=3).run(burst=True)
    assert {service.get_job(admin, i).status for i in ids} == {model.Status.COMPLETED}
