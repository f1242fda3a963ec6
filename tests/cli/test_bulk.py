"""`jobdeck jobs cancel --all`, `retry --all` and `export`, and the history `jobdeck jobs show` prints."""

from __future__ import annotations

import csv
import io
import json
import re

from jobdeck import model
from jobdeck.cli.jobs import CONSOLE_ADMIN
from jobdeck.service import Service
from tests.cli.conftest import Run


def drain(service: Service) -> None:
    service.worker(concurrency=1).run(burst=True)


def statuses(service: Service, jobs: list[model.Job]) -> list[str]:
    return [service.get_job(CONSOLE_ADMIN, j.id).status.value for j in jobs]


def test_cancel_all_as_a_user_cancels_only_their_matching_jobs(
    run: Run, service: Service, alice: model.User, bob: model.User
) -> None:
    mine = [service.start_job(alice, "t_echo") for _ in range(2)]
    other_type = service.start_job(alice, "noop")
    theirs = service.start_job(bob, "t_echo")
    result = run("jobs", "cancel", "--all", "--status", "queued", "--type", "t_echo", "--as", "alice", "--yes")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Cancelled (or asked to stop) 2 of 2 jobs.\n"
    assert statuses(service, mine) == ["cancelled", "cancelled"]
    assert statuses(service, [other_type, theirs]) == ["queued", "queued"]


def test_cancel_all_asks_first_with_the_count_and_does_nothing_when_told_no(
    run: Run, service: Service, alice: model.User
) -> None:
    jobs = [service.start_job(alice, "t_echo") for _ in range(3)]
    declined = run("jobs", "cancel", "--all", "--status", "queued", input="n\n")
    assert "Cancel 3 jobs? [y/N]" in declined.stdout and declined.exit_code == 1
    assert statuses(service, jobs) == ["queued"] * 3
    accepted = run("jobs", "cancel", "--all", "--status", "queued", input="y\n")
    assert accepted.exit_code == 0 and "3 of 3 jobs" in accepted.stdout
    assert statuses(service, jobs) == ["cancelled"] * 3


def test_retry_all_retries_every_failed_job_and_says_how_many_it_skipped(
    run: Run, service: Service, alice: model.User, bob: model.User
) -> None:
    failed = [service.start_job(u, "t_fail_always") for u in (alice, bob)]
    service.start_job(alice, "t_echo")
    drain(service)
    result = run("jobs", "retry", "--all", "--yes")
    assert result.stdout == "Retried 2 of 3 jobs; 1 skipped (not in a state that allows it).\n"
    for job in failed:
        [event] = json.loads(run("jobs", "show", str(job.id), "--json").stdout)["events"]
        assert (event["actor"], event["action"]) == ("console", "bulk_retry")


def test_all_with_nothing_matching_says_so(run: Run) -> None:
    result = run("jobs", "cancel", "--all", "--status", "queued")
    assert result.exit_code == 0 and result.stdout == "No jobs match these filters.\n"


def test_a_job_id_with_all_or_with_filters_or_neither_is_a_usage_error(run: Run) -> None:
    for args in (["7", "--all"], ["7", "--status", "queued"], []):
        result = run("jobs", "cancel", *args)
        assert result.exit_code == 2, args
        assert "JOB_ID" in result.stderr


def test_export_writes_the_grids_csv_of_the_matching_jobs(run: Run, service: Service, alice: model.User) -> None:
    job = service.start_job(alice, "t_echo")
    service.start_job(alice, "noop")
    result = run("jobs", "export", "--type", "t_echo", "--as", "alice")
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"), newline="")))
    assert rows == [
        ["Status", "Job ID", "Job", "Description", "Start", "End", "Failed", "Run By"],
        ["Queued", str(job.id), "Echo", "Echo ", "", "", "", "alice"],
    ]


def test_show_prints_the_history_of_a_job(run: Run, service: Service, alice: model.User) -> None:
    job = service.start_job(alice, "t_echo")
    run("jobs", "cancel", str(job.id), "--as", "alice")
    out = run("jobs", "show", str(job.id)).stdout
    assert "History" in out
    [line] = [line for line in out.splitlines() if "alice" in line and "Cancelled" in line]
    assert re.match(r"\W*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\W+alice\W+Cancelled", line)  # when, who, what
