"""The worker: outcomes of a run, subtasks and files through JobContext, cancellation, leases, shutdown."""

from __future__ import annotations

import pathlib
import threading

import pytest

from jobdeck import model
from jobdeck.service import Service
from tests.conftest import wait_for
from tests.runner import kinds_extra

#: How long a wait for something that takes a moment on an idle machine may last before the test fails.
PATIENCE_S = 60


def running(service: Service, admin: model.User, job_id: int) -> bool:
    """The job's function has begun (its "Started" subtask is done): a claimed job may still wait for a thread."""
    subtasks = service.job_detail(admin, job_id).subtasks
    return (kinds_extra.STARTED, model.SubtaskStatus.COMPLETED) in [(s.name, s.status) for s in subtasks]


def run_all(service: Service) -> None:
    service.worker(concurrency=2).run(burst=True)


def test_a_job_that_returns_is_completed(service: Service, admin: model.User) -> None:
    job = service.start_job(None, "t_echo", {"text": "hi"})
    assert service.worker(concurrency=1).run_once() == 1
    done = service.get_job(admin, job.id)
    assert done.status is model.Status.COMPLETED and done.ended_at is not None and done.failed_at is None


def test_a_job_that_raises_is_failed_with_its_message_and_traceback_in_the_log(
    service: Service, admin: model.User
) -> None:
    job = service.start_job(None, "t_fail_always")
    run_all(service)
    detail = service.job_detail(admin, job.id)
    assert detail.job.status is model.Status.FAILED
    assert detail.job.error == "boom: the input was bad"
    assert [(s.name, s.status) for s in detail.subtasks] == [("Doomed step", model.SubtaskStatus.FAILED)]
    assert any("Traceback" in line.message and "ValueError" in line.message for line in detail.log)


def test_subtasks_progress_and_files_are_recorded(service: Service, admin: model.User) -> None:
    job = service.start_job(None, "t_steps", {"n": 3})
    run_all(service)
    detail = service.job_detail(admin, job.id)
    assert detail.job.status is model.Status.COMPLETED
    assert [(s.seq, s.name, s.status.value) for s in detail.subtasks] == [
        (1, "Step 1", "completed"),
        (2, "Step 2", "completed"),
        (3, "Step 3", "completed"),
    ]
    assert (detail.job.progress_done, detail.job.progress_total) == (3, 3)
    (f,) = detail.files
    assert (f.kind, f.name, f.size) == (model.FileKind.OUTPUT, "result.txt", 11)
    _, content = service.open_file(admin, job.id, f.id)
    assert b"".join(content) == b"hello world"


def test_an_unknown_job_type_fails_the_job_clearly(service: Service, admin: model.User) -> None:
    from jobdeck.store import jobs

    job_id = jobs.submit(service.db, jobs.NewJob(type="no_such_type"))
    run_all(service)
    job = service.get_job(admin, job_id)
    assert job.status is model.Status.FAILED and job.error is not None and "no_such_type" in job.error


def test_burst_mode_drains_the_queue_and_returns(service: Service, admin: model.User) -> None:
    ids = service.enqueue_many(None, "noop", {}, 50)
    assert service.worker(concurrency=4).run(burst=True) == 50
    assert {service.get_job(admin, i).status for i in ids} == {model.Status.COMPLETED}


def test_a_running_job_that_is_cancelled_ends_cancelled(service: Service, admin: model.User) -> None:
    job = service.start_job(None, "t_wait_cancel", {"timeout": 2 * PATIENCE_S})
    worker = service.worker(concurrency=1, heartbeat_seconds=0.1)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        wait_for(lambda: service.get_job(admin, job.id).status is model.Status.IN_PROGRESS, timeout=PATIENCE_S)
        service.cancel(admin, job.id)
        wait_for(lambda: service.get_job(admin, job.id).status is model.Status.CANCELLED, timeout=PATIENCE_S)
    finally:
        worker.stop(0)
        thread.join()


def test_a_job_whose_lease_was_lost_is_not_recorded_by_the_stale_worker(service: Service, admin: model.User) -> None:
    job = service.start_job(None, "t_lose_lease")
    worker = service.worker(concurrency=1)
    worker.run_once()
    assert service.get_job(admin, job.id).status is model.Status.IN_PROGRESS
    assert worker.stale_writes_rejected == 1


def test_a_new_job_wakes_an_idle_worker_without_waiting_for_the_poll(service: Service, admin: model.User) -> None:
    first = service.start_job(None, "noop")
    worker = service.worker(concurrency=1, poll_seconds=3600)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        # The worker records the first job's end and looks for more in one transaction, then waits for an
        # hour: once the first job shows as completed, only a wake-up can get the next one run.
        wait_for(lambda: service.get_job(admin, first.id).status is model.Status.COMPLETED, timeout=PATIENCE_S)
        job = service.start_job(None, "noop")
        wait_for(lambda: service.get_job(admin, job.id).status is model.Status.COMPLETED, timeout=PATIENCE_S)
    finally:
        worker.stop(0)
        thread.join()


