"""`jobdeck worker` in burst mode (the long-running and signal cases are in tests/runner/test_processes.py)."""

from __future__ import annotations

from jobdeck.service import Service
from jobdeck.store import jobs as job_rows
from tests.cli.conftest import Run


def test_worker_burst_runs_every_queued_job_then_exits_zero(run: Run, service: Service) -> None:
    service.enqueue_many(None, "noop", {}, 20)
    service.start_job(None, "fail")
    result = run("worker", "--burst", "--concurrency", "3")
    assert result.exit_code == 0
    by_status = service.stats().by_status
    assert (by_status["completed"], by_status["failed"], by_status["queued"], by_status["in_progress"]) == (20, 1, 0, 0)


def test_worker_burst_on_an_empty_queue_exits_at_once(run: Run, service: Service) -> None:
    assert run("worker", "--burst").exit_code == 0
    assert service.stats().live_workers == 0  # it deregistered on the way out


def test_worker_takes_jobs_only_from_the_queues_it_is_given(run: Run, service: Service) -> None:
    job_rows.submit_many(service.db, [job_rows.NewJob(type="noop", queue="reports"), job_rows.NewJob(type="noop")])
    assert run("worker", "--burst", "--queue", "reports").exit_code == 0
    assert service.stats().by_status == {"queued": 1, "in_progress": 0, "completed": 1, "failed": 0, "cancelled": 0}
    assert run("worker", "--burst", "--queue", "reports", "--queue", "default").exit_code == 0
    assert service.stats().by_status["completed"] == 2


def test_worker_refuses_a_concurrency_below_one(run: Run) -> None:
    result = run("worker", "--concurrency", "0")
    assert result.exit_code == 2
