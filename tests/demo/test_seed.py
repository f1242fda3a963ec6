"""The demo seed behind `make run`: accounts printed once, and a first sight with history on both tabs."""

from __future__ import annotations

import pytest

from jobdeck import model
from jobdeck.demo import seed
from jobdeck.imports import targets
from jobdeck.query import JobQuery
from jobdeck.service import Service


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_demo_creates_its_accounts_once_and_seeds_both_tabs(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    targets.ensure_tables(service.db)
    seed.ensure_demo(service)
    printed = capsys.readouterr().out
    assert "demo admin 'admin' with password:" in printed
    assert "demo user 'demo' with password:" in printed
    admin, user = service.accounts.user("admin"), service.accounts.user("demo")
    assert admin.is_admin and not user.is_admin
    jobs = service.list_jobs(admin, JobQuery(limit=100)).items
    seen = {(j.tab, j.status) for j in jobs}
    for tab in model.Tab:
        assert (tab, model.Status.COMPLETED) in seen
        assert (tab, model.Status.FAILED) in seen
    assert model.Status.QUEUED in {j.status for j in jobs}  # left for the server's workers
    assert {j.run_by for j in jobs} == {"admin", "demo"}
    details = [service.job_detail(admin, j.id) for j in jobs]
    assert any(d.files for d in details) and any(d.subtasks for d in details)

    seed.ensure_demo(service)
    assert capsys.readouterr().out == ""
    assert len(service.list_jobs(admin, JobQuery(limit=100)).items) == len(jobs)
