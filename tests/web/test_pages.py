"""The pages: each test checks the template and its context, with one look at the HTML the seed describes."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.service import Service
from tests.runner import kinds_retry
from tests.web.conftest import sign_in

GRID = "/settings/maintenance/jobs"
MakeJob = Callable[..., model.Job]
SEED_COLUMNS = ["Status", "Job ID", "Job", "Description", "Start", "End", "Failed", "Run By", "Actions"]
DETAIL_FIELDS = ["Job ID", "Job", "Job Description", "Start", "End", "Status", "Job Run By", "Job Run At"]


def headers_of(html: str) -> list[str]:
    cells = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', html, re.S)
    return [re.sub(r"<[^>]+>|[▲▼]", "", c).strip() for c in cells]


def test_the_root_goes_to_the_grid(client: TestClient) -> None:
    assert client.get("/").headers["location"] == GRID


def test_a_page_without_a_session_goes_to_the_login_page(client: TestClient) -> None:
    response = client.get(GRID + "?tab=imports")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fsettings%2Fmaintenance%2Fjobs%3Ftab%3Dimports"


def test_login_returns_to_the_page_asked_for_but_never_off_site(client: TestClient, alice: model.User) -> None:
    page = client.get("/login", params={"next": "https://evil.example/"})
    assert page.template.name == "login.html"  # type: ignore[attr-defined]
    assert page.context["next"] == GRID  # type: ignore[attr-defined]
    assert client.get("/login", params={"next": "//evil.example/x"}).context["next"] == GRID  # type: ignore[attr-defined]


def test_a_wrong_password_shows_the_login_page_again(client: TestClient, alice: model.User) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"username": "alice", "password": "nope nope", "csrf_token": token})
    assert response.status_code == 401
    assert response.template.name == "login.html"  # type: ignore[attr-defined]
    assert "Wrong username or password." in response.text


def test_the_grid_has_the_seeds_columns_and_tabs(
    client: TestClient, alice: model.User, make_job: MakeJob, run_jobs: Callable[[], None]
) -> None:
    make_job(alice, "t_steps")
    run_jobs()
    sign_in(client, "alice")
    response = client.get(GRID)
    assert response.template.name == "jobs.html"  # type: ignore[attr-defined]
    assert response.context["tab"] is model.Tab.GENERAL  # type: ignore[attr-defined]
    assert headers_of(response.text) == SEED_COLUMNS
    assert [label for _, label, _ in response.context["tabs"]] == ["General", "Imports"]  # type: ignore[attr-defined]
    assert 'aria-label="Main"' in response.text
    for item in ("Settings", "Application Maintenance", "Job Management"):
        assert item in response.text


def test_grid_rows_follow_the_seeds_rules(
    client: TestClient, service: Service, alice: model.User, make_job: MakeJob, run_jobs: Callable[[], None]
) -> None:
    done, failed = make_job(alice, "t_steps"), make_job(alice, "t_fail_always")
    run_jobs()
    running = make_job(alice, "t_echo")
    with service.db.write() as conn:  # as a worker would leave it mid-run
        conn.exec_driver_sql(f"UPDATE jobs SET status = 'in_progress', started_at = created_at WHERE id = {running.id}")
    sign_in(client, "alice")
    html = client.get(GRID).text
    rows = {int(m.group(1)): m.group(0) for m in re.finditer(r'<tr id="job-(\d+)".*?</tr>', html, re.S)}
    assert "Still in progress" in rows[running.id]
    assert 'data-live="true"' in rows[running.id]
    assert '<span class="sr-only">In Progress</span>' in rows[running.id]
    assert "Still in progress" not in rows[done.id]
    assert '<span class="sr-only">Completed</span>' in rows[done.id]
    assert '<span class="sr-only">Failed</span>' in rows[failed.id]
    failed_cells = re.findall(r'<td class="col-time">(.*?)</td>', rows[failed.id], re.S)
    done_cells = re.findall(r'<td class="col-time">(.*?)</td>', rows[done.id], re.S)
    assert "<time" in failed_cells[2] and done_cells[2] == ""
    assert ">alice<" in rows[done.id]
    assert f'href="{GRID}/{done.id}"' in rows[done.id]
    assert 'title="Details of job' in rows[done.id]


def test_the_imports_tab_shows_imports_only(
    client: TestClient, service: Service, alice: model.User, make_job: MakeJob
) -> None:
    general = make_job(alice, "t_echo")
    sign_in(client, "alice")
    imports = client.get(GRID, params={"tab": "imports"})
    assert imports.context["tab"] is model.Tab.IMPORTS  # type: ignore[attr-defined]
    assert imports.context["jobs"] == []  # type: ignore[attr-defined]
    assert "No jobs yet on this tab." in imports.text
    assert [j.id for j in client.get(GRID).context["jobs"]] == [general.id]  # type: ignore[attr-defined]


def test_run_by_filter_is_for_admins_only(client: TestClient, alice: model.User, admin: model.User) -> None:
    sign_in(client, "alice")
    assert 'id="run_by"' not in client.get(GRID).text
    sign_in(client, "ada")
    assert 'id="run_by"' in client.get(GRID).text


def test_filters_keep_their_values_and_an_empty_result_says_so(client: TestClient, alice: model.User) -> None:
    sign_in(client, "alice")
    response = client.get(GRID, params={"q": "nothing like this", "status": "failed"})
    assert response.context["filtered"] is True  # type: ignore[attr-defined]
    assert 'value="nothing like this"' in response.text
    assert "No jobs match these filters." in response.text


def test_a_bad_grid_parameter_shows_an_error_page(client: TestClient, alice: model.User) -> None:
    sign_in(client, "alice")
    response = client.get(GRID, params={"sort": "password_hash"})
    assert response.status_code == 422
    assert response.template.name == "error.html"  # type: ignore[attr-defined]
    assert "sort" in response.context["detail"]  # type: ignore[attr-defined]


def test_the_grid_pages_by_keyset(client: TestClient, alice: model.User, make_job: MakeJob) -> None:
    made = [make_job(alice, "t_echo").id for _ in range(30)]
    sign_in(client, "alice")
    first = client.get(GRID, params={"limit": 25})
    assert len(first.context["jobs"]) == 25  # type: ignore[attr-defined]
    second = client.get(first.context["next_url"])  # type: ignore[attr-defined]
    assert [j.id for j in second.context["jobs"]] == sorted(made)[:5][::-1]  # type: ignore[attr-defined]
    assert second.context["next_url"] is None  # type: ignore[attr-defined]


def test_descriptions_are_escaped(client: TestClient, alice: model.User, make_job: MakeJob) -> None:
    make_job(alice, "t_echo", {"text": '<script>alert(1)</script><img src=x onerror="alert(2)">'})
    sign_in(client, "alice")
    html = client.get(GRID).text
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_the_detail_view_shows_the_seeds_fields(
    client: TestClient, alice: model.User, make_job: MakeJob, run_jobs: Callable[[], None]
) -> None:
    job = make_job(alice, "t_steps", {"n": 2})
    run_jobs()
    sign_in(client, "alice")
    response = client.get(f"{GRID}/{job.id}")
    assert response.template.name == "job.html"  # type: ignore[attr-defined]
    assert response.context["job"].id == job.id  # type: ignore[attr-defined]
    assert response.context["title"] == "Steps"  # type: ignore[attr-defined]
    labels = re.findall(r"<dt>(.*?)</dt>", response.text)
    assert [label for label in labels if label in DETAIL_FIELDS] == DETAIL_FIELDS
    assert '<a href="/settings/maintenance">/settings/maintenance</a>' in response.text
    assert "<h2>Output Files</h2>" in response.text
    assert "Task name" in response.text and "Timestamp" in response.text
    assert response.context["can_cancel"] is False  # type: ignore[attr-defined]
    assert response.context["can_retry"] is False  # type: ignore[attr-defined]


def test_a_failed_jobs_detail_shows_its_error_the_failing_subtask_and_retry(
    client: TestClient, alice: model.User, make_job: MakeJob, run_jobs: Callable[[], None]
) -> None:
    job = make_job(alice, "t_fail_always")
    run_jobs()
    sign_in(client, "alice")
    response = client.get(f"{GRID}/{job.id}")
    assert "boom: the input was bad" in response.text
    assert 'class="row-failed"' in response.text
    assert "failed here" in response.text
    assert response.context["can_retry"] is True  # type: ignore[attr-defined]
    assert f'action="{GRID}/{job.id}/retry"' in response.text


def test_a_queued_jobs_detail_offers_cancel(client: TestClient, alice: model.User, make_job: MakeJob) -> None:
    job = make_job(alice, "t_echo")
    csrf = sign_in(client, "alice")
    response = client.get(f"{GRID}/{job.id}")
    assert response.context["can_cancel"] is True  # type: ignore[attr-defined]
    cancelled = client.post(f"{GRID}/{job.id}/cancel", data={"csrf_token": csrf})
    assert cancelled.status_code == 303
    assert "Cancelled" in client.get(f"{GRID}/{job.id}").text


def test_retry_from_the_page_opens_the_new_job(
    client: TestClient, alice: model.User, make_job: MakeJob, run_jobs: Callable[[], None]
) -> None:
    job = make_job(alice, "t_fail_always")
    run_jobs()
    csrf = sign_in(client, "alice")
    response = client.post(f"{GRID}/{job.id}/retry", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] != f"{GRID}/{job.id}"


def test_another_users_job_page_is_404(
    client: TestClient, alice: model.User, bob: model.User, make_job: MakeJob
) -> None:
    job = make_job(alice, "t_echo")
    sign_in(client, "bob")
    response = client.get(f"{GRID}/{job.id}")
    assert response.status_code == 404
    assert response.template.name == "error.html"  # type: ignore[attr-defined]


def test_maintenance_lists_the_operations_and_starts_one(client: TestClient, alice: model.User) -> None:
    csrf = sign_in(client, "alice")
    page = client.get("/settings/maintenance")
    assert page.template.name == "maintenance.html"  # type: ignore[attr-defined]
    names = [op["type"].name for op in page.context["operations"]]  # type: ignore[attr-defined]
    assert {"noop", "sleep", "fail"} <= set(names)
    started = client.post(
        "/settings/maintenance/start",
        data={"csrf_token": csrf, "type": "sleep", "p_seconds": "0.5", "p_steps": "2"},
    )
    assert started.status_code == 303
    detail = client.get(started.headers["location"])
    assert detail.context["job"].params == {"seconds": 0.5, "steps": 2}  # type: ignore[attr-defined]
    assert detail.context["job"].run_at == "/settings/maintenance"  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["ten", "-5"])
def test_bad_operation_parameters_are_422(client: TestClient, alice: model.User, value: str) -> None:
    csrf = sign_in(client, "alice")
    response = client.post(
        "/settings/maintenance/start", data={"csrf_token": csrf, "type": "sleep", "p_seconds": value}
    )
    assert response.status_code == 422
    assert response.template.name == "error.html"  # type: ignore[attr-defined]


def test_the_import_page_shows_targets_columns_and_template(client: TestClient, alice: model.User) -> None:
    sign_in(client, "alice")
    page = client.get("/imports/new", params={"target": "contacts"})
    assert page.template.name == "import.html"  # type: ignore[attr-defined]
    assert page.context["chosen"]["name"] == "contacts"  # type: ignore[attr-defined]
    assert "<code>email</code>" in page.text
    assert 'href="/api/v1/import-targets/contacts/template"' in page.text
    assert 'name="on_error" value="fail"' in page.text


def test_every_page_loads_the_one_script_and_no_inline_script(
    client: TestClient, alice: model.User, make_job: MakeJob
) -> None:
    job = make_job(alice, "t_echo")
    pages = {"/login": client.get("/login").text}
    sign_in(client, "alice")
    for url in ("/settings/maintenance", GRID, f"{GRID}/{job.id}", "/imports/new"):
        pages[url] = client.get(url).text
    for url, html in pages.items():
        assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/jobdeck.js" defer>'], url
        assert " style=" not in html and " onclick=" not in html, url


def test_an_optional_number_parameter_is_an_empty_number_field(client: TestClient, admin: model.User) -> None:
    sign_in(client, "ada")
    page = client.get("/settings/maintenance")
    purge = next(op for op in page.context["operations"] if op["type"].name == "purge_jobs")  # type: ignore[attr-defined]
    [days] = purge["fields"]
    assert (days["name"], days["input"], days["default"], days["min"]) == ("days", "number", "", 1)


def test_the_detail_page_hides_the_traceback_from_the_owner(
    client: TestClient, alice: model.User, make_job: MakeJob, run_jobs: Callable[[], None]
) -> None:
    job = make_job(alice, "t_fail_always")
    run_jobs()
    sign_in(client, "alice")
    html = client.get(f"{GRID}/{job.id}").text
    assert "boom: the input was bad" in html
    assert "Traceback" not in html and ".py" not in html


def test_the_grid_says_when_a_delayed_job_is_scheduled_and_when_a_retry_comes(
    client: TestClient, service: Service, alice: model.User
) -> None:
    import datetime as dt

    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    scheduled = service.start_job(alice, "noop", not_before=later)
    retrying = service.start_job(alice, kinds_retry.LATER)
    service.worker(concurrency=1).run_once()  # the retrying job raises and waits out its backoff (seconds)
    sign_in(client, "alice")
    html = client.get(GRID).text
    row = re.search(rf'<tr id="job-{scheduled.id}".*?</tr>', html, re.S)
    assert row is not None and "Scheduled for " in row.group(0) and "Queued" in row.group(0)
    assert later.strftime("%H:%M") in row.group(0)
    row = re.search(rf'<tr id="job-{retrying.id}".*?</tr>', html, re.S)
    assert row is not None and "Queued" in row.group(0)
    assert re.search(r"Retrying at \d\d:\d\d — attempt 2 of 4", row.group(0)), row.group(0)


def test_the_detail_shows_the_attempts_table_and_the_retry_time(
    client: TestClient, service: Service, alice: model.User
) -> None:
    job = service.start_job(alice, kinds_retry.LATER)
    worker = service.worker(concurrency=1)
    worker.run_once()
    sign_in(client, "alice")
    html = client.get(f"{GRID}/{job.id}").text
    assert "Attempts" in html and "Failed, retried" in html and "boom on attempt 1" in html and worker.id in html
    assert re.search(r"Retrying at \d\d:\d\d — attempt 2 of 4", html)
