"""The job actions API: starting jobs, the job types on offer, cancelling and retrying, and bad ids."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.service import Service
from tests.test_service_retry import stop_its_worker_every_time

MakeJob = Callable[..., model.Job]


def test_starting_a_job_answers_202_with_its_location(client: TestClient, alice_h: dict[str, str]) -> None:
    response = client.post("/api/v1/jobs", json={"type": "sleep", "params": {"seconds": 0}}, headers=alice_h)
    assert response.status_code == 202
    body = response.json()
    assert response.headers["location"] == f"/api/v1/jobs/{body['id']}"
    assert body["status"] == "queued"
    assert body["run_by"] == "alice"
    assert body["description"] == "Sleeps for 0 seconds"


@pytest.mark.parametrize(
    "payload, status",
    [
        ({"type": "no_such_type"}, 404),
        ({"type": "sleep", "params": {"seconds": -1}}, 422),
        ({"type": "sleep", "params": {"unknown": 1}}, 422),
        ({"type": "noop", "params": {"text": "nul\x00"}}, 422),
        ({"params": {}}, 422),
        ({"type": "noop", "extra": 1}, 422),
    ],
)
def test_starting_a_bad_job_is_refused(
    client: TestClient, alice_h: dict[str, str], payload: dict[str, object], status: int
) -> None:
    response = client.post("/api/v1/jobs", json=payload, headers=alice_h)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_job_types_lists_what_the_caller_may_start(
    client: TestClient, alice_h: dict[str, str], admin_h: dict[str, str]
) -> None:
    mine = {t["name"]: t for t in client.get("/api/v1/job-types", headers=alice_h).json()}
    assert {"noop", "sleep", "fail"} <= set(mine)
    assert mine["sleep"]["title"] == "Sleep"
    assert mine["sleep"]["tab"] == "general"
    assert set(mine["sleep"]["params_schema"]["properties"]) == {"seconds", "steps"}
    admins = {t["name"] for t in client.get("/api/v1/job-types", headers=admin_h).json()}
    assert set(mine) <= admins


def test_cancelling_a_queued_job_and_then_again(
    client: TestClient, alice_h: dict[str, str], alice: model.User, make_job: MakeJob, run_jobs: Callable[[], None]
) -> None:
    job = make_job(alice, "t_echo")
    first = client.post(f"/api/v1/jobs/{job.id}/cancel", headers=alice_h)
    assert first.status_code == 200
    assert first.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/jobs/{job.id}/cancel", headers=alice_h)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


def test_retrying_a_failed_job_starts_a_new_one(
    client: TestClient, alice_h: dict[str, str], alice: model.User, make_job: MakeJob, run_jobs: Callable[[], None]
) -> None:
    job = make_job(alice, "t_fail_always")
    run_jobs()
    response = client.post(f"/api/v1/jobs/{job.id}/retry", headers=alice_h)
    assert response.status_code == 202
    new = response.json()
    assert new["id"] != job.id
    assert new["type"] == "t_fail_always"
    assert new["status"] == "queued"
    assert response.headers["location"] == f"/api/v1/jobs/{new['id']}"
    assert client.get(f"/api/v1/jobs/{job.id}", headers=alice_h).json()["status"] == "failed"


def test_retrying_a_completed_job_is_409(
    client: TestClient, alice_h: dict[str, str], alice: model.User, make_job: MakeJob, run_jobs: Callable[[], None]
) -> None:
    job = make_job(alice, "t_echo")
    run_jobs()
    assert client.post(f"/api/v1/jobs/{job.id}/retry", headers=alice_h).status_code == 409


@pytest.mark.parametrize("action", ["cancel", "retry"])
def test_acting_on_another_users_job_is_404(
    client: TestClient, bob_h: dict[str, str], alice: model.User, make_job: MakeJob, action: str
) -> None:
    job = make_job(alice, "t_echo")
    assert client.post(f"/api/v1/jobs/{job.id}/{action}", headers=bob_h).status_code == 404


@pytest.mark.parametrize("job_id", ["0", "-1", "abc", str(2**63)])
def test_an_impossible_job_id_is_422(client: TestClient, alice_h: dict[str, str], job_id: str) -> None:
    assert client.get(f"/api/v1/jobs/{job_id}", headers=alice_h).status_code == 422


def test_an_ordinary_users_retry_of_a_poison_job_is_409_with_the_reason(
    client: TestClient,
    service: Service,
    alice_h: dict[str, str],
    admin_h: dict[str, str],
    alice: model.User,
    make_job: MakeJob,
) -> None:
    job = make_job(alice, "t_crash")  # two attempts, each lost with its worker: failed by the reaper
    stop_its_worker_every_time(service, job)
    refused = client.post(f"/api/v1/jobs/{job.id}/retry", headers=alice_h)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == (
        f"Job {job.id} cannot be retried: The worker running this job stopped 2 times "
        "(last: host-a, pid 4243, no heartbeat within its lease). Only an administrator may retry it."
    )
    assert client.post(f"/api/v1/jobs/{job.id}/retry", headers=admin_h).status_code == 202
