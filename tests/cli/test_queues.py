"""`jobdeck queues list|pause|resume`: the Queues page on the command line."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.service import Service
from jobdeck.web.app import create_app
from tests.cli.conftest import Run
from tests.web.conftest import bearer


def test_list_shows_every_known_queue_with_its_waiting_jobs(run: Run, service: Service) -> None:
    service.start_job(None, "noop")
    result = run("queues", "list")
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stdout.splitlines() if " default " in line]
    assert "running" in line and " 1 " in line


def test_pause_then_resume_changes_the_queue_and_says_so(run: Run, service: Service) -> None:
    paused = run("queues", "pause", "default", "--json")
    assert paused.exit_code == 0, paused.output
    assert json.loads(paused.stdout)["paused"] is True and json.loads(paused.stdout)["paused_by"] is None
    assert "paused" in run("queues", "list").stdout
    resumed = run("queues", "resume", "default", "--json")
    assert json.loads(resumed.stdout)["paused"] is False


def test_pausing_an_unknown_queue_is_one_error_line(run: Run, service: Service) -> None:
    result = run("queues", "pause", "nope")
    assert result.exit_code == 1 and "No queue named 'nope'" in result.stderr


def test_list_json_equals_the_api(run: Run, service: Service, admin: model.User) -> None:
    service.start_job(None, "noop")
    run("queues", "pause", "default")
    client = TestClient(create_app(service))
    api = client.get("/api/v1/queues", headers=bearer(client, "ada")).json()
    listed = json.loads(run("queues", "list", "--json").stdout)
    for queue in (*api, *listed):
        queue.pop("oldest_queued_age_seconds")  # measured at each call
    assert listed == api
