"""CSRF (S3): every state-changing route refuses a missing token, another session's token, and a cross-site request,
and changes nothing when it does; no GET changes a row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.service import Service
from jobdeck.store import schema
from tests.web.conftest import PASSWORDS, app_routes, csrf_of, sign_in

CSV = ("people.csv", b"first_name,last_name,email\nA,B,a@example.com\n", "text/csv")
#: How to call each state-changing route; a POST route missing here fails the coverage test.
CALLS: dict[str, dict[str, Any]] = {
    "/login": {"data": {"username": "alice", "password": PASSWORDS["alice"]}},
    "/logout": {"data": {}},
    "/settings/maintenance/start": {"data": {"type": "noop"}},
    "/settings/maintenance/jobs/{job_id}/cancel": {"data": {}},
    "/settings/maintenance/jobs/{job_id}/retry": {"data": {}},
    "/imports/new": {"data": {"target": "contacts"}, "files": {"file": CSV}},
    "/imports/{token}": {"data": {"action": "preview"}},
    "/api/v1/jobs": {"json": {"type": "noop"}},
    "/api/v1/jobs/{job_id}/cancel": {},
    "/api/v1/jobs/{job_id}/retry": {},
    "/api/v1/imports": {"data": {"target": "contacts"}, "files": {"file": CSV}},
    "/api/v1/imports/preview": {"data": {"target": "contacts"}, "files": {"file": CSV}},
    "/api/v1/auth/token": {"data": {"username": "alice", "password": PASSWORDS["alice"]}},
    "/api/v1/auth/tokens/{token_id}": {"method": "DELETE"},
    "/api/v1/queues/{name}/pause": {},
    "/api/v1/queues/{name}/resume": {},
    "/settings/maintenance/queues/{name}/pause": {"data": {}},
    "/settings/maintenance/queues/{name}/resume": {"data": {}},
    "/api/v1/jobs/cancel": {"params": {"status": "queued", "confirm": 1}},
    "/api/v1/jobs/retry": {"params": {"status": "failed", "confirm": 1}},
    "/settings/maintenance/jobs/cancel": {"params": {"status": "queued"}, "data": {"confirm": "1"}},
    "/settings/maintenance/jobs/retry": {"params": {"status": "failed"}, "data": {"confirm": "1"}},
}
#: Routes only an admin may call (to anyone else they are missing routes): ada calls them instead of alice.
ADMIN_ROUTES = {route for route in CALLS if "/queues/" in route}
ATTACKS = ["no token", "another session's token", "cross-site"]


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """CSRF is decided before any query: one backend is enough."""
    return str(request.param)


def post_routes(app: FastAPI) -> set[str]:
    return {path for method, path in app_routes(app) if method in {"POST", "PUT", "PATCH", "DELETE"}}


def snapshot(service: Service) -> dict[str, object]:
    j = schema.jobs
    with service.db.read() as conn:
        return {
            "jobs": conn.execute(sa.select(j.c.id, j.c.status, j.c.cancel_requested).order_by(j.c.id)).all(),
            "sessions": conn.execute(sa.select(schema.sessions.c.id_hash).order_by(schema.sessions.c.id_hash)).all(),
            "tokens": conn.execute(sa.select(sa.func.count()).select_from(schema.api_tokens)).scalar(),
            "failures": conn.execute(sa.select(schema.login_throttle).order_by(schema.login_throttle.c.key_hash)).all(),
            "queues": conn.execute(sa.select(schema.queues).order_by(schema.queues.c.name)).all(),
        }


def test_every_state_changing_route_is_covered(app: FastAPI) -> None:
    assert post_routes(app) == set(CALLS)


@pytest.fixture
def targets(service: Service, alice: model.User, make_job: Callable[..., model.Job]) -> dict[str, int]:
    failed = make_job(alice, "t_fail_always")
    service.worker(1).run(burst=True)
    service.accounts.issue_token(alice, "spare")
    spare = service.accounts.tokens_of(alice)[0].id
    return {"cancel": make_job(alice, "t_echo").id, "retry": failed.id, "token": spare}


def _path(route: str, targets: dict[str, int], staged: str = "A" * 32) -> str:
    route = route.replace("{token_id}", str(targets["token"])).replace("{token}", staged).replace("{name}", "default")
    return route.replace("{job_id}", str(targets["retry" if route.endswith("retry") else "cancel"]))


@pytest.mark.parametrize("route", sorted(CALLS))
def test_a_forged_request_is_403_and_changes_nothing(
    app: FastAPI, service: Service, bob: model.User, admin: model.User, targets: dict[str, int], route: str
) -> None:
    client = TestClient(app, follow_redirects=False)
    other_token = sign_in(TestClient(app, follow_redirects=False), "bob")
    caller = "ada" if route in ADMIN_ROUTES else "alice"
    valid = csrf_of(client.get("/login").text) if route == "/login" else sign_in(client, caller)
    # The token endpoint takes no ambient credentials: only the cross-site check applies to it.
    attacks = ["cross-site"] if route == "/api/v1/auth/token" else ATTACKS
    for attack in attacks:
        headers: dict[str, str] = {}
        call = {k: (dict(v) if isinstance(v, dict) else v) for k, v in CALLS[route].items()}
        token = {"no token": None, "another session's token": other_token, "cross-site": valid}[attack]
        if attack == "cross-site":
            headers["Sec-Fetch-Site"] = "cross-site"
        if token is not None:
            if route.startswith("/api/"):
                headers["X-CSRF-Token"] = token
            else:
                call.setdefault("data", {})["csrf_token"] = token
        before = snapshot(service)
        response = client.request(call.pop("method", "POST"), _path(route, targets), headers=headers, **call)
        assert response.status_code == 403, (attack, response.text)
        assert snapshot(service) == before, attack


@pytest.mark.parametrize("route", sorted(set(CALLS) - {"/api/v1/auth/token", "/login"}))
def test_the_same_request_with_the_right_token_goes_through(
    app: FastAPI, targets: dict[str, int], alice: model.User, admin: model.User, route: str
) -> None:
    client = TestClient(app, follow_redirects=False)
    token = sign_in(client, "ada" if route in ADMIN_ROUTES else "alice")
    call = {k: (dict(v) if isinstance(v, dict) else v) for k, v in CALLS[route].items()}
    headers = {"Sec-Fetch-Site": "same-origin"}
    if route.startswith("/api/"):
        headers["X-CSRF-Token"] = token
    else:
        call.setdefault("data", {})["csrf_token"] = token
    staged = "A" * 32
    if "{token}" in route:  # an upload waiting on the import page, staged in this session
        upload = client.post("/imports/new", data={"target": "contacts", "csrf_token": token}, files={"file": CSV})
        staged = upload.headers["location"].rsplit("/", 1)[1]
    response = client.request(call.pop("method", "POST"), _path(route, targets, staged), headers=headers, **call)
    assert response.status_code in (200, 202, 204, 303), response.text


def test_no_get_changes_a_row(
    app: FastAPI, service: Service, admin: model.User, targets: dict[str, int], run_jobs: Callable[[], None]
) -> None:
    client = TestClient(app, follow_redirects=False)
    sign_in(client, "ada")
    job_id = targets["retry"]
    file_id = 1
    before = snapshot(service)
    for method, route in sorted(app_routes(app)):
        if method != "GET":
            continue
        path = route.replace("{job_id}", str(job_id)).replace("{file_id}", str(file_id))
        path = path.replace("{name}", "contacts").replace("{token_id}", str(targets["token"]))
        assert client.get(path).status_code < 500, path
    assert snapshot(service) == before
