"""API tokens: an expiry chosen at creation (bounded by JOBDECK_TOKEN_MAX_DAYS), listed and revoked by their owner,
expired ones purged."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.service import Service
from jobdeck.store import schema
from tests.web.conftest import PASSWORDS, bearer


def new_token(client: TestClient, username: str, **form: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORDS[username], **form})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_token_carries_the_expiry_chosen_at_creation(client: TestClient, alice: model.User) -> None:
    data = {"username": "alice", "password": PASSWORDS["alice"], "expires_in_days": "3", "token_name": "laptop"}
    response = client.post("/api/v1/auth/token", data=data)
    assert response.json()["expires_in"] == 3 * 24 * 3600
    listed = client.get("/api/v1/auth/tokens", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
    assert [t["name"] for t in listed.json()] == ["laptop"]


def test_a_token_may_not_outlive_the_configured_maximum(client: TestClient, alice: model.User) -> None:
    data = {"username": "alice", "password": PASSWORDS["alice"], "expires_in_days": "31"}
    response = client.post("/api/v1/auth/token", data=data)
    assert response.status_code == 422
    assert "JOBDECK_TOKEN_MAX_DAYS" in response.json()["detail"]


def test_a_user_lists_only_their_own_tokens_and_never_a_secret(
    client: TestClient, alice: model.User, bob: model.User
) -> None:
    alices = [new_token(client, "alice", token_name=name) for name in ("one", "two")]
    new_token(client, "bob", token_name="bobs")
    listed = client.get("/api/v1/auth/tokens", headers=alices[0]).json()
    assert [t["name"] for t in listed] == ["two", "one"]
    assert set(listed[0]) == {"id", "name", "created_at", "last_used_at", "expires_at"}
    secret = alices[0]["Authorization"].split()[1]
    assert all(secret not in str(t.values()) for t in listed)


def test_a_revoked_token_stops_working(client: TestClient, alice: model.User) -> None:
    keep, drop = new_token(client, "alice", token_name="keep"), new_token(client, "alice", token_name="drop")
    drop_id = next(t["id"] for t in client.get("/api/v1/auth/tokens", headers=keep).json() if t["name"] == "drop")
    assert client.delete(f"/api/v1/auth/tokens/{drop_id}", headers=keep).status_code == 204
    assert client.get("/api/v1/me", headers=drop).status_code == 401
    assert client.get("/api/v1/me", headers=keep).status_code == 200
    assert [t["name"] for t in client.get("/api/v1/auth/tokens", headers=keep).json()] == ["keep"]


def test_revoking_another_users_token_is_answered_as_a_missing_token(
    client: TestClient, alice: model.User, bob: model.User
) -> None:
    alices = new_token(client, "alice")
    alices_id = client.get("/api/v1/auth/tokens", headers=alices).json()[0]["id"]
    bobs = bearer(client, "bob")
    theirs = client.delete(f"/api/v1/auth/tokens/{alices_id}", headers=bobs)
    missing = client.delete("/api/v1/auth/tokens/987654", headers=bobs)
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
    assert theirs.status_code == 404
    assert client.get("/api/v1/me", headers=alices).status_code == 200


def test_expired_tokens_are_purged_when_a_token_is_created(
    client: TestClient, service: Service, alice: model.User
) -> None:
    old = new_token(client, "alice", token_name="old")
    with service.db.write() as conn:
        conn.execute(sa.update(schema.api_tokens).values(expires_at=sa.text("'2000-01-01 00:00:00.000000'")))
    assert client.get("/api/v1/me", headers=old).status_code == 401
    new_token(client, "alice", token_name="new")
    with service.db.read() as conn:
        names = conn.execute(sa.select(schema.api_tokens.c.name)).scalars().all()
    assert names == ["new"]
