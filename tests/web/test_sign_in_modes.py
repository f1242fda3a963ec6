"""Each way of signing in can be switched off: JOBDECK_PASSWORD_LOGIN=false hides the form and refuses both
password sign-ins (the page's and the API's) with a 403 that says why."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.runner.registry import REGISTRY
from jobdeck.service import Service
from jobdeck.store.database import Database
from jobdeck.web.app import create_app
from jobdeck.wiring import Wiring
from tests.web.conftest import PASSWORDS, csrf_of


@pytest.fixture
def no_passwords(service: Service, db: Database, alice: model.User) -> TestClient:
    settings = service.settings.model_copy(update={"password_login": False})
    return TestClient(create_app(Service(Wiring(settings, db=db, registry=REGISTRY))), follow_redirects=False)


def test_with_password_login_off_the_login_page_has_no_password_form(no_passwords: TestClient) -> None:
    page = no_passwords.get("/login")
    assert page.status_code == 200
    assert 'name="password"' not in page.text
    assert "switched off" in page.text


def test_with_password_login_off_the_login_form_is_refused_with_403(
    no_passwords: TestClient, client: TestClient
) -> None:
    token = csrf_of(client.get("/login").text)  # a form from before the switch, with its cookie
    no_passwords.cookies.update(client.cookies)
    form = {"username": "alice", "password": PASSWORDS["alice"], "csrf_token": token}
    answer = no_passwords.post("/login", data=form)
    assert answer.status_code == 403
    assert "JOBDECK_PASSWORD_LOGIN" in answer.text
    assert "jobdeck_session" not in answer.headers.get("set-cookie", "")


def test_with_password_login_off_the_api_password_grant_is_refused_with_403(no_passwords: TestClient) -> None:
    answer = no_passwords.post("/api/v1/auth/token", data={"username": "alice", "password": PASSWORDS["alice"]})
    assert answer.status_code == 403
    assert "JOBDECK_PASSWORD_LOGIN" in answer.json()["detail"]


def test_with_password_login_on_the_form_signs_in_as_before(client: TestClient, alice: model.User) -> None:
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"username": "alice", "password": PASSWORDS["alice"], "csrf_token": token})
    assert answer.status_code == 303
