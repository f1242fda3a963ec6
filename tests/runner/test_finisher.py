"""Recording finished runs: on PostgreSQL a finisher thread writes them beside the loop's claims; either way
every run that ended is recorded before the worker returns, and a refused write stops the worker."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from jobdeck import errors, model
from jobdeck.service import Service
from jobdeck.store import schema
from tests.conftest import wait_for

PATIENCE_S = 60


def statuses(service: Service) -> dict[str, int]:
    j = schema.jobs
    with service.db.read() as conn:
        found = conn.execute(sa.select(j.c.status, sa.func.count()).group_by(j.c.status)).all()
    return {status: count for status, count in found}


def test_a_burst_drain_returns_only_once_every_run_and_its_attempt_is_recorded(
    service: Service, admin: model.User
) -> None:
    ids = [service.start_job(None, "noop").id for _ in range(60)]
    ran = service.worker(concurrency=4).run(burst=True)
    histories = [service.job_detail(admin, job_id).attempts for job_id in ids]
    outcomes = {(len(h), h[-1].outcome, h[-1].ended_at is not None) for h in histories}
    assert (ran, statuses(service), outcomes) == (60, {"completed": 60}, {(1, model.AttemptOutcome.SUCCEEDED, True)})


def test_a_stopped_worker_has_recorded_every_run_that_ended_before_it_returned(service: Service) -> None:
    worker = service.worker(concurrency=4)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        for _ in range(200):
            service.start_job(None, "noop")
        wait_for(lambda: worker.ran > 0, timeout=PATIENCE_S)
    finally:
        worker.stop(PATIENCE_S)  # stops in the middle of the drain: runs are ending as it comes
        thread.join(2 * PATIENCE_S)
    assert not thread.is_alive()
    found = statuses(service)
    assert "in_progress" not in found
    assert found.get("completed") == worker.ran
    assert found.get("completed", 0) + found.get("queued", 0) == 200


def test_a_finish_the_database_refuses_ends_the_workers_run_with_its_error(service: Service) -> None:
    if not service.db.is_postgresql:
        pytest.skip("SQLite cannot add a constraint to an existing table")
    service.start_job(None, "noop")
    with service.db.write() as conn:
        # a real refusal, not a lost connection: no job may become completed (the claim still may run it)
        conn.exec_driver_sql(
            "ALTER TABLE jobs ADD CONSTRAINT test_refuse_completed CHECK (status <> 'completed') NOT VALID"
        )
    try:
        with pytest.raises(errors.DatabaseFailed):
            service.worker(concurrency=2).run(burst=True)
    finally:  # the test database is shared by the tests that follow
        with service.db.write() as conn:
            conn.exec_driver_sql("ALTER TABLE jobs DROP CONSTRAINT test_refuse_completed")