def test_stop_lets_running_jobs_finish_within_the_grace_period(
    service: Service, admin: model.User, tmp_path: pathlib.Path
) -> None:
    release = tmp_path / "release"
    job = service.start_job(None, kinds_extra.UNTIL_RELEASED, {"release": str(release)})
    worker = service.worker(concurrency=1)
    thread = threading.Thread(target=worker.run)
    thread.start()
    wait_for(lambda: running(service, admin, job.id), timeout=PATIENCE_S)
    worker.stop(PATIENCE_S)
    release.touch()  # the job ends only now: it was running when the stop came
    thread.join(2 * PATIENCE_S)
    assert not thread.is_alive()
    assert service.get_job(admin, job.id).status is model.Status.COMPLETED


def test_stop_hands_back_jobs_still_running_after_the_grace_period(
    service: Service, admin: model.User, tmp_path: pathlib.Path
) -> None:
    release = tmp_path / "release"
    job = service.start_job(None, kinds_extra.UNTIL_RELEASED, {"release": str(release)})
    worker = service.worker(concurrency=1)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        wait_for(lambda: running(service, admin, job.id), timeout=PATIENCE_S)
        worker.stop(0.1)
        thread.join(PATIENCE_S)
    finally:
        release.touch()  # the abandoned run may end now
    assert not thread.is_alive()
    after = service.get_job(admin, job.id)
    assert after.status is model.Status.QUEUED and worker.released == 1
    assert after.max_attempts - after.attempt == job.max_attempts  # the handed-back run did not count


def test_the_worker_reaps_jobs_of_a_lost_worker(service: Service, admin: model.User) -> None:
    from jobdeck.store import claim

    job = service.start_job(None, "noop")
    with service.db.write() as conn:  # a worker that claims and then vanishes
        claim.claim(service.db, conn, "ghost", 1, lease_seconds=0.1)
    worker = service.worker(concurrency=1, reap_seconds=0.1, heartbeat_seconds=0.05)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        wait_for(lambda: service.get_job(admin, job.id).status is model.Status.FAILED, timeout=PATIENCE_S)
    finally:
        worker.stop(0)
        thread.join()
    assert "ghost" in (service.get_job(admin, job.id).error or "")


@pytest.mark.parametrize("concurrency", [1, 4])
def test_every_job_runs_exactly_once_with_several_threads(service: Service, concurrency: int) -> None:
    import sqlalchemy as sa

    from tests import kinds

    kinds.create_ledger(service.db.engine)
    ids = service.enqueue_many(None, "t_record", {}, 200)
    service.worker(concurrency=concurrency).run(burst=True)
    with service.db.read() as conn:
        counts = dict(
            conn.execute(sa.select(kinds.ledger.c.job_id, sa.func.count()).group_by(kinds.ledger.c.job_id)).all()
        )
    assert counts == dict.fromkeys(ids, 1)


def test_prefetched_jobs_wait_for_a_thread_and_all_complete(service: Service, admin: model.User) -> None:
    ids = service.enqueue_many(None, "sleep", {"seconds": 0.05}, 12)
    worker = service.worker(concurrency=2, prefetch=4)
    assert worker.run(burst=True) == 12
    assert {service.get_job(admin, i).status for i in ids} == {model.Status.COMPLETED}


def test_stop_hands_back_prefetched_jobs_at_once_and_never_starts_them(
    service: Service, admin: model.User, tmp_path: pathlib.Path
) -> None:
    release = tmp_path / "release"
    first = service.start_job(None, kinds_extra.UNTIL_RELEASED, {"release": str(release)})
    waiting = service.start_job(None, kinds_extra.UNTIL_RELEASED, {"release": str(release)})
    worker = service.worker(concurrency=1, prefetch=1)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        wait_for(lambda: running(service, admin, first.id), timeout=PATIENCE_S)
        wait_for(lambda: service.get_job(admin, waiting.id).status is model.Status.IN_PROGRESS, timeout=PATIENCE_S)
        worker.stop(2 * PATIENCE_S)
        # At once: while the first job still runs (it cannot end before the release below).
        wait_for(lambda: service.get_job(admin, waiting.id).status is model.Status.QUEUED, timeout=PATIENCE_S)
        assert service.get_job(admin, first.id).status is model.Status.IN_PROGRESS
    finally:
        release.touch()
    thread.join(PATIENCE_S)
    assert service.get_job(admin, first.id).status is model.Status.COMPLETED
    after = service.get_job(admin, waiting.id)
    assert after.status is model.Status.QUEUED and after.max_attempts - after.attempt == waiting.max_attempts
