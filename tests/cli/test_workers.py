"""`jobdeck workers list`: the Workers page on the command line."""

from __future__ import annotations

import json

from jobdeck.service import Service
from jobdeck.store import claim, workers
from tests.cli.conftest import Run


def test_list_shows_each_worker_with_the_jobs_it_runs(run: Run, service: Service) -> None:
    job = service.start_job(None, "noop")
    with service.db.write() as conn:
        workers.register(conn, "host-a:7:aa", "host-a", 7, 3)
        claim.claim(service.db, conn, "host-a:7:aa", 1, lease_seconds=60)
    result = run("workers", "list")
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stdout.splitlines() if "host-a" in line]
    assert " 7 " in line and f"{job.id} (noop)" in line
    (listed,) = json.loads(run("workers", "list", "--json").stdout)
    assert (listed["hostname"], listed["pid"], listed["concurrency"]) == ("host-a", 7, 3)
    assert listed["running"][0]["id"] == job.id


def test_an_empty_roster_lists_no_worker(run: Run, service: Service) -> None:
    result = run("workers", "list", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []
