"""jobdeck mounted in a host application under /admin/jobs: a host FastAPI app with a sign-in of its own,
served by a real uvicorn on a free port, over this test's database."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

import jobdeck
from jobdeck import model
from jobdeck.service import Service
from jobdeck.store import workers as worker_rows
from tests.conftest import wait_for

PREFIX = "/admin/jobs"
GRID = PREFIX + "/settings/maintenance/jobs"
#: The host's own accounts: who is signed in is a cookie of the host's (it is a test), and ada is its admin.
HOST_ADMINS = {"ada"}


def who_is_signed_in(request: Request) -> jobdeck.HostUser | None:
    name = request.cookies.get("host_user")
    if not name:
        return None
    return jobdeck.HostUser(username=name, display_name=name.title(), is_admin=name in HOST_ADMINS)


def to_the_hosts_sign_in(request: Request) -> Response:
    return RedirectResponse("/sign-in?then=" + request.url.path, status_code=303)


def host_app(service: Service, *, workers: bool, password_login: bool = False) -> FastAPI:
    host = FastAPI()

    @host.get("/sign-in")
    def sign_in_page() -> dict[str, str]:
        return {"page": "the host's sign-in"}

    jobdeck.mount(
        host,
        PREFIX,
        current_user=who_is_signed_in,
        unauthenticated=to_the_hosts_sign_in,
        service=service,
        workers=workers,
        password_login=password_login,
    )
    return host


class Served:
    """A real uvicorn serving an application in a thread of this process, on a free port."""

    def __init__(self, app: FastAPI) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the host application never started"
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(60)

    def client(self, user: str | None) -> httpx.Client:
        cookies = {"host_user": user} if user else {}
        return httpx.Client(base_url=self.url, cookies=cookies, follow_redirects=False, timeout=60)


@pytest.fixture
def host(service: Service) -> Iterator[Served]:
    with Served(host_app(service, workers=False)) as served:
        yield served


def links_of(html: str) -> list[str]:
    return re.findall(r'(?:href|action|src)="([^"]*)"', html)


def csrf_of(html: str) -> str:
    """The page's CSRF token: in its forms, and in a meta tag for the host's scripts."""
    found = re.search(r'name="csrf[-_]token" (?:value|content)="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def test_every_link_form_and_asset_of_the_grid_starts_with_the_prefix(host: Served, service: Service) -> None:
    with host.client("alice") as alice:
        service.start_job(service.accounts.adopt("alice"), "t_echo", {"text": "hi"})
        page = alice.get(GRID)
        assert page.status_code == 200, page.text
        links = [link for link in links_of(page.text) if not link.startswith("#")]
        assert links, "the grid has no links"
        assert [link for link in links if not link.startswith(PREFIX + "/")] == []
        for asset in (link for link in links if "/static/" in link):
            assert alice.get(asset).status_code == 200, asset


def test_the_hosts_users_become_jobdeck_users_and_the_page_says_who_is_signed_in(
    host: Served, service: Service
) -> None:
    with host.client("alice") as alice:
        page = alice.get(GRID)
    assert "Alice" in page.text
    assert "Sign out" not in page.text  # the host signs its users out, not jobdeck
    user = service.accounts.user("alice")
    assert (user.display_name, user.is_admin) == ("Alice", False)


def test_the_csrf_seed_cookie_is_scoped_to_the_prefix(host: Served) -> None:
    with host.client("alice") as alice:
        page = alice.get(GRID)
    (cookie,) = [c for c in page.headers.get_list("set-cookie") if c.startswith("jobdeck_csrf_seed=")]
    assert f"Path={PREFIX}" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_with_password_login_asked_for_jobdecks_own_sign_in_works_under_the_prefix(
    service: Service, alice: model.User
) -> None:
    with Served(host_app(service, workers=False, password_login=True)) as served, served.client(None) as browser:
        asked = browser.get(GRID)
        assert asked.status_code == 303
        assert asked.headers["location"] == f"{PREFIX}/login?next=%2Fadmin%2Fjobs%2Fsettings%2Fmaintenance%2Fjobs"
        form = browser.get(asked.headers["location"])
        assert f'action="{PREFIX}/login"' in form.text
        signed = browser.post(
            PREFIX + "/login",
            data={
                "username": "alice",
                "password": "alice's long password",
                "csrf_token": csrf_of(form.text),
                "next": GRID,
            },
        )
        assert signed.status_code == 303 and signed.headers["location"] == GRID
        (cookie,) = [c for c in signed.headers.get_list("set-cookie") if c.startswith("jobdeck_session=")]
        assert f"Path={PREFIX};" in cookie or cookie.endswith(f"Path={PREFIX}")
        assert browser.get(GRID).status_code == 200


def test_a_jobs_file_downloads_under_the_prefix(host: Served, service: Service) -> None:
    job = service.start_job(service.accounts.adopt("alice"), "t_steps", {"n": 1})
    service.worker(concurrency=1).run(burst=True)
    with host.client("alice") as alice:
        detail = alice.get(f"{GRID}/{job.id}")
        (download,) = [link for link in links_of(detail.text) if "/files/" in link]
        assert download.startswith(PREFIX + "/api/v1/jobs/")
        answer = alice.get(download)
    assert answer.status_code == 200
    assert answer.content == b"hello world"
    assert "attachment" in answer.headers["content-disposition"]


def test_a_form_post_is_refused_without_the_csrf_token_and_accepted_with_it(
    host: Served, service: Service, admin: model.User
) -> None:
    job = service.start_job(service.accounts.adopt("alice"), "t_echo", {"text": "to cancel"})
    with host.client("alice") as alice:
        token = csrf_of(alice.get(f"{GRID}/{job.id}").text)
        refused = alice.post(f"{GRID}/{job.id}/cancel", data={})
        assert refused.status_code == 403
        assert service.get_job(admin, job.id).status is model.Status.QUEUED
        accepted = alice.post(f"{GRID}/{job.id}/cancel", data={"csrf_token": token})
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"{GRID}/{job.id}"
    assert service.get_job(admin, job.id).status is model.Status.CANCELLED


def test_an_api_call_is_refused_without_the_csrf_header_and_accepted_with_it(host: Served, service: Service) -> None:
    with host.client("alice") as alice:
        token = csrf_of(alice.get(GRID).text)
        body = {"type": "t_echo", "params": {"text": "from the API"}}
        assert alice.post(PREFIX + "/api/v1/jobs", json=body).status_code == 403
        started = alice.post(PREFIX + "/api/v1/jobs", json=body, headers={"X-CSRF-Token": token})
    assert started.status_code == 202, started.text
    assert started.headers["location"] == f"{PREFIX}/api/v1/jobs/{started.json()['id']}"


def test_a_csrf_token_of_one_host_user_is_worth_nothing_for_another(host: Served) -> None:
    with host.client("alice") as alice:
        token = csrf_of(alice.get(GRID).text)
        seed = alice.cookies["jobdeck_csrf_seed"]
    with host.client("bob") as bob:
        bob.cookies.set("jobdeck_csrf_seed", seed)
        body = {"type": "t_echo", "params": {}}
        assert bob.post(PREFIX + "/api/v1/jobs", json=body, headers={"X-CSRF-Token": token}).status_code == 403


def test_the_hosts_ordinary_user_sees_only_their_jobs_and_its_admin_sees_all(host: Served, service: Service) -> None:
    mine = service.start_job(service.accounts.adopt("alice"), "t_echo", {"text": "alice's"})
    theirs = service.start_job(service.accounts.adopt("bob"), "t_echo", {"text": "bob's"})
    with host.client("alice") as alice, host.client("ada") as ada:
        seen_by_alice = [j["id"] for j in alice.get(PREFIX + "/api/v1/jobs").json()["items"]]
        seen_by_ada = [j["id"] for j in ada.get(PREFIX + "/api/v1/jobs").json()["items"]]
        assert alice.get(f"{GRID}/{theirs.id}").status_code == 404
    assert seen_by_alice == [mine.id]
    assert seen_by_ada == [theirs.id, mine.id]


def test_a_request_without_a_host_user_gets_the_hosts_answer_never_jobdecks_login(host: Served) -> None:
    with host.client(None) as nobody:
        page = nobody.get(GRID + "?tab=imports")
        api = nobody.get(PREFIX + "/api/v1/jobs")
        login = nobody.get(PREFIX + "/login")
        token = nobody.post(PREFIX + "/api/v1/auth/token", data={"username": "alice", "password": "x" * 20})
    assert page.status_code == 303
    assert page.headers["location"] == f"/sign-in?then={GRID}"
    assert api.status_code == 401 and api.headers["content-type"] == "application/problem+json"
    assert login.status_code == 404 and token.status_code == 404  # jobdeck's own password sign-in is off


def test_the_embedded_workers_start_and_stop_with_the_hosts_lifespan(service: Service, admin: model.User) -> None:
    job = service.start_job(service.accounts.adopt("alice"), "t_steps", {"n": 2})
    with Served(host_app(service, workers=True)):
        wait_for(lambda: service.get_job(admin, job.id).status is model.Status.COMPLETED, timeout=120)
    with service.db.read() as conn:  # stopped with the host: the worker row is gone
        assert worker_rows.live(conn, within_s=3600) == []
