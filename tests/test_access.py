"""The visibility rule through the service: who lists, sees and acts on which jobs."""

from __future__ import annotations

import dataclasses

import pytest

from jobdeck import errors, model
from jobdeck.service import Service
from jobdeck.store import jobs as job_rows


def test_a_disabled_user_lists_no_jobs_as_they_may_view_none(service: Service, alice: model.User) -> None:
    job = service.start_job(alice, "t_echo")
    disabled = dataclasses.replace(alice, disabled=True)
    with pytest.raises(errors.JobNotFound):
        service.get_job(disabled, job.id)
    assert service.list_jobs(disabled, job_rows.JobFilter()).items == []


def test_an_ordinary_user_lists_only_the_jobs_they_started(
    service: Service, alice: model.User, bob: model.User
) -> None:
    service.start_job(alice, "t_echo")
    service.start_job(bob, "t_echo")
    page = service.list_jobs(alice, job_rows.JobFilter())
    assert [j.run_by for j in page.items] == ["alice"]


def test_an_admin_lists_every_job(service: Service, admin: model.User, alice: model.User) -> None:
    service.start_job(alice, "t_echo")
    service.start_job(None, "t_echo")
    assert len(service.list_jobs(admin, job_rows.JobFilter()).items) == 2


def test_another_users_job_is_not_found_for_detail_file_cancel_or_retry(
    service: Service, alice: model.User, bob: model.User
) -> None:
    job = service.start_job(alice, "t_steps", {"n": 1})
    service.worker(concurrency=1).run(burst=True)
    (output,) = service.job_detail(alice, job.id).files
    with pytest.raises(errors.JobNotFound):
        service.job_detail(bob, job.id)
    with pytest.raises(errors.JobNotFound):  # as for a missing job: the file route is no existence oracle
        service.open_file(bob, job.id, output.id)
    with pytest.raises(errors.JobNotFound):
        service.cancel(bob, job.id)
    with pytest.raises(errors.JobNotFound):
        service.retry(bob, job.id)


def test_disabling_a_user_ends_their_sessions_and_tokens_at_once(service: Service, alice: model.User) -> None:
    import sqlalchemy as sa

    from jobdeck.store import auth as auth_rows
    from jobdeck.store import schema

    with service.db.write() as conn:
        auth_rows.create_session(conn, "session-secret", alice.id, "csrf", max_seconds=3600)
        auth_rows.create_token(conn, "token-secret", alice.id, "cli", max_seconds=3600)
    assert service.set_disabled("alice", True).disabled
    with service.db.read() as conn:
        sessions = conn.execute(sa.select(sa.func.count()).select_from(schema.sessions)).scalar_one()
        tokens = conn.execute(sa.select(sa.func.count()).select_from(schema.api_tokens)).scalar_one()
    assert (sessions, tokens) == (0, 0)
    assert not service.set_disabled("alice", False).disabled
