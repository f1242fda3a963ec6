"""Children started ahead (runner/spares.py): an isolated job takes the child waiting for it, which has its
modules loaded and still gets its caps from its order; a spare that is gone or no longer wanted costs nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest

from jobdeck import model, settings
from jobdeck.runner import spares
from jobdeck.runner.registry import REGISTRY
from jobdeck.service import Service
from jobdeck.store.database import Database
from jobdeck.wiring import Wiring
from tests.conftest import wait_for
from tests.runner import kinds_isolated  # noqa: F401 - registers the isolated test type

Status = model.Status
TYPE = "t_isolated"


@pytest.fixture
def spared(test_settings: settings.Settings, db: Database) -> Iterator[Service]:
    """A service whose workers keep a spare child (the default outside the tests)."""
    spares.SPARES.release()
    config = test_settings.model_copy(update={"isolated_spare": True})
    yield Service(Wiring(config, db=db, registry=REGISTRY))
    spares.SPARES.release()


def run(service: Service, user: model.User, do: str) -> model.Job:
    job = service.start_job(user, TYPE, {"do": do})
    service.worker(concurrency=1).run(burst=True)
    return service.get_job(user, job.id)


def the_spare() -> int:
    [pid] = spares.SPARES.waiting().values()
    return pid


def test_the_next_job_runs_in_the_child_started_when_the_last_one_ended(spared: Service, alice: model.User) -> None:
    assert run(spared, alice, "count").status is Status.COMPLETED
    waiting = the_spare()
    job = run(spared, alice, "whoami")
    assert (job.status, job.description) == (Status.COMPLETED, f"('pid', {waiting})")
    assert the_spare() != waiting  # the next one is already started


def test_a_spare_killed_while_it_waits_is_replaced_by_a_fresh_child(spared: Service, alice: model.User) -> None:
    run(spared, alice, "count")
    waiting = the_spare()
    os.kill(waiting, signal.SIGKILL)
    wait_for(lambda: not psutil.pid_exists(waiting) or psutil.Process(waiting).status() == psutil.STATUS_ZOMBIE)
    job = run(spared, alice, "whoami")
    assert job.status is Status.COMPLETED, job.error
    assert job.description != f"('pid', {waiting})"


@pytest.mark.slow
def test_a_spare_gets_its_memory_cap_with_its_order(spared: Service, alice: model.User) -> None:
    run(spared, alice, "count")
    job = run(spared, alice, "hog")
    assert (job.status, job.error) == (Status.FAILED, "Doing the test work needed more than 256 MB; give it less.")


def test_a_released_spare_ends(spared: Service, alice: model.User) -> None:
    run(spared, alice, "count")
    process = psutil.Process(the_spare())
    spares.SPARES.release()
    process.wait(30)
    assert spares.SPARES.waiting() == {}


def test_a_child_whose_standard_input_closes_before_its_order_exits_quietly() -> None:
    started = spares.start(["json"])
    assert started.proc.stdin is not None
    started.proc.stdin.close()  # what the child sees when its parent is gone
    assert started.proc.wait(30) == 0
    started.discard()


def test_no_child_is_kept_when_spares_are_off(service: Service, alice: model.User) -> None:
    assert not service.settings.isolated_spare
    assert run(service, alice, "count").status is Status.COMPLETED
    assert spares.SPARES.waiting() == {}


def test_the_cpu_cap_counts_from_the_order_not_from_the_childs_start() -> None:
    script = (
        "import resource, time\n"
        "from jobdeck.runner import child\n"
        "end = time.process_time() + 1.5\n"
        "while time.process_time() < end: pass\n"  # what loading modules before the order costs
        "child.apply_limits(None, 5)\n"
        "print(resource.getrlimit(resource.RLIMIT_CPU)[0])\n"
    )
    soft = int(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    assert soft >= 7


def test_a_forked_process_does_not_take_its_parents_spare(spared: Service, alice: model.User) -> None:
    run(spared, alice, "count")
    waiting = the_spare()
    pid = os.fork()
    if pid == 0:  # the child process: exit at once with what it sees
        os._exit(0 if spares.SPARES.waiting() == {} else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert the_spare() == waiting and psutil.Process(waiting).is_running()


def test_a_spare_that_cannot_be_started_costs_the_job_nothing(
    spared: Service, alice: model.User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    start = spares.start
    calls = []

    def out_of_processes(modules: list[str]) -> spares.Started:
        calls.append(modules)
        if len(calls) > 1:  # the job's own child starts; the spare after it cannot
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return start(modules)

    monkeypatch.setattr(spares, "start", out_of_processes)
    job = run(spared, alice, "count")
    assert (job.status, job.description) == (Status.COMPLETED, "('n', 0) ('n', 1) ('n', 2)")
    assert len(calls) == 2 and spares.SPARES.waiting() == {}
    assert "could not start a spare child" in caplog.text
