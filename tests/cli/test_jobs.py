"""`jobdeck jobs list|show|cancel|retry|enqueue|stats`: the page's data and actions on the command line."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess  # nosec B404: the test runs jobdeck's own command
import sys

import pytest
from fastapi.testclient import TestClient

from jobdeck import model, views
from jobdeck.query import JobQuery
from jobdeck.service import Service
from jobdeck.web.app import create_app
from tests.cli.conftest import Run
from tests.conftest import wait_for

CONSOLE = model.User(0, "console", "Console", is_admin=True)

#: The passwords the shared fixtures (tests/conftest.py) give their users.
PASSWORDS = {"ada": "correct horse battery", "alice": "alice's long password"}

SUMMARY_KEYS = {"id", "type", "tab", "description", "status", "run_by", "progress"} | {
    "created_at", "started_at", "ended_at", "failed_at", "not_before", "attempt", "max_attempts", "waiting"
}  # fmt: skip
DETAIL_KEYS = SUMMARY_KEYS | {"run_at", "error", "files", "subtasks", "mapping", "title", "log", "events", "attempts"}


def drain(service: Service) -> None:
    service.worker(concurrency=2).run(burst=True)


# -- enqueue -----------------------------------------------------------------------------------
def test_enqueue_queues_a_system_job_and_prints_its_id(run: Run, service: Service) -> None:
    result = run("jobs", "enqueue", "sleep", "--param", "seconds=0.5", "--param", "steps=2")
    assert result.exit_code == 0, result.output
    job = service.get_job(model.User(0, "x", "x", is_admin=True), int(result.stdout))
    assert (job.status, job.run_by_id, job.params) == (model.Status.QUEUED, None, {"seconds": 0.5, "steps": 2})


def test_enqueue_in_seconds_delays_the_job_by_that_long(run: Run, service: Service) -> None:
    before = dt.datetime.now(dt.UTC)
    result = run("jobs", "enqueue", "noop", "--in", "600")
    assert result.exit_code == 0, result.output
    job = service.get_job(CONSOLE, int(result.stdout))
    assert job.status is model.Status.QUEUED and job.not_before is not None
    # by the database's clock, which runs with this machine's: generous bounds on a loaded machine
    assert before + dt.timedelta(seconds=590) <= job.not_before <= before + dt.timedelta(seconds=700)
    assert views.waiting(job) is not None and views.waiting(job).startswith("Scheduled for ")  # type: ignore[union-attr]


def test_enqueue_at_a_time_without_a_zone_takes_it_as_utc(run: Run, service: Service) -> None:
    result = run("jobs", "enqueue", "noop", "--at", "2099-12-01T14:05")
    job = service.get_job(CONSOLE, int(result.stdout))
    assert job.not_before == dt.datetime(2099, 12, 1, 14, 5, tzinfo=dt.UTC)
    with_zone = service.get_job(CONSOLE, int(run("jobs", "enqueue", "noop", "--at", "2099-12-01T15:05+01:00").stdout))
    assert with_zone.not_before == job.not_before


def test_enqueue_at_a_time_already_past_runs_the_job_now(run: Run, service: Service) -> None:
    job_id = int(run("jobs", "enqueue", "noop", "--at", "2020-01-01T00:00").stdout)
    assert service.worker(concurrency=1).run_once() == 1
    assert service.get_job(CONSOLE, job_id).status is model.Status.COMPLETED


def test_enqueue_at_a_time_that_is_not_iso_8601_is_a_usage_error(run: Run, service: Service) -> None:
    result = run("jobs", "enqueue", "noop", "--at", "tomorrow at noon")
    assert result.exit_code == 2 and "is not an ISO 8601 time" in result.output and "--at" in result.output
    assert service.stats().by_status.get("queued", 0) == 0


def test_enqueue_with_both_in_and_at_is_a_usage_error(run: Run) -> None:
    result = run("jobs", "enqueue", "noop", "--in", "5", "--at", "2099-01-01T00:00")
    assert result.exit_code == 2 and "--in or --at, not both" in result.output


def test_enqueue_count_with_a_delay_delays_every_job(run: Run, service: Service) -> None:
    assert run("jobs", "enqueue", "noop", "--count", "3", "--in", "3600").exit_code == 0
    assert service.worker(concurrency=4).run_once() == 0


def test_enqueue_keeps_json_types_and_plain_text_in_params(run: Run, service: Service) -> None:
    result = run("jobs", "enqueue", "t_echo", "--param", "text=hello world", "--param", "n=3", "--param", 'quoted="7"')
    job = service.get_job(model.User(0, "x", "x", is_admin=True), int(result.stdout))
    assert job.params == {"text": "hello world", "n": 3, "quoted": "7"}


def test_enqueue_count_queues_that_many_jobs(run: Run, service: Service) -> None:
    result = run("jobs", "enqueue", "noop", "--count", "250")
    assert result.exit_code == 0
    assert result.stdout.startswith("Queued 250 jobs")
    assert service.stats().by_status["queued"] == 250


def test_enqueue_as_a_user_records_them_as_run_by(run: Run, service: Service, alice: model.User) -> None:
    job_id = int(run("jobs", "enqueue", "t_echo", "--as", "alice").stdout)
    assert service.get_job(alice, job_id).run_by == "alice"


def test_enqueue_as_a_disabled_user_is_refused(run: Run, alice: model.User) -> None:
    run("users", "disable", "alice")
    result = run("jobs", "enqueue", "t_echo", "--as", "alice")
    assert result.exit_code == 1
    assert result.stderr == "Error: User 'alice' is disabled; `jobdeck users enable alice` first.\n"


def test_list_as_a_disabled_user_is_refused_rather_than_showing_their_jobs(
    run: Run, service: Service, alice: model.User
) -> None:
    service.start_job(alice, "t_echo")
    run("users", "disable", "alice")
    result = run("jobs", "list", "--as", "alice")
    assert result.exit_code == 1 and "disabled" in result.stderr
    assert result.stdout == ""


def test_enqueue_of_an_unknown_type_is_one_line(run: Run) -> None:
    result = run("jobs", "enqueue", "no_such_type")
    assert result.exit_code == 1
    assert result.stderr == "Error: No job type named 'no_such_type' is registered.\n"


def test_enqueue_with_invalid_params_names_the_parameter(run: Run, service: Service) -> None:
    result = run("jobs", "enqueue", "sleep", "--param", "seconds=-1")
    assert result.exit_code == 1
    assert "seconds" in result.stderr and result.stderr.count("\n") == 1
    assert service.stats().by_status["queued"] == 0


def test_enqueue_with_a_param_that_is_not_key_value_is_a_usage_error(run: Run) -> None:
    result = run("jobs", "enqueue", "noop", "--param", "oops")
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.stderr


def test_enqueue_as_an_unknown_user_is_an_error(run: Run) -> None:
    result = run("jobs", "--as", "nobody", "enqueue", "noop")
    assert result.exit_code == 1
    assert result.stderr == "Error: No user named 'nobody'.\n"


# -- list --------------------------------------------------------------------------------------
def test_list_json_is_the_api_page_shape(run: Run, service: Service, alice: model.User) -> None:
    service.start_job(alice, "t_steps", {"n": 2})
    drain(service)
    page = json.loads(run("jobs", "list", "--json").stdout)
    assert set(page) == {"items", "next_cursor"} and page["next_cursor"] is None
    [item] = page["items"]
    assert set(item) == SUMMARY_KEYS
    assert item["status"] == "completed" and item["run_by"] == "alice" and item["progress"] == {"done": 2, "total": 2}
    assert item["created_at"].endswith("Z") and item["ended_at"].endswith("Z")
    admin_view = service.list_jobs(model.User(0, "x", "x", is_admin=True), JobQuery())
    assert page == views.page(admin_view.items, admin_view.next_cursor)


def test_list_shows_the_grid_columns_with_the_page_words(run: Run, service: Service, alice: model.User) -> None:
    service.start_job(alice, "t_echo", {"text": "hi"})
    out = run("jobs", "list").stdout
    for column in ("Status", "Job ID", "Job", "Description", "Start", "End", "Failed", "Run By"):
        assert column in out
    assert "Queued" in out and "Echo hi" in out and "alice" in out


def test_list_as_a_user_shows_only_their_jobs(run: Run, service: Service, alice: model.User, bob: model.User) -> None:
    mine = service.start_job(alice, "t_echo", {"text": "mine"})
    service.start_job(bob, "t_echo", {"text": "theirs"})
    service.start_job(None, "noop")
    items = json.loads(run("jobs", "list", "--json", "--as", "alice").stdout)["items"]
    assert [i["id"] for i in items] == [mine.id]
    assert len(json.loads(run("jobs", "list", "--json").stdout)["items"]) == 3  # no --as: every job


def test_list_filters_by_status_type_and_text(run: Run, service: Service) -> None:
    service.start_job(None, "fail", {"message": "nope"})
    service.start_job(None, "t_echo", {"text": "needle"})
    drain(service)
    service.start_job(None, "noop")

    def ids(*args: str) -> list[str]:
        return [i["type"] for i in json.loads(run("jobs", "list", "--json", *args).stdout)["items"]]

    assert ids("--status", "failed") == ["fail"]
    assert sorted(ids("--status", "failed,queued")) == ["fail", "noop"]
    assert ids("--type", "t_echo") == ["t_echo"]
    assert ids("--q", "needle") == ["t_echo"]


def test_list_refuses_an_unknown_status(run: Run) -> None:
    result = run("jobs", "list", "--status", "sleeping")
    assert result.exit_code == 2
    assert "--status" in result.stderr


def test_list_pages_with_the_cursor_without_repeating_a_job(run: Run, service: Service) -> None:
    service.enqueue_many(None, "noop", {}, 5)
    first = json.loads(run("jobs", "list", "--json", "--limit", "3").stdout)
    second = json.loads(run("jobs", "list", "--json", "--limit", "3", "--cursor", first["next_cursor"]).stdout)
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == [5, 4, 3, 2, 1] and second["next_cursor"] is None


def test_list_with_a_forged_cursor_is_one_line(run: Run) -> None:
    result = run("jobs", "list", "--cursor", "not-a-cursor")
    assert result.exit_code == 1
    assert "cursor" in result.stderr and result.stderr.count("\n") == 1


# -- show --------------------------------------------------------------------------------------
def test_show_json_is_the_api_detail_shape(run: Run, service: Service, alice: model.User) -> None:
    job = service.start_job(alice, "t_steps", {"n": 2}, run_at="/settings/maintenance")
    drain(service)
    detail = json.loads(run("jobs", "show", str(job.id), "--json").stdout)
    assert set(detail) == DETAIL_KEYS
    assert detail["run_at"] == "/settings/maintenance" and detail["error"] is None
    assert [(s["name"], s["status"]) for s in detail["subtasks"]] == [("Step 1", "completed"), ("Step 2", "completed")]
    [f] = detail["files"]
    assert set(f) == {"id", "kind", "name", "size", "content_type", "download_url"}
    assert (f["kind"], f["name"], f["size"]) == ("output", "result.txt", 11)
    assert f["download_url"] == f"/api/v1/jobs/{job.id}/files/{f['id']}"
    assert detail["title"] == "Steps" and detail["log"] == []
    assert detail == views.job_document(service.job_detail(alice, job.id))


def test_show_prints_fields_subtasks_and_log_lines(run: Run, service: Service) -> None:
    job = service.start_job(None, "t_fail_always")
    drain(service)
    out = run("jobs", "show", str(job.id)).stdout
    assert "Failed" in out and "boom: the input was bad" in out
    assert "Doomed step" in out  # the subtask grid
    assert "Traceback" in out  # the job log keeps the traceback the page never shows


def test_show_prints_the_attempts_of_a_retried_job(run: Run, service: Service) -> None:
    job = service.start_job(None, "flaky", {"fail_times": 1})
    worker = service.worker(concurrency=1)
    worker.run_once()  # attempt 1 raises; attempt 2 waits out a backoff under a second
    wait_for(lambda: worker.run_once() == 1, timeout=30)
    out = run("jobs", "show", str(job.id)).stdout
    assert "Attempts" in out and "1 of 5" in out and "2 of 5" in out
    assert "Failed, retried" in out and "Succeeded" in out and "Failing on purpose: attempt 1" in out


def test_show_json_carries_the_log_lines(run: Run, service: Service) -> None:
    job = service.start_job(None, "t_echo", {"text": "hello from the job"})
    drain(service)
    detail = json.loads(run("jobs", "show", str(job.id), "--json").stdout)
    assert [(line["level"], line["message"]) for line in detail["log"]] == [("info", "hello from the job")]
    assert detail["log"][0]["at"].endswith("Z")


def test_show_of_another_users_job_looks_like_a_missing_job(
    run: Run, service: Service, alice: model.User, bob: model.User
) -> None:
    job = service.start_job(alice, "t_echo")
    hidden = run("jobs", "show", str(job.id), "--as", "bob")
    missing = run("jobs", "show", "999999", "--as", "bob")
    assert hidden.exit_code == missing.exit_code == 1
    assert hidden.stderr == missing.stderr == "Error: No such job (or you may not see it).\n"


def test_show_as_an_ordinary_user_hides_the_traceback_of_their_failed_job(
    run: Run, service: Service, alice: model.User
) -> None:
    job = service.start_job(alice, "fail", {"message": "the remote system did not answer"})
    drain(service)
    out = run("jobs", "show", str(job.id), "--as", "alice").stdout
    assert "the remote system did not answer" in out and "Traceback" not in out
    detail = json.loads(run("jobs", "show", str(job.id), "--as", "alice", "--json").stdout)
    assert not any(line["message"].startswith("Traceback") for line in detail["log"])


@pytest.mark.parametrize("username", ["ada", "alice"])
def test_show_json_as_a_user_equals_the_api_document_for_that_user(
    cli_env: str, service: Service, admin: model.User, alice: model.User, username: str
) -> None:
    job = service.start_job(alice, "fail", {"message": "the remote system did not answer"})
    drain(service)
    client = TestClient(create_app(service))
    token = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORDS[username]})
    api = client.get(f"/api/v1/jobs/{job.id}", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert api.status_code == 200
    shown = subprocess.run(  # the installed command in its own process, on the database the app serves
        [sys.executable, "-m", "jobdeck", "jobs", "show", str(job.id), "--as", username, "--json"],
        capture_output=True,
        check=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert json.loads(shown.stdout) == json.loads(api.content)
    tracebacks = [line for line in api.json()["log"] if line["message"].startswith("Traceback")]
    assert bool(tracebacks) is (username == "ada")  # the admin reads the traceback; its owner does not


# -- cancel and retry --------------------------------------------------------------------------
def test_cancel_of_a_queued_job_cancels_it(run: Run, service: Service) -> None:
    job = service.start_job(None, "noop")
    result = run("jobs", "cancel", str(job.id))
    assert result.exit_code == 0 and result.stdout == f"Cancelled job {job.id}.\n"
    assert service.stats().by_status["cancelled"] == 1


def test_cancel_of_a_finished_job_is_refused(run: Run, service: Service) -> None:
    job = service.start_job(None, "noop")
    drain(service)
    result = run("jobs", "cancel", str(job.id))
    assert result.exit_code == 1
    assert "only queued or running jobs can be cancelled" in result.stderr


def test_cancel_as_another_user_is_refused_as_not_found(
    run: Run, service: Service, alice: model.User, bob: model.User
) -> None:
    job = service.start_job(alice, "noop")
    result = run("jobs", "cancel", str(job.id), "--as", "bob")
    assert result.exit_code == 1 and "No such job" in result.stderr
    assert service.get_job(alice, job.id).status is model.Status.QUEUED


def test_retry_of_a_failed_job_queues_a_new_one_pointing_back(run: Run, service: Service, alice: model.User) -> None:
    failed = service.start_job(alice, "fail", {"message": "first time"})
    drain(service)
    result = run("jobs", "retry", str(failed.id))
    assert result.exit_code == 0
    new_id = int(result.stdout.split()[2])
    new = service.get_job(alice, new_id)
    assert (new.retry_of, new.type, new.params, new.run_by) == (failed.id, "fail", failed.params, "alice")


def test_retry_of_a_job_that_did_not_fail_is_refused(run: Run, service: Service) -> None:
    job = service.start_job(None, "noop")
    result = run("jobs", "retry", str(job.id))
    assert result.exit_code == 1 and "only failed jobs can be retried" in result.stderr


# -- stats -------------------------------------------------------------------------------------
def test_stats_json_counts_jobs_by_status_and_ages_the_oldest_queued(run: Run, service: Service) -> None:
    service.start_job(None, "fail")
    drain(service)
    service.enqueue_many(None, "noop", {}, 3)
    stats = json.loads(run("jobs", "stats", "--json").stdout)
    assert stats["by_status"] == {"queued": 3, "in_progress": 0, "completed": 0, "failed": 1, "cancelled": 0}
    assert 0 <= stats["oldest_queued_age_seconds"] < 60
    assert stats["oldest_queued_at"].endswith("Z")
    assert stats["live_workers"] == 0


def test_stats_of_an_empty_queue_says_none_queued(run: Run) -> None:
    out = run("jobs", "stats").stdout
    assert "Oldest queued job: none queued" in out and "Live workers: 0" in out
