"""The access matrix (S2): each cell of access_matrix.txt, route x caller x object, answers its expected status."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.service import Service
from tests.web.conftest import PASSWORDS, app_routes, bearer, sign_in

MATRIX = pathlib.Path(__file__).with_name("access_matrix.txt")
CALLERS = ["anonymous", "owner", "other", "admin"]
USERNAMES = {"owner": "alice", "other": "bob", "admin": "ada"}
CSV = ("people.csv", b"first_name,last_name,email\nA,B,a@example.com\n", "text/csv")
MISSING_ID = 987_654
#: The routes that act on every job a filter matches.
BULK = {f"{base}/{action}" for base in ("/api/v1/jobs", "/settings/maintenance/jobs") for action in ("cancel", "retry")}


@dataclasses.dataclass(frozen=True)
class Cell:
    method: str
    route: str  #: the path with its variant ("#admin-type")
    target: str  #: owner's, other's, admin's, missing, or -
    caller: str
    expected: str

    @property
    def path(self) -> str:
        return self.route.split("#")[0]

    @property
    def variant(self) -> str:
        return self.route.partition("#")[2]


def read_matrix() -> list[Cell]:
    cells = []
    for line in MATRIX.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        method, route, target, *statuses = line.split()
        assert len(statuses) == len(CALLERS), line
        cells += [Cell(method, route, target, c, s) for c, s in zip(CALLERS, statuses, strict=True)]
    return cells


CELLS = read_matrix()


def test_every_route_of_the_app_is_in_the_matrix(app: FastAPI) -> None:
    listed = {(c.method, c.path) for c in CELLS}
    missing = app_routes(app) - listed
    assert not missing, f"routes with no expected access in {MATRIX.name}: {sorted(missing)}"
    assert not listed - app_routes(app), "the matrix names routes the app does not have"


def test_every_route_about_a_job_covers_every_object() -> None:
    for method, route in {(c.method, c.route) for c in CELLS if c.target != "-"}:
        targets = {c.target for c in CELLS if (c.method, c.route) == (method, route)}
        expected = {"owner's", "other's", "admin's"} | ({"missing"} if "{job_id}" in route else set())
        assert targets == expected, (method, route)


class World:
    """The users, their jobs in the states each route needs, and clients signed in as each caller."""

    def __init__(self, app: FastAPI, service: Service, users: dict[str, model.User]) -> None:
        self.app, self.service, self.users = app, service, users
        self.done: dict[str, model.Job] = {}
        self.failed: dict[str, model.Job] = {}
        for key, owner in (("owner's", "owner"), ("other's", "other"), ("admin's", "admin")):
            self.done[key] = service.start_job(users[owner], "t_steps", {"n": 1})
            self.failed[key] = service.start_job(users[owner], "t_fail_always", {})
        service.worker(1).run(burst=True)
        self.files = {
            k: service.job_detail(None if False else users["admin"], j.id).files[0].id for k, j in self.done.items()
        }
        self.clients: dict[str, TestClient] = {}
        self.tokens: dict[str, dict[str, str]] = {}
        self.csrf: dict[str, str] = {}
        for caller in CALLERS:
            client = TestClient(app, follow_redirects=False)
            if caller != "anonymous":
                self.csrf[caller] = sign_in(client, USERNAMES[caller])
                self.tokens[caller] = bearer(client, USERNAMES[caller])
            self.clients[caller] = client

    def owner_of(self, target: str) -> model.User:
        return self.users[{"owner's": "owner", "other's": "other", "admin's": "admin"}[target]]

    def job_for(self, cell: Cell) -> int:
        if cell.target == "missing":
            return MISSING_ID
        if cell.path.endswith("/cancel"):  # a fresh queued job each time: cancelling changes it
            return self.service.start_job(self.owner_of(cell.target), "t_echo", {}).id
        if cell.path.endswith("/retry"):
            return self.failed[cell.target].id
        return self.done[cell.target].id

    def call(self, cell: Cell) -> tuple[int, Any]:
        client = self.clients[cell.caller]
        job_id = self.job_for(cell) if cell.target != "-" else 0
        file_id = self.files.get(cell.target, 1)
        path = cell.path.replace("{job_id}", str(job_id)).replace("{file_id}", str(file_id))
        path = path.replace("{name}", "default" if "/queues/" in path else "contacts")
        if "{token_id}" in path:
            path = path.replace("{token_id}", str(self.fresh_token(cell)))
        if "{token}" in path:
            path = path.replace("{token}", self.staged_upload(cell))
        api = path.startswith("/api/")
        headers = dict(self.tokens.get(cell.caller, {})) if api else {}
        kwargs: dict[str, Any] = {}
        if cell.method == "POST":
            kwargs = self._body(cell, path)
            if not api and cell.caller in self.csrf:
                kwargs.setdefault("data", {})["csrf_token"] = self.csrf[cell.caller]
        if path in ("/settings/maintenance/jobs", "/api/v1/jobs"):
            path += "?tab=general&limit=100"
        if path == "/login" and cell.method == "POST":
            client = TestClient(self.app, follow_redirects=False)  # a fresh browser, to keep the caller signed in
            login = client.get("/login")
            kwargs["data"]["csrf_token"] = login.context["login_csrf"]
        if path == "/logout" and cell.caller != "anonymous":  # a separate session: the caller's stays signed in
            client = TestClient(self.app, follow_redirects=False)
            kwargs["data"]["csrf_token"] = sign_in(client, USERNAMES[cell.caller])
        response = client.request(cell.method, path, headers=headers, **kwargs)
        listed = None
        if (
            response.status_code == 200
            and cell.method == "GET"
            and cell.target != "-"
            and "{job_id}" not in cell.path
            and "{token}" not in cell.path
        ):
            wanted = self.done[cell.target].id
            if api:
                listed = wanted in [row["id"] for row in response.json()["items"]]
            else:
                listed = f'id="job-{wanted}"' in response.text
        return response.status_code, listed

    def fresh_token(self, cell: Cell) -> int:
        """A new token of the caller's own, or of the owner's for the "#owners-token" variant."""
        holder = "owner" if cell.variant == "owners-token" or cell.caller == "anonymous" else cell.caller
        user = self.users[holder]
        self.service.accounts.issue_token(user, "spare")
        return self.service.accounts.tokens_of(user)[0].id

    def staged_upload(self, cell: Cell) -> str:
        """A fresh upload waiting on the import page, staged by the object's owner in their session."""
        owner = {"owner's": "owner", "other's": "other", "admin's": "admin"}[cell.target]
        response = self.clients[owner].post(
            "/imports/new", data={"target": "contacts", "csrf_token": self.csrf[owner]}, files={"file": CSV}
        )
        assert response.status_code == 303, response.text
        return str(response.headers["location"]).rsplit("/", 1)[1]

    def _body(self, cell: Cell, path: str) -> dict[str, Any]:
        admin_type = cell.variant == "admin-type"
        if path == "/login":
            return {"data": {"username": "alice", "password": PASSWORDS["alice"]}}
        if path == "/logout":
            return {"data": {}}
        if path == "/api/v1/auth/token":
            name = USERNAMES.get(cell.caller, "alice")
            password = PASSWORDS[name] if cell.caller != "anonymous" else "not the password"
            return {"data": {"username": name, "password": password}}
        if path == "/settings/maintenance/start":
            return {"data": {"type": "purge_jobs" if admin_type else "noop"}}
        if path == "/api/v1/jobs":
            return {"json": {"type": "purge_jobs" if admin_type else "noop", "params": {}}}
        if path in BULK:  # a filter that matches no job, with its count: 0
            if path.startswith("/api/"):
                return {"params": {"q": "no such job", "confirm": 0}}
            return {"params": {"q": "no such job"}, "data": {"confirm": "0"}}
        if path in ("/imports/new", "/api/v1/imports", "/api/v1/imports/preview"):
            return {"data": {"target": "contacts"}, "files": {"file": CSV}}
        if path.startswith("/imports/"):
            return {"data": {"action": "preview"}}
        return {}


