"""OpenID Connect sign-in against a real provider (oidc-provider-mock) through the real redirects: jobdeck's
/login/oidc, the provider's authorization form, the callback, the code exchange and the ID token checks."""

from __future__ import annotations

import pathlib
import urllib.parse
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from jobdeck import identity, model
from jobdeck.runner.registry import REGISTRY
from jobdeck.service import Service
from jobdeck.settings import Settings
from jobdeck.store.database import Database
from jobdeck.web.app import create_app
from jobdeck.wiring import Wiring
from tests.web.serving import identity_provider, jobdeck_server, put_person, sign_in_at_provider

pytestmark = pytest.mark.slow

ADMINS = "jobdeck-admins"
MakeJob = Callable[..., model.Job]


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with identity_provider() as url:
        yield url


@pytest.fixture
def server(issuer: str, database_url: str, tmp_path: pathlib.Path, alice: model.User, bob: model.User) -> Iterator[str]:
    with jobdeck_server(
        database_url,
        tmp_path,
        oidc_issuer=issuer,
        oidc_client_id="jobdeck-test",
        oidc_client_secret="a client secret",
        oidc_admin_group=ADMINS,
        oidc_allowed_domains="example.com, example.org",
    ) as url:
        yield url


@pytest.fixture
def browser(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, follow_redirects=False, timeout=60) as client:
        yield client


def signed_in(browser: httpx.Client, issuer: str, sub: str, **claims: object) -> dict[str, object]:
    put_person(issuer, sub, **claims)
    answer = sign_in_at_provider(browser, sub)
    assert answer.status_code == 303, answer.text
    me = browser.get("/api/v1/me")
    assert me.status_code == 200, me.text
    result: dict[str, object] = me.json()
    return result


def job_ids(browser: httpx.Client) -> list[int]:
    response = browser.get("/api/v1/jobs")
    assert response.status_code == 200, response.text
    return [int(item["id"]) for item in response.json()["items"]]


def test_a_member_of_the_admin_group_becomes_an_admin_and_sees_every_job(
    browser: httpx.Client, issuer: str, alice: model.User, bob: model.User, make_job: MakeJob
) -> None:
    jobs = [make_job(alice, "t_echo"), make_job(bob, "t_echo")]
    me = signed_in(
        browser, issuer, "sub-carol", preferred_username="carol", email="carol@example.com", name="Carol C",
        groups=["staff", ADMINS],
    )  # fmt: skip
    assert me == {"username": "carol", "display_name": "Carol C", "is_admin": True}
    assert sorted(job_ids(browser)) == sorted(j.id for j in jobs)


def test_an_ordinary_user_sees_only_their_own_jobs(
    browser: httpx.Client, issuer: str, service: Service, alice: model.User, bob: model.User, make_job: MakeJob
) -> None:
    make_job(alice, "t_echo")
    make_job(bob, "t_echo")
    me = signed_in(browser, issuer, "sub-dave", preferred_username="dave", email="dave@example.com", groups=["staff"])
    assert me["is_admin"] is False
    assert job_ids(browser) == []
    own = make_job(service.accounts.user("dave"), "t_echo")
    assert job_ids(browser) == [own.id]


def test_the_callback_lands_on_the_page_the_sign_in_started_from(browser: httpx.Client, issuer: str) -> None:
    put_person(issuer, "sub-erin", preferred_username="erin", email="erin@example.com")
    answer = sign_in_at_provider(browser, "sub-erin", next_url="/imports/new")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/imports/new"
    assert browser.get("/imports/new").status_code == 200


def test_a_second_sign_in_updates_the_display_name_and_the_admin_flag(
    server: str, issuer: str, service: Service
) -> None:
    first = {"preferred_username": "fay", "email": "fay@example.org", "name": "Fay", "groups": [ADMINS]}
    with httpx.Client(base_url=server, timeout=60) as browser:
        assert signed_in(browser, issuer, "sub-fay", **first)["is_admin"] is True
    with httpx.Client(base_url=server, timeout=60) as browser:
        me = signed_in(browser, issuer, "sub-fay", **{**first, "name": "Fay Fisher", "groups": ["staff"]})
    assert me == {"username": "fay", "display_name": "Fay Fisher", "is_admin": False}
    assert service.accounts.user("fay").is_admin is False


def test_a_disabled_user_is_refused(server: str, issuer: str, service: Service) -> None:
    claims = {"preferred_username": "gus", "email": "gus@example.com"}
    with httpx.Client(base_url=server, timeout=60) as first:
        signed_in(first, issuer, "sub-gus", **claims)
        service.accounts.set_disabled("gus", True)
        assert first.get("/api/v1/me").status_code == 401  # disabling ended the session at once
    with httpx.Client(base_url=server, timeout=60) as again:
        answer = sign_in_at_provider(again, "sub-gus")
        assert answer.status_code == 403
        assert "disabled" in answer.text
        assert again.get("/api/v1/me").status_code == 401


