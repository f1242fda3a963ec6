"""Web fixtures: the app over the shared service, clients signed in by session or by token, and jobs in every state."""

from __future__ import annotations

import pathlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import argon2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from jobdeck import model, passwords
from jobdeck.imports import targets
from jobdeck.service import Service
from jobdeck.web.app import create_app
from tests.web.serving import jobdeck_server

#: The live server's failed-login limit per account name (the per-address limit stays the default).
LIVE_ACCOUNT_LIMIT = 8
PASSWORDS = {"ada": "correct horse battery", "alice": "alice's long password", "bob": "bob's long password"}


@pytest.fixture
def real_argon2() -> None:
    """Ask for this to hash with jobdeck's real argon2 parameters instead of the cheap test ones."""


@pytest.fixture(autouse=True)
def cheap_argon2(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Web tests sign in hundreds of times; at the production cost (~0.3 s a hash on two cores) that is minutes."""
    if "real_argon2" in request.fixturenames:
        return
    cheap = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: cheap)


@pytest.fixture
def app(service: Service) -> FastAPI:
    # No `with TestClient(...)`: the lifespan (and its embedded workers) stays off; tests run workers in burst.
    targets.ensure_tables(service.db)  # as Service.open does
    return create_app(service)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str | None = None) -> str:
    """Sign in through the login form (as a fresh browser would); returns the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password or PASSWORDS[username], "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/settings/maintenance").text)


def bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def as_user(app: FastAPI) -> Callable[[str], TestClient]:
    """A fresh client signed in (with a session cookie) as the named user."""

    def make(username: str) -> TestClient:
        c = TestClient(app, follow_redirects=False)
        c.headers["X-CSRF-Token"] = sign_in(c, username)
        return c

    return make


@pytest.fixture
def run_jobs(service: Service) -> Callable[[], None]:
    def run() -> None:
        service.worker(concurrency=1).run(burst=True)

    return run


@pytest.fixture
def make_job(service: Service) -> Callable[..., model.Job]:
    def make(user: model.User | None, type_name: str = "t_steps", params: dict[str, Any] | None = None) -> model.Job:
        return service.start_job(user, type_name, params or {}, run_at="/settings/maintenance")

    return make


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the application answers, through included routers (HEAD left out)."""
    found: set[tuple[str, str]] = set()

    def walk(routes: Any) -> None:
        for route in routes:
            if hasattr(route, "effective_candidates"):  # an included router, resolved lazily by FastAPI
                walk(route.effective_candidates())
            elif getattr(route, "methods", None) and getattr(route, "path", None):
                found.update((m, route.path) for m in route.methods if m != "HEAD")

    walk(app.routes)
    return found


@pytest.fixture
def alice_h(client: TestClient, alice: model.User) -> dict[str, str]:
    """Bearer headers for alice (and bob_h, admin_h for the others)."""
    return bearer(client, "alice")


@pytest.fixture
def bob_h(client: TestClient, bob: model.User) -> dict[str, str]:
    return bearer(client, "bob")


@pytest.fixture
def admin_h(client: TestClient, admin: model.User) -> dict[str, str]:
    return bearer(client, "ada")


@pytest.fixture
def live_server(
    service: Service, database_url: str, tmp_path: pathlib.Path, alice: model.User, bob: model.User
) -> Iterator[str]:
    """A real `jobdeck serve` (uvicorn, no workers) over this test's database, with alice and bob; its base URL.

    The server hashes with jobdeck's real argon2 parameters; its temporary files go to `tmp_path / "server-tmp"`."""
    with jobdeck_server(database_url, tmp_path, login_max_failures_per_account=str(LIVE_ACCOUNT_LIMIT)) as url:
        yield url