@pytest.fixture
def world(app: FastAPI, service: Service, alice: model.User, bob: model.User, admin: model.User) -> World:
    return World(app, service, {"owner": alice, "other": bob, "admin": admin})


def test_the_access_matrix_holds(world: World, run_jobs: Callable[[], None]) -> None:
    mismatches = []
    for cell in CELLS:
        status, listed = world.call(cell)
        got = str(status) + ("" if listed is None else "+" if listed else "-")
        if got != cell.expected:
            mismatches.append(
                f"{cell.method} {cell.route} [{cell.target}] as {cell.caller}: {got}, expected {cell.expected}"
            )
    print(f"access matrix: {len(CELLS)} cells checked")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("delta", [-1, 1, 1000])
def test_neighbouring_ids_of_a_users_job_are_404_to_them(
    client: TestClient, alice: model.User, bob: model.User, make_job: Callable[..., model.Job], delta: int
) -> None:
    alices = [make_job(alice, "t_echo").id for _ in range(3)]
    bobs = make_job(bob, "t_echo").id
    headers = bearer(client, "alice")
    probe = bobs + delta
    expected = 200 if probe in alices else 404
    assert client.get(f"/api/v1/jobs/{probe}", headers=headers).status_code == expected
    assert client.get(f"/api/v1/jobs/{bobs}", headers=headers).status_code == 404
