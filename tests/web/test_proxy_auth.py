"""Trusted reverse-proxy sign-in on a live server: the user header is believed from JOBDECK_TRUSTED_PROXIES only,
judged by the connection's own peer (here always 127.0.0.1)."""

from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator

import httpx
import pytest

from jobdeck import model
from jobdeck.service import Service
from tests.web.serving import jobdeck_server

pytestmark = pytest.mark.slow

ADMINS = "jobdeck-admins"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@pytest.fixture
def trusting(database_url: str, tmp_path: pathlib.Path, alice: model.User) -> Iterator[httpx.Client]:
    """A browser behind a proxy that jobdeck trusts (the loopback network)."""
    settings = {"trusted_proxies": "127.0.0.0/8, ::1", "oidc_admin_group": ADMINS}
    with jobdeck_server(database_url, tmp_path, **settings) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


@pytest.fixture
def distrusting(database_url: str, tmp_path: pathlib.Path, alice: model.User) -> Iterator[httpx.Client]:
    """A server that trusts another address only: 127.0.0.1 is not its proxy."""
    settings = {"trusted_proxies": "192.0.2.10", "oidc_admin_group": ADMINS}
    with jobdeck_server(database_url, tmp_path, **settings) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


def as_user(name: str, groups: str = "") -> dict[str, str]:
    return {"X-Forwarded-User": name, "X-Forwarded-Groups": groups}


def test_a_trusted_proxy_signs_the_named_user_in_and_makes_them_admin_from_the_groups_header(
    trusting: httpx.Client, service: Service
) -> None:
    me = trusting.get("/api/v1/me", headers=as_user("pat", f"staff, {ADMINS}"))
    assert me.status_code == 200, me.text
    assert me.json() == {"username": "pat", "display_name": "pat", "is_admin": True}
    assert service.accounts.user("pat").is_admin is True


def test_the_admin_flag_follows_the_groups_header_at_every_request(trusting: httpx.Client) -> None:
    assert trusting.get("/api/v1/me", headers=as_user("quinn", ADMINS)).json()["is_admin"] is True
    assert trusting.get("/api/v1/me", headers=as_user("quinn", "staff")).json()["is_admin"] is False


def test_the_same_header_from_an_address_that_is_not_trusted_is_ignored(
    distrusting: httpx.Client, service: Service
) -> None:
    assert distrusting.get("/api/v1/me", headers=as_user("pat", ADMINS)).status_code == 401
    page = distrusting.get("/settings/maintenance", headers=as_user("pat", ADMINS), follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    assert [u.username for u in service.accounts.users()] == ["alice"]


def test_x_forwarded_for_does_not_make_an_untrusted_peer_a_trusted_proxy(
    distrusting: httpx.Client, service: Service
) -> None:
    headers = {**as_user("pat", ADMINS), "X-Forwarded-For": "192.0.2.10"}
    assert distrusting.get("/api/v1/me", headers=headers).status_code == 401
    assert [u.username for u in service.accounts.users()] == ["alice"]


def test_a_trusted_proxy_that_sends_x_forwarded_for_still_signs_its_user_in(trusting: httpx.Client) -> None:
    headers = {**as_user("rita"), "X-Forwarded-For": "203.0.113.7"}
    assert trusting.get("/api/v1/me", headers=headers).json()["username"] == "rita"


def test_a_proxy_signed_in_page_posts_its_forms_with_the_sessions_csrf_token(trusting: httpx.Client) -> None:
    headers = as_user("sam")
    page = trusting.get("/settings/maintenance", headers=headers)
    assert page.status_code == 200
    form = {"type": "t_echo", "csrf_token": csrf_of(page.text)}
    started = trusting.post("/settings/maintenance/start", data=form, headers=headers, follow_redirects=False)
    assert started.status_code == 303, started.text
    forged = trusting.post("/settings/maintenance/start", data={"type": "t_echo"}, headers=headers)
    assert forged.status_code == 403


def test_a_proxy_signed_in_api_call_that_changes_state_needs_the_csrf_header(trusting: httpx.Client) -> None:
    headers = as_user("sam")
    token = csrf_of(trusting.get("/settings/maintenance", headers=headers).text)
    job = {"type": "t_echo", "params": {}}
    assert trusting.post("/api/v1/jobs", json=job, headers=headers).status_code == 403
    started = trusting.post("/api/v1/jobs", json=job, headers={**headers, "X-CSRF-Token": token})
    assert started.status_code == 202, started.text


def test_the_proxy_user_keeps_one_session_across_requests(trusting: httpx.Client, service: Service) -> None:
    first = trusting.get("/settings/maintenance", headers=as_user("tess"))
    second = trusting.get("/settings/maintenance", headers=as_user("tess"))
    assert "set-cookie" in first.headers and "set-cookie" not in second.headers
    assert csrf_of(first.text) == csrf_of(second.text)


def test_a_disabled_proxy_user_is_refused(trusting: httpx.Client, service: Service) -> None:
    assert trusting.get("/api/v1/me", headers=as_user("uma")).status_code == 200
    service.accounts.set_disabled("uma", True)
    assert trusting.get("/api/v1/me", headers=as_user("uma")).status_code == 401


def test_the_proxy_never_signs_in_as_a_local_account(trusting: httpx.Client) -> None:
    assert trusting.get("/api/v1/me", headers=as_user("alice", ADMINS)).status_code == 401
