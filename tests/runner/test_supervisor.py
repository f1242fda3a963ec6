"""Embedded workers: what is running now, hurrying a stop, and how a hand-back at shutdown is told."""

from __future__ import annotations

import logging
import pathlib
import threading

import pytest

from jobdeck import model
from jobdeck.runner.supervisor import EmbeddedWorkers
from jobdeck.service import Service
from tests.conftest import wait_for
from tests.runner import kinds_extra
from tests.runner.test_worker import PATIENCE_S, running


def test_embedded_workers_name_the_jobs_running_now(
    service: Service, admin: model.User, tmp_path: pathlib.Path
) -> None:
    release = tmp_path / "release"
    job = service.start_job(None, kinds_extra.UNTIL_RELEASED, {"release": str(release)})
    embedded = EmbeddedWorkers(lambda: service.worker(concurrency=1))
    assert embedded.running() == []  # nothing before it starts
    embedded.start()
    try:
        wait_for(lambda: running(service, admin, job.id), timeout=PATIENCE_S)
        assert [j.id for j in embedded.running()] == [job.id]
    finally:
        release.touch()
        embedded.stop()
    assert service.get_job(admin, job.id).status is model.Status.COMPLETED


def test_hurry_hands_the_running_jobs_back_during_a_long_grace_and_says_so_not_lease_lost(
    service: Service, admin: model.User, tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jobdeck")
    release = tmp_path / "release"
    job = service.start_job(None, kinds_extra.UNTIL_RELEASED, {"release": str(release)})
    embedded = EmbeddedWorkers(lambda: service.worker(concurrency=1, shutdown_grace_seconds=3600))
    embedded.start()
    try:
        wait_for(lambda: running(service, admin, job.id), timeout=PATIENCE_S)
        stopping = threading.Thread(target=embedded.stop)  # waits out the hour's grace unless hurried
        stopping.start()
        embedded.hurry()
        stopping.join(PATIENCE_S)
        assert not stopping.is_alive()
        after = service.get_job(admin, job.id)
        # A hand-back keeps its attempt's number (its run is recorded as handed back) and queues the job again.
        assert after.status is model.Status.QUEUED and after.attempt == 1
    finally:
        release.touch()  # the handed-back run may end now, and say how it ended
    told = f"job {job.id}: handed back at shutdown"
    wait_for(lambda: any(told in r.getMessage() for r in caplog.records), timeout=PATIENCE_S)
    assert not any("lease lost" in r.getMessage() for r in caplog.records)
