"""The login throttle against a real server and parallel requests: check-and-count is one step in the database,
so a burst of guesses cannot outrun the limit, on SQLite and on PostgreSQL."""

from __future__ import annotations

import concurrent.futures
import threading

import httpx
import pytest

from jobdeck.service import Service
from tests.web.conftest import LIVE_ACCOUNT_LIMIT, PASSWORDS

BURST = 20
pytestmark = pytest.mark.slow  # a server per test and database


def burst(url: str, attempts: list[tuple[str, str, str]]) -> list[int]:
    """Send every (username, password, client address) at once, from its own connection; the statuses in order."""
    start = threading.Barrier(len(attempts))

    def one(attempt: tuple[str, str, str]) -> int:
        username, password, address = attempt
        with httpx.Client(base_url=url, timeout=120) as client:
            client.get("/healthz")  # connected before the barrier: the posts leave together
            start.wait()
            response = client.post(
                "/api/v1/auth/token",
                data={"username": username, "password": password},
                headers={"X-Forwarded-For": address},  # uvicorn believes it from 127.0.0.1 only
            )
            return response.status_code

    with concurrent.futures.ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(one, attempts))


def test_a_burst_of_wrong_passwords_is_checked_only_up_to_the_limit(live_server: str, service: Service) -> None:
    limit = service.settings.login_max_failures
    statuses = burst(live_server, [("alice", f"wrong guess {i}", "203.0.113.1") for i in range(BURST)])
    assert sorted(statuses) == [401] * limit + [429] * (BURST - limit)


def test_the_right_password_hidden_in_a_burst_of_guesses_does_not_get_past_the_limit(
    live_server: str, service: Service
) -> None:
    """Nineteen wrong passwords and the right one at once: most are refused unchecked.

    Up to `limit` attempts pass the throttle; if the right one is among them its success forgets the failures
    already settled (not those still in flight), so late arrivals get at most one more allowance: never more
    than 2 * limit - 1 wrong passwords are checked, and at least BURST - 2 * limit attempts are refused."""
    limit = service.settings.login_max_failures
    attempts = [("alice", f"wrong guess {i}", "203.0.113.2") for i in range(BURST - 1)]
    attempts.append(("alice", PASSWORDS["alice"], "203.0.113.2"))
    statuses = burst(live_server, attempts)
    assert statuses.count(401) <= 2 * limit - 1, statuses
    assert statuses.count(429) >= BURST - 2 * limit, statuses
    assert set(statuses) <= {200, 401, 429}, statuses


def test_a_burst_from_many_addresses_is_stopped_by_the_accounts_own_limit(live_server: str) -> None:
    attempts = [("alice", f"wrong guess {i}", f"198.51.100.{i}") for i in range(BURST + 4)]
    statuses = burst(live_server, attempts)
    assert sorted(statuses) == [401] * LIVE_ACCOUNT_LIMIT + [429] * (BURST + 4 - LIVE_ACCOUNT_LIMIT)
    # bob's account is another count: one of the same addresses still gets him in
    assert burst(live_server, [("bob", PASSWORDS["bob"], "198.51.100.1")]) == [200]


def test_a_burst_for_an_unknown_name_is_answered_like_one_for_a_known_name(live_server: str) -> None:
    known = burst(live_server, [("alice", f"wrong guess {i}", "203.0.113.3") for i in range(BURST)])
    unknown = burst(live_server, [("no-such-user", f"wrong guess {i}", "203.0.113.4") for i in range(BURST)])
    assert sorted(known) == sorted(unknown)


def test_a_locked_accounts_signed_in_clients_keep_working(live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=120) as client:
        signed_in = client.post("/api/v1/auth/token", data={"username": "alice", "password": PASSWORDS["alice"]})
        token = signed_in.json()["access_token"]
    statuses = burst(live_server, [("alice", f"wrong guess {i}", f"198.51.100.{i}") for i in range(BURST)])
    assert 429 in statuses
    right = burst(live_server, [("alice", PASSWORDS["alice"], "192.0.2.50")])
    assert right == [429]  # the account is locked for new logins...
    with httpx.Client(base_url=live_server, timeout=120) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200  # ...and its token still works
    assert me.json()["username"] == "alice"
