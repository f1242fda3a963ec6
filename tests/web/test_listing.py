"""The grid's query parameters: one rule for a filter sent empty, in the page and the API alike."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from jobdeck import model
from tests.web.conftest import sign_in

GRID = "/settings/maintenance/jobs"
MakeJob = Callable[..., model.Job]
#: What the grid's filter form submits without scripts when nothing is chosen: every field, most of them empty.
PLAIN_FORM = {
    "tab": "general",
    "sort": "id",
    "order": "desc",
    "q": "",
    "status": "",
    "type": "",
    "run_by": "",
    "from": "",
    "to": "",
    "limit": "50",
}


def test_the_grids_form_submitted_with_empty_filters_lists_every_job(
    client: TestClient, alice: model.User, make_job: MakeJob
) -> None:
    job = make_job(alice, "t_echo")
    sign_in(client, "alice")
    response = client.get(GRID, params=PLAIN_FORM)
    assert response.status_code == 200, response.text
    assert [j.id for j in response.context["jobs"]] == [job.id]  # type: ignore[attr-defined]
    assert response.context["filtered"] is False  # type: ignore[attr-defined]


def test_the_api_reads_an_empty_filter_as_no_filter(
    client: TestClient, alice_h: dict[str, str], alice: model.User, make_job: MakeJob
) -> None:
    job = make_job(alice, "t_echo")
    response = client.get("/api/v1/jobs", params={**PLAIN_FORM, "tab": ""}, headers=alice_h)
    assert response.status_code == 200, response.text
    assert [r["id"] for r in response.json()["items"]] == [job.id]


def test_a_date_filter_that_is_not_empty_is_still_checked(client: TestClient, alice_h: dict[str, str]) -> None:
    response = client.get("/api/v1/jobs", params={"from": "yesterday", "to": ""}, headers=alice_h)
    assert response.status_code == 422
    assert "from" in response.json()["detail"]
