"""No value of any query or path parameter of any page or API route produces a 5xx (property-tested with
Hypothesis through the test client), and the values that once did are answered 200 or 422."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import strategies as st

from jobdeck import model
from jobdeck.web import api, auth_api, pages

GRID = "/settings/maintenance/jobs"
EXAMPLES_PER_ROUTE = 40


def cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


#: Values that broke a route once, or sit on a boundary: Unicode digits, huge numbers, forged cursors.
SPECIAL = [
    "¹",
    "²",
    "①",
    "٣",
    "-1",
    "0",
    "9" * 19,
    "9" * 40,
    "1e309",
    "true",
    "\x00",
    "2026-13-45",
    "0001-01-01",
    "9999-12-31T23:59:59+14:00",
    cursor("id", "desc", True, True),
    cursor("id", "desc", 2**70, 2**70),
    cursor("id", "desc", -1, -(2**64)),
    cursor("description", "desc", "a\x00b", 1),
    cursor("created_at", "desc", "0001-01-01T00:00:00", 1),
    cursor("created_at", "desc", 12, 1),
    cursor("run_by", "desc", None, 1),
]
VALUES = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=40), st.integers().map(str))


def walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from walk(sub)


def routes_with_parameters(app: FastAPI) -> list[tuple[str, list[str], list[tuple[str, bool]]]]:
    """(path, its path parameters, its query parameters with whether each repeats) of every GET route."""
    found = []
    for route in [*api.router.routes, *auth_api.router.routes, *pages.router.routes, *app.routes]:
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        dependants = list(walk(route.dependant))
        path_params = sorted({p.name for d in dependants for p in d.path_params})
        query = sorted({(p.alias, "list" in str(p.field_info.annotation)) for d in dependants for p in d.query_params})
        if path_params or query:
            found.append((route.path, path_params, query))
    return found


@pytest.fixture
def admin_client(as_user: Callable[[str], TestClient], admin: model.User, alice: model.User) -> TestClient:
    return as_user("ada")


def test_no_query_or_path_value_of_any_route_is_a_server_error(app: FastAPI, admin_client: TestClient) -> None:
    routes = routes_with_parameters(app)
    assert {GRID, "/api/v1/jobs", "/api/v1/jobs/{job_id}/files/{file_id}", "/login"} <= {r[0] for r in routes}
    for route in routes:
        exercise_route(admin_client, *route)


def exercise_route(client: TestClient, path: str, path_params: list[str], query: list[tuple[str, bool]]) -> None:
    """Hypothesis draws a value (or a few, for a repeated parameter) for every parameter, leaving some out."""

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        database=None,
    )
    @hypothesis.given(data=st.data())
    def exercise(data: st.DataObject) -> None:
        url = path
        for name in path_params:
            url = url.replace("{" + name + "}", urllib.parse.quote(data.draw(VALUES, label=name), safe=""))
        params: list[tuple[str, str]] = []
        for name, repeats in query:
            if data.draw(st.booleans(), label=f"send {name}"):
                drawn = data.draw(st.lists(VALUES, min_size=1, max_size=3) if repeats else VALUES, label=name)
                params += [(name, v) for v in (drawn if isinstance(drawn, list) else [drawn])]
        response = client.get(url, params=params)
        assert response.status_code < 500, (url, params, response.text[:300])

    exercise()


@pytest.mark.parametrize("q", ["¹", "²", "①"])
@pytest.mark.parametrize("path", ["/api/v1/jobs", GRID])
def test_a_search_for_a_unicode_digit_is_a_text_search(admin_client: TestClient, path: str, q: str) -> None:
    assert admin_client.get(path, params={"q": q}).status_code == 200


@pytest.mark.parametrize(
    "sort, forged",
    [
        ("id", cursor("id", "desc", True, True)),
        ("id", cursor("id", "desc", 2**70, 2**70)),
        ("description", cursor("description", "desc", "\x00", 1)),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/jobs", GRID])
def test_a_forged_cursor_is_422_on_the_api_and_the_page(
    admin_client: TestClient, path: str, sort: str, forged: str
) -> None:
    response = admin_client.get(path, params={"tab": "general", "cursor": forged, "sort": sort, "order": "desc"})
    assert response.status_code == 422
