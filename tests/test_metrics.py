"""/metrics content: the ledger at scrape time and what workers measured."""

from __future__ import annotations

import prometheus_client
import pytest

from jobdeck import metrics
from jobdeck.service import Service


def scrape() -> str:
    metrics.COLLECTOR._cached = (0.0, [])  # read the ledger now, not the cached figures
    return prometheus_client.generate_latest().decode()


def sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}}" if labels else f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{labels} not in metrics")


def test_metrics_count_jobs_by_status_and_type_and_the_queue(service: Service) -> None:
    service.enqueue_many(None, "noop", {}, 3)
    service.start_job(None, "fail")
    text = scrape()
    assert sample(text, "jobdeck_jobs", status="queued", type="noop") == 3
    assert sample(text, "jobdeck_queue_depth", queue="default") == 4
    assert sample(text, "jobdeck_oldest_queued_age_seconds", queue="default") >= 0


def test_metrics_record_run_durations_and_outcomes(service: Service) -> None:
    before = prometheus_client.REGISTRY.get_sample_value(
        "jobdeck_job_duration_seconds_count", {"type": "fail", "outcome": "failed"}
    )
    service.start_job(None, "fail")
    service.worker(concurrency=1).run(burst=True)
    after = prometheus_client.REGISTRY.get_sample_value(
        "jobdeck_job_duration_seconds_count", {"type": "fail", "outcome": "failed"}
    )
    assert (after or 0) - (before or 0) == 1
    assert sample(scrape(), "jobdeck_jobs", status="failed", type="fail") == 1


def test_metrics_show_live_workers_while_one_runs(service: Service) -> None:
    import threading

    from tests.conftest import wait_for

    worker = service.worker(concurrency=1)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        wait_for(lambda: sample(scrape(), "jobdeck_workers_live") == 1)
    finally:
        worker.stop(0)
        thread.join()


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    metrics.COLLECTOR._cached = (0.0, [])
