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
    created = seed.ensure_demo(service)
    assert [name for name, _ in created] == ["admin", "demo"]
    assert capsys.readouterr().out == ""  # the caller shows the passwords, after its own start-up lines
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

    assert seed.ensure_demo(service) == []
    assert len(service.list_jobs(admin, JobQuery(limit=100)).items) == len(jobs)


def test_the_demo_passwords_are_shown_in_one_framed_block_with_how_to_reset_them() -> None:
    block = seed.credentials_block([("admin", "pw-one"), ("demo", "pw-two")]).splitlines()
    assert block[0] == block[-1] and set(block[0]) == {"+", "-"}
    assert all(line.startswith("| ") and line.endswith(" |") and len(line) == len(block[0]) for line in block[1:-1])
    text = "\n".join(block)
    assert "Demo accounts (shown once — note them down):" in text
    assert "admin / pw-one" in text and "demo / pw-two" in text
    assert "jobdeck users set-password NAME" in text


def test_no_block_is_shown_when_no_demo_account_was_created_now() -> None:
    assert seed.credentials_block([]) == ""
