"""The jobs API: JobSummary and detail fields, the seed's rules, visibility, filters, sorting, pages, actions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.query import JobQuery
from jobdeck.service import Service
from tests.conftest import wait_for

SUMMARY_FIELDS = set(
    [
        "id",
        "type",
        "tab",
        "description",
        "status",
        "created_at",
        "started_at",
        "ended_at",
        "failed_at",
        "run_by",
        "progress",
        "not_before",
        "attempt",
        "max_attempts",
        "waiting",
    ]
)
DETAIL_FIELDS = SUMMARY_FIELDS | {
    "run_at",
    "error",
    "files",
    "subtasks",
    "mapping",
    "title",
    "log",
    "events",
    "attempts",
}
MakeJob = Callable[..., model.Job]


@pytest.fixture
def running_worker(service: Service) -> Iterator[None]:
    worker = service.worker(concurrency=2)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    yield
    worker.stop(0)
    thread.join(10)


def items(client: TestClient, headers: dict[str, str], **params: object) -> list[dict[str, object]]:
    response = client.get("/api/v1/jobs", params=params, headers=headers)
    assert response.status_code == 200, response.text
    result: list[dict[str, object]] = response.json()["items"]
    return result


# -- fields and the seed's rules ---------------------------------------------------------------------
def test_a_job_summary_has_exactly_the_contract_fields(
    client: TestClient, alice_h: dict[str, str], alice: model.User, make_job: MakeJob
) -> None:
    job = make_job(alice, "t_steps")
    [row] = items(client, alice_h)
    assert set(row) == SUMMARY_FIELDS
    assert row["id"] == job.id
    assert row["type"] == "t_steps"
    assert row["tab"] == "general"
    assert row["status"] == "queued"
    assert row["run_by"] == "alice"
    assert row["progress"] == {"done": 0, "total": None}
    assert str(row["created_at"]).endswith("Z")
    assert row["started_at"] is row["ended_at"] is row["failed_at"] is None


def test_a_completed_job_has_start_and_end_and_no_failed_time(
    client: TestClient, alice_h: dict[str, str], alice: model.User, make_job: MakeJob, run_jobs: Callable[[], None]
) -> None:
    job = make_job(alice, "t_steps", {"n": 2})
    run_jobs()
    body = client.get(f"/api/v1/jobs/{job.id}", headers=alice_h).json()
    assert body["status"] == "completed"
    assert body["started_at"] <= body["ended_at"]
    assert body["failed_at"] is None
    assert body["error"] is None
    assert body["progress"] == {"done": 2, "total": 2}


def test_a_failed_job_has_its_failed_time_and_error(
    client: TestClient, alice_h: dict[str, str], alice: model.User, make_job: MakeJob, run_jobs: Callable[[], None]
) -> None:
    job = make_job(alice, "t_fail_always")
    run_jobs()
    body = client.get(f"/api/v1/jobs/{job.id}", headers=alice_h).json()
    assert body["status"] == "failed"
    assert body["failed_at"] is not None
    assert body["error"] == "boom: the input was bad"
    [subtask] = body["subtasks"]
    assert subtask["status"] == "failed"
    assert subtask["message"] == "boom: the input was bad"


def test_a_running_job_has_no_end_and_no_failed_time(
    client: TestClient,
    alice_h: dict[str, str],
    alice: model.User,
    make_job: MakeJob,
    service: Service,
    running_worker: None,
) -> None:
    job = make_job(alice, "t_wait_cancel", {"timeout": 20})
    wait_for(lambda: service.get_job(alice, job.id).status is model.Status.IN_PROGRESS)
    body = client.get(f"/api/v1/jobs/{job.id}", headers=alice_h).json()
    assert body["status"] == "in_progress"
    assert body["started_at"] is not None
    assert body["ended_at"] is None
    assert body["failed_at"] is None
    cancelled = client.post(f"/api/v1/jobs/{job.id}/cancel", headers=alice_h)
    assert cancelled.status_code == 200
    wait_for(lambda: service.get_job(alice, job.id).status is model.Status.CANCELLED)
    after = client.get(f"/api/v1/jobs/{job.id}", headers=alice_h).json()
    assert after["status"] == "cancelled"
    assert after["ended_at"] is not None
    assert after["failed_at"] is None


def test_run_by_is_the_user_who_started_it_and_null_for_the_system(
    client: TestClient, admin_h: dict[str, str], alice: model.User, make_job: MakeJob
) -> None:
    by_alice = make_job(alice, "t_echo")
    by_system = make_job(None, "t_echo")
    runs = {row["id"]: row["run_by"] for row in items(client, admin_h)}
    assert runs == {by_alice.id: "alice", by_system.id: None}


def test_the_detail_has_files_subtasks_log_title_and_run_at(
    client: TestClient, alice_h: dict[str, str], alice: model.User, make_job: MakeJob, run_jobs: Callable[[], None]
) -> None:
    job = make_job(alice, "t_steps", {"n": 3})
    run_jobs()
    body = client.get(f"/api/v1/jobs/{job.id}", headers=alice_h).json()
    assert set(body) == DETAIL_FIELDS
    assert body["title"] == "Steps"
    assert body["run_at"] == "/settings/maintenance"
    assert [s["name"] for s in body["subtasks"]] == ["Step 1", "Step 2", "Step 3"]
    assert set(body["subtasks"][0]) == {"id", "name", "status", "started_at", "ended_at", "message", "attempt"}
    [f] = body["files"]
    assert f == {
        "id": f["id"],
        "kind": "output",
        "name": "result.txt",
        "size": 11,
        "content_type": "text/plain",
        "download_url": f"/api/v1/jobs/{job.id}/files/{f['id']}",
    }


def test_the_detail_log_holds_what_the_job_said(
    client: TestClient, alice_h: dict[str, str], alice: model.User, make_job: MakeJob, run_jobs: Callable[[], None]
) -> None:
    job = make_job(alice, "t_echo", {"text": "hello <b>log</b>"})
    run_jobs()
    [line] = client.get(f"/api/v1/jobs/{job.id}", headers=alice_h).json()["log"]
    assert line["message"] == "hello <b>log</b>"
    assert line["level"] == "info"


# -- visibility ------------------------------------------------------------------------------------
def test_a_user_lists_only_their_own_jobs_and_an_admin_everyones(
    client: TestClient,
    alice_h: dict[str, str],
    bob_h: dict[str, str],
    admin_h: dict[str, str],
    alice: model.User,
    bob: model.User,
    make_job: MakeJob,
) -> None:
    a, b = make_job(alice, "t_echo"), make_job(bob, "t_echo")
    assert [r["id"] for r in items(client, alice_h)] == [a.id]
    assert [r["id"] for r in items(client, bob_h)] == [b.id]
    assert [r["id"] for r in items(client, admin_h)] == [b.id, a.id]


@pytest.mark.parametrize("path", ["", "/files/1"])
def test_another_users_job_is_404_like_a_missing_one(
    client: TestClient,
    bob_h: dict[str, str],
    alice: model.User,
    make_job: MakeJob,
    run_jobs: Callable[[], None],
    path: str,
) -> None:
    job = make_job(alice, "t_steps")
    run_jobs()
    theirs = client.get(f"/api/v1/jobs/{job.id}{path}", headers=bob_h)
    missing = client.get(f"/api/v1/jobs/{job.id + 1000}{path}", headers=bob_h)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() | {"detail": theirs.json()["detail"]}


def test_a_user_filtering_by_another_run_by_sees_nothing(
    client: TestClient, alice_h: dict[str, str], alice: model.User, bob: model.User, make_job: MakeJob
) -> None:
    make_job(bob, "t_echo")
    assert items(client, alice_h, run_by="bob") == []


# -- filters, sorting, pages ------------------------------------------------------------------------
def test_filters_by_tab_status_type_run_by_and_search(
    client: TestClient,
    admin_h: dict[str, str],
    alice: model.User,
    bob: model.User,
    make_job: MakeJob,
    run_jobs: Callable[[], None],
) -> None:
    done = make_job(alice, "t_echo", {"text": "alpha"})
    failed = make_job(bob, "t_fail_always")
    run_jobs()
    queued = make_job(bob, "t_echo", {"text": "beta"})

    def ids(**params: object) -> list[object]:
        return [r["id"] for r in items(client, admin_h, **params)]

    assert ids(tab="general") == [queued.id, failed.id, done.id]
    assert ids(tab="imports") == []
    assert ids(status="failed") == [failed.id]
    assert ids(status=["queued", "completed"]) == [queued.id, done.id]
    assert ids(type="t_fail_always") == [failed.id]
    assert ids(run_by="alice") == [done.id]
    assert ids(q="alpha") == [done.id]
    assert ids(q=str(failed.id)) == [failed.id]
    assert ids(**{"from": "2000-01-01", "to": "2999-12-31"}) == [queued.id, failed.id, done.id]
    assert ids(to="2000-01-01") == []


@pytest.mark.parametrize(
    "sort", ["id", "type", "description", "status", "created_at", "started_at", "ended_at", "failed_at", "run_by"]
)
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_every_column_sorts_and_pages_without_repeats(
    client: TestClient,
    admin_h: dict[str, str],
    alice: model.User,
    bob: model.User,
    make_job: MakeJob,
    sort: str,
    order: str,
    backend: str,
) -> None:
    if backend == "postgresql" and (sort, order) not in {("id", "desc"), ("run_by", "asc"), ("ended_at", "desc")}:
        pytest.skip("the full sort matrix runs on SQLite; PostgreSQL samples it")
    made = {make_job(alice if i % 2 else bob, "t_echo", {"text": f"job {i % 3}"}).id for i in range(7)}
    seen: list[object] = []
    cursor = None
    while True:
        params: dict[str, object] = {"sort": sort, "order": order, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/jobs", params=params, headers=admin_h).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == len(made)
    assert set(seen) == made


@pytest.mark.parametrize(
    "params, field",
    [
        ({"sort": "password_hash"}, "sort"),
        ({"sort": "id; DROP TABLE jobs"}, "sort"),
        ({"order": "sideways"}, "order"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "done"}, "status"),
        ({"tab": "other"}, "tab"),
        ({"from": "yesterday"}, "from"),
        ({"q": "nul\x00byte"}, "q"),
        ({"cursor": "not a cursor!"}, "cursor"),
    ],
)
def test_a_bad_query_parameter_is_422_naming_it(
    client: TestClient, alice_h: dict[str, str], params: dict[str, object], field: str
) -> None:
    response = client.get("/api/v1/jobs", params=params, headers=alice_h)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422
    assert field in body["detail"]


def test_a_cursor_from_another_listing_is_422(
    client: TestClient, alice_h: dict[str, str], alice: model.User, make_job: MakeJob
) -> None:
    for _ in range(3):
        make_job(alice, "t_echo")
    cursor = client.get("/api/v1/jobs", params={"limit": 1}, headers=alice_h).json()["next_cursor"]
    response = client.get("/api/v1/jobs", params={"limit": 1, "sort": "type", "cursor": cursor}, headers=alice_h)
    assert response.status_code == 422
    assert "cursor" in response.json()["detail"]


@pytest.mark.parametrize(
    "payload",
    ["' OR 1=1 --", '" OR ""="', "1; DROP TABLE jobs", "%", "_", "\\", "') UNION SELECT password_hash FROM users --"],
)
@pytest.mark.parametrize("param", ["q", "type", "run_by"])
def test_injection_payloads_in_filters_find_nothing_and_break_nothing(
    client: TestClient, admin_h: dict[str, str], alice: model.User, make_job: MakeJob, param: str, payload: str
) -> None:
    make_job(alice, "t_echo", {"text": "plain"})
    response = client.get("/api/v1/jobs", params={param: payload}, headers=admin_h)
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert len(items(client, admin_h)) == 1


def test_a_failures_traceback_is_in_the_log_for_admins_only(
    client: TestClient,
    alice_h: dict[str, str],
    admin_h: dict[str, str],
    alice: model.User,
    make_job: MakeJob,
    run_jobs: Callable[[], None],
) -> None:
    job = make_job(alice, "t_fail_always")
    run_jobs()
    mine = client.get(f"/api/v1/jobs/{job.id}", headers=alice_h).json()
    assert mine["error"] == "boom: the input was bad"
    assert not any("Traceback" in line["message"] for line in mine["log"])
    admins = client.get(f"/api/v1/jobs/{job.id}", headers=admin_h).json()
    assert any(line["message"].startswith("Traceback (most recent call last)") for line in admins["log"])


def test_params_over_the_configured_size_are_422(client: TestClient, alice_h: dict[str, str]) -> None:
    """A type without a params model takes any object; JOBDECK_MAX_PARAMS_BYTES (64 KiB) bounds it."""
    big = {"blob": "x" * (64 * 1024)}
    response = client.post("/api/v1/jobs", json={"type": "t_echo", "params": big}, headers=alice_h)
    assert response.status_code == 422
    assert "JOBDECK_MAX_PARAMS_BYTES" in response.json()["detail"]
    fits = client.post("/api/v1/jobs", json={"type": "t_echo", "params": {"blob": "x" * 1000}}, headers=alice_h)
    assert fits.status_code == 202


def test_listed_jobs_do_not_carry_their_params(service: Service, alice: model.User, make_job: MakeJob) -> None:
    job = make_job(alice, "t_echo", {"blob": "x" * 1000})
    listed = service.list_jobs(alice, JobQuery()).items
    assert [j.id for j in listed] == [job.id]
    assert listed[0].params == {}
    assert service.get_job(alice, job.id).params == {"blob": "x" * 1000}


def test_the_internal_import_type_is_refused_like_a_missing_type(client: TestClient, alice_h: dict[str, str]) -> None:
    internal = client.post("/api/v1/jobs", json={"type": "import", "params": {}}, headers=alice_h)
    missing = client.post("/api/v1/jobs", json={"type": "no_such_type", "params": {}}, headers=alice_h)
    assert internal.status_code == missing.status_code == 404
    assert internal.json()["detail"].replace("'import'", "X") == missing.json()["detail"].replace("'no_such_type'", "X")


# -- delayed jobs and attempts -----------------------------------------------------------------
def test_a_job_started_with_a_delay_is_queued_with_its_time_and_says_scheduled_for(
    client: TestClient, service: Service, alice_h: dict[str, str]
) -> None:
    response = client.post("/api/v1/jobs", json={"type": "noop", "delay_seconds": 3600}, headers=alice_h)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued" and body["not_before"] is not None
    assert body["waiting"].startswith("Scheduled for ")
    assert service.worker(concurrency=1).run_once() == 0  # not before its time


def test_a_job_started_to_run_after_a_time_without_a_zone_takes_it_as_utc(
    client: TestClient, alice_h: dict[str, str]
) -> None:
    response = client.post("/api/v1/jobs", json={"type": "noop", "run_after": "2099-12-01T14:05:00"}, headers=alice_h)
    assert response.status_code == 202, response.text
    assert response.json()["not_before"] == "2099-12-01T14:05:00Z"
    assert response.json()["waiting"] == "Scheduled for 2099-12-01 14:05"


@pytest.mark.parametrize(
    "when",
    [
        {"run_after": "next tuesday"},
        {"delay_seconds": -1},
        {"delay_seconds": 3600, "run_after": "2099-12-01T14:05:00Z"},
    ],
)
def test_a_bad_start_time_is_a_422_naming_the_field(
    client: TestClient, service: Service, alice_h: dict[str, str], when: dict[str, object]
) -> None:
    response = client.post("/api/v1/jobs", json={"type": "noop", **when}, headers=alice_h)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert service.stats().by_status.get("queued", 0) == 0


def test_the_job_detail_lists_every_attempt_with_worker_times_and_errors(
    client: TestClient, service: Service, alice: model.User, alice_h: dict[str, str]
) -> None:
    job = service.start_job(alice, "flaky", {"fail_times": 1})
    worker = service.worker(concurrency=1)
    worker.run_once()
    waiting = client.get(f"/api/v1/jobs/{job.id}", headers=alice_h).json()
    assert waiting["status"] == "queued" and waiting["attempt"] == 1
    assert waiting["waiting"] is None or waiting["waiting"].startswith("Retrying at ")
    wait_for(lambda: worker.run_once() == 1, timeout=30)
    body = client.get(f"/api/v1/jobs/{job.id}", headers=alice_h).json()
    assert body["status"] == "completed" and body["waiting"] is None
    first, second = body["attempts"]
    assert (first["attempt"], first["outcome"], second["attempt"], second["outcome"]) == (1, "retrying", 2, "succeeded")
    assert first["error"] == "Failing on purpose: attempt 1 of the first 1" and second["error"] is None
    assert all(a["worker"] == worker.id and a["started_at"] <= a["ended_at"] for a in body["attempts"])
    assert [(s["name"], s["attempt"]) for s in body["subtasks"]] == [("Attempt 2", 2)]