def test_an_email_outside_the_allowed_domains_is_refused_with_a_clear_page(
    browser: httpx.Client, issuer: str, service: Service
) -> None:
    put_person(issuer, "sub-mallory", preferred_username="mallory", email="mallory@elsewhere.net")
    answer = sign_in_at_provider(browser, "sub-mallory")
    assert answer.status_code == 403
    assert "mallory@elsewhere.net" in answer.text and "example.com" in answer.text
    assert browser.get("/api/v1/me").status_code == 401
    assert [u.username for u in service.accounts.users()] == ["alice", "bob"]


def test_a_tampered_state_is_refused_with_400(browser: httpx.Client, issuer: str) -> None:
    put_person(issuer, "sub-hal", preferred_username="hal", email="hal@example.com")
    start = browser.get("/login/oidc")
    chosen = httpx.post(start.headers["location"], data={"sub": "sub-hal"}, timeout=30)
    back = httpx.URL(chosen.headers["location"])
    tampered = back.copy_set_param("state", back.params["state"][:-2] + "xx")
    answer = browser.get(str(tampered))
    assert answer.status_code == 400
    assert "start again" in answer.text
    assert browser.get("/api/v1/me").status_code == 401


def test_a_callback_without_the_browsers_state_cookie_is_refused_with_400(
    server: str, browser: httpx.Client, issuer: str
) -> None:
    put_person(issuer, "sub-ivy", preferred_username="ivy", email="ivy@example.com")
    start = browser.get("/login/oidc")
    chosen = httpx.post(start.headers["location"], data={"sub": "sub-ivy"}, timeout=30)
    with httpx.Client(timeout=60) as stranger:  # another browser: it never started this sign-in
        answer = stranger.get(chosen.headers["location"])
        assert answer.status_code == 400
        assert stranger.get(server + "/api/v1/me").status_code == 401


def test_a_claim_never_takes_over_a_local_account_of_the_same_name(browser: httpx.Client, issuer: str) -> None:
    put_person(issuer, "sub-other-alice", preferred_username="alice", email="alice@example.com", groups=[ADMINS])
    answer = sign_in_at_provider(browser, "sub-other-alice")
    assert answer.status_code == 409
    assert browser.get("/api/v1/me").status_code == 401


def test_another_subject_with_the_same_user_name_is_refused(browser: httpx.Client, issuer: str) -> None:
    signed_in(browser, issuer, "sub-jo-1", preferred_username="jo", email="jo@example.com")
    browser.cookies.clear()
    put_person(issuer, "sub-jo-2", preferred_username="jo", email="jo2@example.com")
    assert sign_in_at_provider(browser, "sub-jo-2").status_code == 409


def test_a_user_made_by_a_sign_in_has_no_password_that_signs_them_in(browser: httpx.Client, issuer: str) -> None:
    signed_in(browser, issuer, "sub-kim", preferred_username="kim", email="kim@example.com")
    for guess in ("kim's long password", identity.MARKER_PREFIX + "oidc"):
        answer = httpx.post(f"{browser.base_url}/api/v1/auth/token", data={"username": "kim", "password": guess})
        assert answer.status_code == 401, answer.text


# -- configuration, without a provider --------------------------------------------------------------
def app_with(service: Service, db: Database, **changes: object) -> FastAPI:
    settings: Settings = service.settings.model_copy(update=changes)
    return create_app(Service(Wiring(settings, db=db, registry=REGISTRY)))


def test_the_login_page_offers_the_provider_when_one_is_configured(service: Service, db: Database) -> None:
    app = app_with(service, db, oidc_issuer="https://login.example.com", oidc_client_id="x", oidc_provider_name="Acme")
    page = TestClient(app).get("/login", params={"next": "/imports/new"})
    assert 'href="/login/oidc?next=%2Fimports%2Fnew">Sign in with Acme</a>' in page.text
    assert 'name="password"' in page.text


def test_without_an_issuer_there_is_no_button_and_login_oidc_is_404(client: TestClient) -> None:
    assert "Sign in with" not in client.get("/login").text
    assert client.get("/login/oidc").status_code == 404
    assert client.get("/login/oidc/callback", params={"code": "x", "state": "y"}).status_code == 404


def test_an_unreachable_provider_is_a_clear_502_not_a_crash(service: Service, db: Database) -> None:
    app = app_with(service, db, oidc_issuer="http://127.0.0.1:9", oidc_client_id="x")
    answer = TestClient(app).get("/login/oidc")
    assert answer.status_code == 502
    assert "could not be reached" in answer.text


def test_under_a_prefix_the_state_cookie_and_the_callback_are_under_that_prefix(
    service: Service, db: Database, issuer: str
) -> None:
    app = app_with(service, db, oidc_issuer=issuer, oidc_client_id="jobdeck-test", oidc_client_secret="a client secret")
    answer = TestClient(app, root_path="/admin/jobs").get("/login/oidc", follow_redirects=False)
    assert answer.status_code == 302, answer.text
    assert "path=/admin/jobs/login/oidc;" in answer.headers["set-cookie"]
    sent_back_to = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["location"]).query))["redirect_uri"]
    assert urllib.parse.urlsplit(sent_back_to).path == "/admin/jobs/login/oidc/callback"
