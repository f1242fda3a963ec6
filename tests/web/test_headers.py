"""The header sweep (S11): security headers on every kind of answer, and never a traceback in a body."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.service import Service
from jobdeck.web.app import create_app
from tests.web.conftest import bearer, sign_in

GRID = "/settings/maintenance/jobs"


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Headers are added outside every query: one backend is enough."""
    return str(request.param)


def check(response: object, *, hsts: bool = False) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert ("strict-transport-security" in headers) is hsts
    body = response.content  # type: ignore[attr-defined]
    assert b"Traceback" not in body and b'File "' not in body


def test_every_kind_of_answer_carries_the_security_headers(
    app: FastAPI,
    service: Service,
    alice: model.User,
    bob: model.User,
    make_job: Callable[..., model.Job],
    run_jobs: Callable[[], None],
) -> None:
    job = make_job(alice, "t_steps")
    run_jobs()
    file_id = service.job_detail(alice, job.id).files[0].id

    def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/api/v1/boom", boom)  # a bug, to see the 500 answer
    app.add_api_route("/boom", boom)
    anonymous = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    user = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    csrf = sign_in(user, "alice")
    token = bearer(user, "alice")
    other = TestClient(app, follow_redirects=False)
    sign_in(other, "bob")
    seen: dict[tuple[str, int], object] = {}

    def record(label: str, response: object, status: int) -> None:
        assert response.status_code == status, (label, response.text)  # type: ignore[attr-defined]
        check(response)
        seen[(label, status)] = response

    record("page", user.get(GRID), 200)
    record("detail page", user.get(f"{GRID}/{job.id}"), 200)
    record("login page", anonymous.get("/login"), 200)
    record("api list", user.get("/api/v1/jobs", headers=token), 200)
    record("download", user.get(f"/api/v1/jobs/{job.id}/files/{file_id}", headers=token), 200)
    record("static", anonymous.get("/static/jobdeck.css"), 200)
    record("healthz", anonymous.get("/healthz"), 200)
    record("metrics", anonymous.get("/metrics"), 200)
    record("redirect", anonymous.get(GRID), 303)
    record("api unauthenticated", anonymous.get("/api/v1/jobs"), 401)
    record("csrf", user.post(f"{GRID}/{job.id}/retry", data={"csrf_token": "forged"}), 403)
    record("cross-site", user.post("/logout", data={"csrf_token": csrf}, headers={"Sec-Fetch-Site": "cross-site"}), 403)
    record("page 404", other.get(f"{GRID}/{job.id}"), 404)
    record("api 404", user.get("/api/v1/jobs/999999", headers=token), 404)
    record("no route", anonymous.get("/no/such/page"), 404)
    record("method", anonymous.put("/api/v1/jobs"), 405)
    record("too large", anonymous.post("/api/v1/imports", headers={"Content-Length": str(10**12)}), 413)
    record("api 422", user.get("/api/v1/jobs?limit=0", headers=token), 422)
    record("page 422", user.get(f"{GRID}?sort=nope"), 422)
    record("api 500", anonymous.get("/api/v1/boom"), 500)
    record("page 500", anonymous.get("/boom"), 500)
    assert "secret internals" not in seen[("api 500", 500)].text  # type: ignore[attr-defined]
    assert seen[("api 500", 500)].headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    print(f"header sweep: {len(seen)} route x status answers checked")


def test_downloads_are_never_rendered_by_the_browser(
    client: TestClient,
    alice: model.User,
    make_job: Callable[..., model.Job],
    run_jobs: Callable[[], None],
    service: Service,
) -> None:
    job = make_job(alice, "t_steps")
    run_jobs()
    file_id = service.job_detail(alice, job.id).files[0].id
    response = client.get(f"/api/v1/jobs/{job.id}/files/{file_id}", headers=bearer(client, "alice"))
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_hsts_is_sent_behind_https_only(service: Service, alice: model.User) -> None:
    from jobdeck import settings
    from jobdeck.wiring import Wiring

    secure = settings.load(**{**service.settings.model_dump(), "secure_cookies": True})
    app = create_app(type(service)(Wiring(secure, db=service.db, registry=service.registry)))
    check(TestClient(app).get("/healthz"), hsts=True)
    check(TestClient(create_app(service)).get("/healthz"), hsts=False)


@pytest.mark.parametrize("path", ["/static", "/api/v1/jobs/"])
def test_a_redirect_names_no_host_not_even_the_requests_own(app: FastAPI, path: str) -> None:
    client = TestClient(app, follow_redirects=False)
    response = client.get(path, headers={"Host": "evil.example"})
    if response.status_code in (301, 302, 303, 307, 308):
        location = response.headers["location"]
        assert location.startswith("/") and not location.startswith("//")
        assert "evil.example" not in location
    assert client.get("/static", headers={"Host": "evil.example"}).headers["location"] == "/static/"
