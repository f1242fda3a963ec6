"""Sessions (S4): new id at login, server-side logout, dead sessions of disabled users, timeouts, cookie flags."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jobdeck import model, settings
from jobdeck.service import Service
from jobdeck.store import schema
from jobdeck.store import users as user_rows
from jobdeck.web import auth
from jobdeck.web.app import create_app
from jobdeck.wiring import Wiring
from tests.web.conftest import sign_in

GRID = "/settings/maintenance/jobs"
COOKIE = auth.SESSION_COOKIE


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Sessions are a few plain statements, checked on SQLite; the API tests sign in on both backends."""
    return str(request.param)


def signed_in(client: TestClient) -> bool:
    return client.get(GRID).status_code == 200


def test_login_issues_a_new_session_id_and_ignores_a_planted_one(client: TestClient, alice: model.User) -> None:
    client.cookies.set(COOKIE, "planted-by-an-attacker", domain="testserver.local")
    page = client.get("/login")
    assert page.status_code == 200  # an unknown session id is no session
    sign_in_keep = client.post(
        "/login",
        data={"username": "alice", "password": "alice's long password", "csrf_token": page.context["login_csrf"]},  # type: ignore[attr-defined]
    )
    assert sign_in_keep.status_code == 303
    issued = client.cookies.get(COOKIE)
    assert issued and issued != "planted-by-an-attacker"
    first = issued
    sign_in(client, "alice")
    assert client.cookies.get(COOKIE) != first


def test_logout_kills_the_session_on_the_server(client: TestClient, alice: model.User) -> None:
    csrf = sign_in(client, "alice")
    cookie = client.cookies.get(COOKIE)
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    replay = TestClient(client.app, follow_redirects=False)
    replay.cookies.set(COOKIE, cookie or "")
    assert not signed_in(replay)
    assert replay.get("/api/v1/me").status_code == 401


def test_a_disabled_users_sessions_die(client: TestClient, service: Service, alice: model.User) -> None:
    sign_in(client, "alice")
    assert signed_in(client)
    with service.db.write() as conn:
        user_rows.set_disabled(conn, alice.id, True)
    assert not signed_in(client)


def test_an_idle_session_expires(client: TestClient, service: Service, alice: model.User) -> None:
    sign_in(client, "alice")
    with service.db.write() as conn:
        conn.execute(sa.update(schema.sessions).values(last_seen_at=sa.text("'2000-01-01 00:00:00'")))
    assert not signed_in(client)


def test_a_session_expires_at_its_absolute_limit_even_when_busy(
    client: TestClient, service: Service, alice: model.User
) -> None:
    sign_in(client, "alice")
    with service.db.write() as conn:
        conn.execute(sa.update(schema.sessions).values(expires_at=sa.text("'2000-01-01 00:00:00'")))
    assert not signed_in(client)


def test_only_a_hash_of_the_session_id_is_stored(client: TestClient, service: Service, alice: model.User) -> None:
    sign_in(client, "alice")
    cookie = client.cookies.get(COOKIE) or ""
    with service.db.read() as conn:
        stored = conn.execute(sa.select(schema.sessions.c.id_hash)).scalars().all()
    assert stored == [hashlib.sha256(cookie.encode()).hexdigest()]


def test_session_cookie_flags(client: TestClient, alice: model.User) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "alice", "password": "alice's long password", "csrf_token": page.context["login_csrf"]},  # type: ignore[attr-defined]
    )
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP in this test


def test_behind_https_the_cookie_is_secure_host_prefixed_and_hsts_is_sent(
    test_settings: settings.Settings, service: Service, alice: model.User
) -> None:
    secure = settings.load(**{**test_settings.model_dump(), "secure_cookies": True})
    client = TestClient(
        create_app(Service(Wiring(secure, db=service.db, registry=service.registry))), follow_redirects=False
    )
    client.base_url = client.base_url.copy_with(scheme="https")  # type: ignore[assignment]
    page = client.get("/login")
    assert page.headers["strict-transport-security"].startswith("max-age=31536000")
    response = client.post(
        "/login",
        data={"username": "alice", "password": "alice's long password", "csrf_token": page.context["login_csrf"]},  # type: ignore[attr-defined]
    )
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "jobdeck_session" in v)
    assert cookie.startswith("__Host-jobdeck_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie and "Domain" not in cookie
