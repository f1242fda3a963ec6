"""The operator's API: admins list workers and queues and pause and resume queues; to everyone else the four
routes answer exactly as a route the application does not have."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from httpx import Response

from jobdeck import model
from jobdeck.service import Service
from jobdeck.store import claim, workers

ROUTES = [
    ("GET", "/api/v1/workers"),
    ("GET", "/api/v1/queues"),
    ("POST", "/api/v1/queues/default/pause"),
    ("POST", "/api/v1/queues/default/resume"),
    ("POST", "/api/v1/queues/" + "x" * 200 + "/pause"),  # a name an admin would get a 422 for
]


def same_answer(got: Response, missing: Response) -> bool:
    return (got.status_code, got.headers["content-type"], got.content) == (
        missing.status_code,
        missing.headers["content-type"],
        missing.content,
    )


def test_an_ordinary_users_token_gets_the_answer_of_a_missing_route(
    client: TestClient, alice_h: dict[str, str]
) -> None:
    for method, path in ROUTES:
        got = client.request(method, path, headers=alice_h)
        missing = client.request(method, path.replace("/api/v1/", "/api/v1/no-such-"), headers=alice_h)
        assert got.status_code == 404 and same_answer(got, missing), (method, path, got.text)


def test_an_ordinary_users_session_without_csrf_gets_the_answer_of_a_missing_route(
    app: object, alice: model.User, as_user: Callable[[str], TestClient]
) -> None:
    browser = as_user("alice")
    del browser.headers["X-CSRF-Token"]
    for method, path in ROUTES:
        got = browser.request(method, path)
        missing = browser.request(method, path.replace("/api/v1/", "/api/v1/no-such-"))
        assert got.status_code == 404 and same_answer(got, missing), (method, path, got.text)


def test_an_anonymous_caller_is_asked_to_sign_in(client: TestClient) -> None:
    assert {client.request(m, p).status_code for m, p in ROUTES} == {401}


def test_an_admin_lists_the_queues_with_their_depth(
    client: TestClient, admin_h: dict[str, str], service: Service
) -> None:
    service.start_job(None, "noop")
    (default,) = [q for q in client.get("/api/v1/queues", headers=admin_h).json() if q["name"] == "default"]
    assert default["depth"] == 1 and default["paused"] is False and default["oldest_queued_at"] is not None
    assert default["oldest_queued_age_seconds"] >= 0


def test_an_admin_pauses_and_resumes_a_queue(client: TestClient, admin_h: dict[str, str]) -> None:
    paused = client.post("/api/v1/queues/default/pause", headers=admin_h)
    assert paused.status_code == 200
    assert paused.json()["paused"] is True and paused.json()["paused_by"] == "ada"
    listed = {q["name"]: q for q in client.get("/api/v1/queues", headers=admin_h).json()}
    assert listed["default"]["paused"] is True
    resumed = client.post("/api/v1/queues/default/resume", headers=admin_h)
    assert resumed.status_code == 200 and resumed.json()["paused"] is False


def test_pausing_an_unknown_queue_is_a_404_naming_it(client: TestClient, admin_h: dict[str, str]) -> None:
    response = client.post("/api/v1/queues/nope/pause", headers=admin_h)
    assert response.status_code == 404 and "nope" in response.json()["detail"]


def test_an_admins_session_must_send_the_csrf_header_to_pause(
    admin: model.User, as_user: Callable[[str], TestClient]
) -> None:
    browser = as_user("ada")
    token = browser.headers.pop("X-CSRF-Token")
    assert browser.post("/api/v1/queues/default/pause").status_code == 403
    assert browser.get("/api/v1/queues").json()[0]["paused"] is False
    assert browser.post("/api/v1/queues/default/pause", headers={"X-CSRF-Token": token}).status_code == 200


def test_an_admin_sees_the_workers_and_their_running_jobs(
    client: TestClient, admin_h: dict[str, str], service: Service, admin: model.User
) -> None:
    job = service.start_job(None, "noop")
    worker = service.worker(concurrency=1)
    with service.db.write() as conn:
        workers.register(conn, worker.id, worker.hostname, worker.pid, 1)
        claim.claim(service.db, conn, worker.id, 1, lease_seconds=60)
    (listed,) = client.get("/api/v1/workers", headers=admin_h).json()
    assert (listed["id"], listed["pid"], listed["concurrency"]) == (worker.id, worker.pid, 1)
    assert [(r["id"], r["type"]) for r in listed["running"]] == [(job.id, "noop")]
