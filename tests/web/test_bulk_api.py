"""Bulk actions, the export and the audit trail over HTTP: the API (token or session), and the grid's pages."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable

import sqlalchemy as sa
from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.service import Service
from jobdeck.store import schema
from tests.web.conftest import sign_in

MakeJob = Callable[..., model.Job]
GRID = "/settings/maintenance/jobs"
QUEUED = {"status": "queued"}


def status_of(service: Service, admin: model.User, job: model.Job) -> str:
    return service.get_job(admin, job.id).status.value


# -- the API ---------------------------------------------------------------------------------------
def test_the_count_holds_only_the_callers_jobs_unless_they_are_an_admin(
    client: TestClient, alice_h: dict[str, str], admin_h: dict[str, str], bob: model.User, make_job: MakeJob
) -> None:
    alice = client.get("/api/v1/me", headers=alice_h).json()
    assert alice["username"] == "alice"
    make_job(None, "t_echo")
    make_job(bob, "t_echo")
    response = client.get("/api/v1/jobs/count", params=QUEUED, headers=alice_h)
    assert response.status_code == 200 and response.json() == {"count": 0}
    assert client.get("/api/v1/jobs/count", params=QUEUED, headers=admin_h).json() == {"count": 2}


def test_an_ordinary_users_bulk_cancel_answers_its_counts_and_spares_other_users_jobs(
    client: TestClient,
    service: Service,
    alice_h: dict[str, str],
    alice: model.User,
    bob: model.User,
    admin: model.User,
    make_job: MakeJob,
) -> None:
    mine = [make_job(alice, "t_echo") for _ in range(2)]
    theirs = make_job(bob, "t_echo")
    response = client.post("/api/v1/jobs/cancel", params={**QUEUED, "confirm": 2}, headers=alice_h)
    assert response.status_code == 200, response.text
    assert response.json() == {"matched": 2, "acted": 2, "skipped": 0}
    assert [status_of(service, admin, j) for j in mine] == ["cancelled", "cancelled"]
    assert status_of(service, admin, theirs) == "queued"


def test_an_admins_bulk_retry_retries_every_matching_failed_job(
    client: TestClient,
    service: Service,
    admin_h: dict[str, str],
    alice: model.User,
    bob: model.User,
    make_job: MakeJob,
    run_jobs: Callable[[], None],
) -> None:
    failed = [make_job(u, "t_fail_always") for u in (alice, bob)]
    run_jobs()
    response = client.post("/api/v1/jobs/retry", params={"status": "failed", "confirm": 2}, headers=admin_h)
    assert response.json() == {"matched": 2, "acted": 2, "skipped": 0}
    queued = client.get("/api/v1/jobs", params=QUEUED, headers=admin_h).json()["items"]
    assert sorted(j["run_by"] for j in queued) == ["alice", "bob"]
    for job in failed:
        [event] = client.get(f"/api/v1/jobs/{job.id}", headers=admin_h).json()["events"]
        assert (event["actor"], event["action"]) == ("ada", "bulk_retry")


def test_a_confirm_other_than_the_count_is_409_with_the_count_and_changes_nothing(
    client: TestClient,
    service: Service,
    admin_h: dict[str, str],
    alice: model.User,
    admin: model.User,
    make_job: MakeJob,
) -> None:
    jobs = [make_job(alice, "t_echo") for _ in range(3)]
    response = client.post("/api/v1/jobs/cancel", params={**QUEUED, "confirm": 2}, headers=admin_h)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["count"] == 3
    assert "nothing was done" in response.json()["detail"]
    assert [status_of(service, admin, j) for j in jobs] == ["queued"] * 3


def test_a_bulk_action_without_confirm_is_refused(client: TestClient, admin_h: dict[str, str]) -> None:
    for action in ("cancel", "retry"):
        response = client.post(f"/api/v1/jobs/{action}", params=QUEUED, headers=admin_h)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "confirm"


def test_a_session_caller_needs_the_csrf_header_for_a_bulk_action(
    client: TestClient, alice: model.User, make_job: MakeJob
) -> None:
    make_job(alice, "t_echo")
    token = sign_in(client, "alice")
    refused = client.post("/api/v1/jobs/cancel", params={**QUEUED, "confirm": 1})
    assert refused.status_code == 403
    allowed = client.post("/api/v1/jobs/cancel", params={**QUEUED, "confirm": 1}, headers={"X-CSRF-Token": token})
    assert allowed.json()["acted"] == 1


def test_the_export_is_a_protected_csv_of_the_callers_matching_jobs(
    client: TestClient, service: Service, alice_h: dict[str, str], alice: model.User, bob: model.User
) -> None:
    job = service.start_job(alice, "t_echo", {"text": "x"})
    service.start_job(bob, "t_echo")
    with service.db.write() as conn:
        conn.execute(sa.update(schema.jobs).where(schema.jobs.c.id == job.id).values(description="=HYPERLINK(1)"))
    response = client.get("/api/v1/jobs/export.csv", params=QUEUED, headers=alice_h)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="jobs.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert rows == [
        ["Status", "Job ID", "Job", "Description", "Start", "End", "Failed", "Run By"],
        ["Queued", str(job.id), "Echo", "'=HYPERLINK(1)", "", "", "", "alice"],
    ]
    assert '"\'=HYPERLINK(1)"' in response.text


def test_the_job_detail_lists_who_cancelled_it_and_when(
    client: TestClient, alice_h: dict[str, str], alice: model.User, make_job: MakeJob
) -> None:
    job = make_job(alice, "t_echo")
    client.post(f"/api/v1/jobs/{job.id}/cancel", headers=alice_h)
    [event] = client.get(f"/api/v1/jobs/{job.id}", headers=alice_h).json()["events"]
    assert (event["actor"], event["action"], event["detail"]) == ("alice", "cancel", "")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", event["at"])


# -- the pages -------------------------------------------------------------------------------------
def test_the_filtered_grid_offers_the_export_and_the_bulk_actions_with_its_filters(
    client: TestClient, alice: model.User
) -> None:
    sign_in(client, "alice")
    plain = client.get(GRID).text
    assert "Export CSV" in plain and "Cancel matching" not in plain
    page = html.unescape(client.get(GRID, params={"status": "failed", "type": "t_echo"}).text)
    export = re.search(r'href="(/api/v1/jobs/export\.csv\?[^"]+)"', page)
    cancel = re.search(rf'href="({GRID}/cancel\?[^"]+)"', page)
    retry = re.search(rf'href="({GRID}/retry\?[^"]+)"', page)
    assert export and cancel and retry
    for link in (export.group(1), cancel.group(1), retry.group(1)):
        assert "status=failed" in link and "type=t_echo" in link and "tab=general" in link


def test_the_confirmation_says_how_many_jobs_and_its_post_cancels_them(
    client: TestClient, service: Service, alice: model.User, bob: model.User, admin: model.User, make_job: MakeJob
) -> None:
    mine = [make_job(alice, "t_echo") for _ in range(2)]
    theirs = make_job(bob, "t_echo")
    csrf = sign_in(client, "alice")
    page = client.get(f"{GRID}/cancel", params=QUEUED)
    assert page.status_code == 200
    assert "Cancel 2 jobs?" in page.text
    assert 'name="confirm" value="2"' in page.text
    done = client.post(f"{GRID}/cancel", params=QUEUED, data={"csrf_token": csrf, "confirm": "2"})
    assert done.status_code == 200
    assert "<strong>2</strong> of 2 matching jobs cancelled" in done.text
    assert [status_of(service, admin, j) for j in mine] == ["cancelled", "cancelled"]
    assert status_of(service, admin, theirs) == "queued"


def test_the_confirmation_post_without_the_csrf_token_is_refused(
    client: TestClient, service: Service, alice: model.User, admin: model.User, make_job: MakeJob
) -> None:
    job = make_job(alice, "t_echo")
    sign_in(client, "alice")
    response = client.post(f"{GRID}/cancel", params=QUEUED, data={"confirm": "1"})
    assert response.status_code == 403
    assert status_of(service, admin, job) == "queued"


def test_a_count_that_changed_shows_the_confirmation_again_with_the_new_count(
    client: TestClient, service: Service, alice: model.User, admin: model.User, make_job: MakeJob
) -> None:
    jobs = [make_job(alice, "t_echo") for _ in range(3)]
    csrf = sign_in(client, "alice")
    response = client.post(f"{GRID}/cancel", params=QUEUED, data={"csrf_token": csrf, "confirm": "2"})
    assert response.status_code == 409
    assert "Cancel 3 jobs?" in response.text and "nothing was done" in response.text
    assert [status_of(service, admin, j) for j in jobs] == ["queued"] * 3


def test_the_detail_view_shows_the_history(client: TestClient, alice: model.User, make_job: MakeJob) -> None:
    job = make_job(alice, "t_echo")
    csrf = sign_in(client, "alice")
    client.post(f"{GRID}/{job.id}/cancel", data={"csrf_token": csrf})
    page = client.get(f"{GRID}/{job.id}").text
    history = page[page.index('id="history-heading"') :]
    assert re.search(r"<td><time datetime=\"[^\"]+Z\">[^<]+ UTC</time></td><td>alice</td><td>Cancelled</td>", history)


def test_the_export_link_works_with_the_session_cookie(
    client: TestClient, alice: model.User, make_job: MakeJob
) -> None:
    job = make_job(alice, "t_echo")
    sign_in(client, "alice")
    response = client.get("/api/v1/jobs/export.csv", params={"tab": "general"})
    assert response.status_code == 200
    assert f'"{job.id}"' in response.text
