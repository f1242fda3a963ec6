"""The API's sign-in: OAuth2 password flow, bearer tokens, lockout after repeated failures, /me."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.service import Service
from jobdeck.store import users as user_rows
from tests.web.conftest import PASSWORDS, bearer, sign_in


def test_a_right_password_gets_a_bearer_token(client: TestClient, alice: model.User) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "alice", "password": PASSWORDS["alice"]})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 30 * 24 * 3600  # JOBDECK_TOKEN_MAX_DAYS, the default
    assert len(body["access_token"]) >= 40


@pytest.mark.parametrize("username, password", [("alice", "wrong password!"), ("nobody", "whatever password")])
def test_a_wrong_password_or_unknown_user_is_401_problem(
    client: TestClient, alice: model.User, username: str, password: str
) -> None:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "Wrong username or password."


def test_me_names_the_caller_and_their_role(client: TestClient, alice: model.User, admin: model.User) -> None:
    assert client.get("/api/v1/me", headers=bearer(client, "alice")).json() == {
        "username": "alice",
        "display_name": "alice",
        "is_admin": False,
    }
    assert client.get("/api/v1/me", headers=bearer(client, "ada")).json()["is_admin"] is True


def test_me_with_the_session_cookie(client: TestClient, alice: model.User) -> None:
    sign_in(client, "alice")
    assert client.get("/api/v1/me").json()["username"] == "alice"


def test_no_credentials_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["status"] == 401


def test_an_unknown_token_is_401_even_with_a_valid_cookie(client: TestClient, alice: model.User) -> None:
    sign_in(client, "alice")
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_a_disabled_users_token_stops_working(client: TestClient, service: Service, alice: model.User) -> None:
    headers = bearer(client, "alice")
    with service.db.write() as conn:
        user_rows.set_disabled(conn, alice.id, True)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_failed_logins_from_one_address_stop_that_address_first(
    client: TestClient, service: Service, alice: model.User, bob: model.User
) -> None:
    limit = service.settings.login_max_failures
    statuses = [
        client.post("/api/v1/auth/token", data={"username": "alice", "password": f"guess {i} wrong"}).status_code
        for i in range(limit + 10)
    ]
    assert statuses == [401] * limit + [429] * 10
    right = {"username": "alice", "password": PASSWORDS["alice"]}
    locked = client.post("/api/v1/auth/token", data=right)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.json()["detail"]
    # the account itself is not locked: alice signs in from her own address
    elsewhere = TestClient(client.app, client=("192.0.2.7", 50000))
    assert elsewhere.post("/api/v1/auth/token", data=right).status_code == 200


def test_failed_logins_from_many_addresses_lock_the_account(
    client: TestClient, service: Service, alice: model.User, bob: model.User
) -> None:
    """100 wrong passwords spread over 50 addresses: the account's own count locks it, the addresses stay free."""
    limit = service.settings.login_max_failures_per_account
    statuses = []
    for i in range(100):
        guesser = TestClient(client.app, client=(f"198.51.100.{i % 50}", 50000))
        response = guesser.post("/api/v1/auth/token", data={"username": "alice", "password": f"guess {i} wrong"})
        statuses.append(response.status_code)
    assert statuses == [401] * limit + [429] * (100 - limit)
    right = {"username": "alice", "password": PASSWORDS["alice"]}
    assert TestClient(client.app, client=("192.0.2.8", 50000)).post("/api/v1/auth/token", data=right).status_code == 429
    # another account is unaffected, from one of the same addresses
    bobs = TestClient(client.app, client=("198.51.100.1", 50000))
    assert bobs.post("/api/v1/auth/token", data={"username": "bob", "password": PASSWORDS["bob"]}).status_code == 200


def test_an_unknown_name_is_answered_exactly_like_a_known_one(client: TestClient, alice: model.User) -> None:
    """Same statuses, same bodies, after the same number of tries: nothing tells which names exist."""

    def tries(username: str, address: str) -> list[tuple[int, str]]:
        c = TestClient(client.app, client=(address, 50000))
        answers = [
            c.post("/api/v1/auth/token", data={"username": username, "password": "wrong password!"}) for _ in range(8)
        ]
        return [(r.status_code, r.json()["detail"]) for r in answers]

    assert tries("alice", "192.0.2.10") == tries("nobody-at-all", "192.0.2.11")


def test_the_lock_lifts_after_its_time(client: TestClient, service: Service, alice: model.User) -> None:
    for _ in range(service.settings.login_max_failures):
        client.post("/api/v1/auth/token", data={"username": "alice", "password": "wrong password!"})
    right = {"username": "alice", "password": PASSWORDS["alice"]}
    assert client.post("/api/v1/auth/token", data=right).status_code == 429
    with service.db.write() as conn:  # the lock has run out
        conn.exec_driver_sql("UPDATE login_throttle SET resets_at = '2000-01-01 00:00:00.000000'")
    assert client.post("/api/v1/auth/token", data=right).status_code == 200


def test_a_success_resets_the_failure_count(client: TestClient, service: Service, alice: model.User) -> None:
    for _ in range(service.settings.login_max_failures - 1):
        client.post("/api/v1/auth/token", data={"username": "alice", "password": "wrong password!"})
    bearer(client, "alice")
    for _ in range(service.settings.login_max_failures - 1):
        client.post("/api/v1/auth/token", data={"username": "alice", "password": "wrong password!"})
    assert (
        client.post("/api/v1/auth/token", data={"username": "alice", "password": PASSWORDS["alice"]}).status_code == 200
    )


def test_an_old_hash_is_upgraded_at_login(
    real_argon2: None, client: TestClient, service: Service, alice: model.User
) -> None:
    import argon2

    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORDS["alice"])
    with service.db.write() as conn:
        user_rows.set_password_hash(conn, alice.id, weak)
    bearer(client, "alice")
    with service.db.read() as conn:
        upgraded = user_rows.password_hash(conn, alice.id)
    assert upgraded != weak
    assert upgraded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize("username", ["nul\x00name", "x" * 151, ""])
def test_an_impossible_username_is_just_a_failed_login(client: TestClient, username: str) -> None:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": "whatever password"})
    assert response.status_code in (401, 422)
    assert response.headers["content-type"] == "application/problem+json"
