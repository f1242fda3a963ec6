"""/metrics content: the ledger at scrape time and what workers measured."""

from __future__ import annotations

import prometheus_client
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from jobdeck import metrics, model
from jobdeck.service import Service
from jobdeck.settings import Settings
from jobdeck.store import queues, workers
from jobdeck.store.database import Database
from jobdeck.web.app import create_app
from jobdeck.wiring import Wiring


def scrape() -> str:
    metrics.COLLECTOR._cached = (0.0, [])  # read the ledger now, not the cached figures
    return prometheus_client.generate_latest().decode()


def sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}}" if labels else f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{labels} not in metrics")


def scrape_http(service: Service) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """GET /metrics, read with prometheus_client's own parser: {(sample name, labels): value}."""
    metrics.COLLECTOR._cached = (0.0, [])
    response = TestClient(create_app(service)).get("/metrics")
    assert response.status_code == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def labelled(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str) -> dict[str, float]:
    """The samples of one name keyed by their only label's value ("" when unlabelled)."""
    return {
        next(iter(dict(labels).values()), ""): value
        for (sample_name, labels), value in found.items()
        if sample_name == name
    }


def test_an_empty_ledger_has_a_zero_for_every_status_of_every_registered_job_type(service: Service) -> None:
    found = scrape_http(service)
    types = [t.name for t in service.registry.all()]
    assert types
    for name in types:
        for status in model.Status:
            key = ("jobdeck_jobs", frozenset({("status", status.value), ("type", name)}))
            assert found.get(key) == 0, key


def test_every_queue_of_a_registered_type_has_a_zero_depth_and_age_when_nothing_waits(service: Service) -> None:
    found = scrape_http(service)
    queues = {t.queue for t in service.registry.all()}
    assert labelled(found, "jobdeck_queue_depth") == dict.fromkeys(queues, 0)
    assert labelled(found, "jobdeck_oldest_queued_age_seconds") == dict.fromkeys(queues, 0)


def test_run_and_reap_counters_have_a_sample_for_every_registered_type_before_any_event(service: Service) -> None:
    found = scrape_http(service)
    for job_type in service.registry.all():
        for outcome in ("completed", "failed", "cancelled", "lost"):
            labels = frozenset({("type", job_type.name), ("outcome", outcome)})
            assert ("jobdeck_job_duration_seconds_count", labels) in found, (job_type.name, outcome)
    assert set(labelled(found, "jobdeck_jobs_reaped_total")) == {"requeued", "failed"}
    assert ("jobdeck_stale_writes_rejected_total", frozenset()) in found
    assert found[("jobdeck_workers_live", frozenset())] == 0


def _three_workers(db: Database) -> None:
    with db.write() as conn:
        workers.register(conn, "alpha:11:0a0a0a0a", "alpha", 11, 1)
        workers.register(conn, "alpha:12:0b0b0b0b", "alpha", 12, 1)
        workers.register(conn, "beta:21:0c0c0c0c", "beta", 21, 1)


def test_workers_are_labelled_by_id_by_default(service: Service) -> None:
    _three_workers(service.db)
    ages = labelled(scrape_http(service), "jobdeck_worker_heartbeat_age_seconds")
    assert set(ages) == {"alpha:11:0a0a0a0a", "alpha:12:0b0b0b0b", "beta:21:0c0c0c0c"}


@pytest.mark.parametrize(("setting", "labels"), [("host", {"alpha", "beta"}), ("none", {""})])
def test_the_worker_label_setting_groups_heartbeats_by_host_or_not_at_all(
    test_settings: Settings, db: Database, setting: str, labels: set[str]
) -> None:
    service = Service(Wiring(test_settings.model_copy(update={"metrics_worker_label": setting}), db=db))
    _three_workers(db)
    ages = labelled(scrape_http(service), "jobdeck_worker_heartbeat_age_seconds")
    assert set(ages) == labels
    assert all(age >= 0 for age in ages.values())
    assert scrape_http(service)[("jobdeck_workers_live", frozenset())] == 3


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


def test_queue_paused_is_zero_for_every_known_queue_and_one_for_a_paused_one(service: Service) -> None:
    with service.db.write() as conn:
        queues.set_paused(conn, "mail", True, None)
    paused = labelled(scrape_http(service), "jobdeck_queue_paused")
    assert paused["mail"] == 1
    assert {t.queue for t in service.registry.all()} <= set(paused)
    assert {paused[t.queue] for t in service.registry.all()} == {0}
