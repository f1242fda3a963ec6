"""Recording finished runs: on PostgreSQL a finisher thread writes them beside the loop's claims; either way
every run that ended is recorded before the worker returns, and a refused write stops the worker."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from jobdeck import errors
from jobdeck.service import Service
from jobdeck.store import schema
from tests.conftest import wait_for

PATIENCE_S = 60


def statuses(service: Service) -> dict[str, int]:
    j = schema.jobs
    with service.db.read() as conn:
        found = conn.execute(sa.select(j.c.status, sa.func.count()).group_by(j.c.status)).all()
    return {status: count for status, count in found}


def test_a_burst_drain_returns_only_once_every_run_and_its_attempt_is_recorded(service: Service) -> None:
    for _ in range(60):
        service.start_job(None, "noop")
    ran = service.worker(concurrency=4).run(burst=True)
    with service.db.read() as conn:
        attempts = conn.execute(sa.select(sa.func.count()).select_from(schema.job_attempts)).scalar_one()
    assert (ran, statuses(service), attempts) == (60, {"completed": 60}, 60)


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
        pytest.skip("SQLite reports a missing table as an OperationalError, which the loop retries as an outage")
    service.start_job(None, "noop")
    with service.db.write() as conn:
        # a real refusal, not a lost connection: the attempts table is not there to write to
        conn.exec_driver_sql("ALTER TABLE job_attempts RENAME TO job_attempts_away")
    try:
        with pytest.raises(errors.DatabaseFailed):
            service.worker(concurrency=2).run(burst=True)
    finally:  # the test database is shared by the tests that follow
        with service.db.write() as conn:
            conn.exec_driver_sql("ALTER TABLE job_attempts_away RENAME TO job_attempts")
