"""Acting on every job a filter matches: the scope is the caller's listing, the count must be the one
confirmed, each job goes through the single action, and every job acted on gets its audit entry."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from jobdeck import bulk, errors, model, views
from jobdeck.query import JobFilter, JobQuery
from jobdeck.service import Service
from jobdeck.store import schema

QUEUED = JobQuery(filter=JobFilter(statuses=(model.Status.QUEUED,)))
FAILED = JobQuery(filter=JobFilter(statuses=(model.Status.FAILED,)))
EVERY = JobQuery()


def statuses(service: Service, admin: model.User, jobs: list[model.Job]) -> list[model.Status]:
    return [service.get_job(admin, j.id).status for j in jobs]


def drain(service: Service) -> None:
    service.worker(concurrency=1).run(burst=True)


def test_an_ordinary_users_count_holds_only_their_own_jobs(
    service: Service, alice: model.User, bob: model.User, admin: model.User
) -> None:
    for _ in range(3):
        service.start_job(alice, "t_echo")
    service.start_job(bob, "t_echo")
    assert bulk.count(service, alice, QUEUED) == 3
    assert bulk.count(service, bob, QUEUED) == 1
    assert bulk.count(service, admin, QUEUED) == 4


def test_an_ordinary_users_bulk_cancel_touches_none_of_another_users_jobs(
    service: Service, alice: model.User, bob: model.User, admin: model.User
) -> None:
    alices = [service.start_job(alice, "t_echo") for _ in range(3)]
    bobs = [service.start_job(bob, "t_echo") for _ in range(2)]
    admins = [service.start_job(admin, "t_echo")]
    outcome = bulk.cancel_all(service, alice, QUEUED, confirm=3)
    assert outcome == bulk.Outcome(matched=3, acted=3, skipped=0)
    assert statuses(service, admin, alices) == [model.Status.CANCELLED] * 3
    assert statuses(service, admin, bobs + admins) == [model.Status.QUEUED] * 3


def test_an_admins_bulk_cancel_touches_every_matching_job(
    service: Service, alice: model.User, bob: model.User, admin: model.User
) -> None:
    echoes = [service.start_job(u, "t_echo") for u in (alice, bob, admin)]
    steps = service.start_job(bob, "t_steps")
    query = JobQuery(filter=JobFilter(type="t_echo"))
    assert bulk.cancel_all(service, admin, query, confirm=3) == bulk.Outcome(3, 3, 0)
    assert statuses(service, admin, echoes) == [model.Status.CANCELLED] * 3
    assert service.get_job(admin, steps.id).status is model.Status.QUEUED


def test_a_count_other_than_the_matching_one_does_nothing_and_names_the_current_count(
    service: Service, alice: model.User, admin: model.User
) -> None:
    jobs = [service.start_job(alice, "t_echo") for _ in range(2)]
    with pytest.raises(errors.CountChanged) as changed:
        bulk.cancel_all(service, admin, QUEUED, confirm=3)
    assert changed.value.count == 2
    assert "2 jobs match" in changed.value.message and "nothing was done" in changed.value.message
    with pytest.raises(errors.CountChanged):
        bulk.retry_all(service, admin, FAILED, confirm=1)
    assert statuses(service, admin, jobs) == [model.Status.QUEUED] * 2
    with service.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.job_events)).scalar_one() == 0


def test_jobs_not_in_a_cancellable_state_are_skipped_and_counted(
    service: Service, alice: model.User, admin: model.User
) -> None:
    done = service.start_job(alice, "t_echo")
    drain(service)
    waiting = service.start_job(alice, "t_echo")
    outcome = bulk.cancel_all(service, alice, EVERY, confirm=2)
    assert outcome == bulk.Outcome(matched=2, acted=1, skipped=1)
    assert statuses(service, admin, [done, waiting]) == [model.Status.COMPLETED, model.Status.CANCELLED]


def test_bulk_retry_starts_each_failed_job_again_as_its_owners_and_skips_the_rest(
    service: Service, alice: model.User, bob: model.User, admin: model.User
) -> None:
    failed = [service.start_job(u, "t_fail_always") for u in (alice, bob)]
    service.start_job(alice, "t_echo")
    drain(service)
    assert bulk.retry_all(service, admin, EVERY, confirm=3) == bulk.Outcome(matched=3, acted=2, skipped=1)
    retries = service.list_jobs(admin, QUEUED).items
    assert sorted((j.retry_of, j.run_by) for j in retries) == [(failed[0].id, "alice"), (failed[1].id, "bob")]


def test_an_ordinary_users_bulk_retry_leaves_another_users_failed_jobs_alone(
    service: Service, alice: model.User, bob: model.User, admin: model.User
) -> None:
    service.start_job(alice, "t_fail_always")
    bobs = service.start_job(bob, "t_fail_always")
    drain(service)
    assert bulk.retry_all(service, alice, FAILED, confirm=1) == bulk.Outcome(1, 1, 0)
    assert [j.retry_of for j in service.list_jobs(admin, QUEUED).items] != [bobs.id]
    assert service.job_detail(admin, bobs.id).events == []


def test_a_bulk_action_walks_every_page_of_the_matching_jobs(
    service: Service, alice: model.User, admin: model.User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "PAGE", 3)  # 8 jobs: three keyset pages
    jobs = [service.start_job(alice, "t_echo") for _ in range(8)]
    assert bulk.cancel_all(service, alice, QUEUED, confirm=8) == bulk.Outcome(8, 8, 0)
    assert statuses(service, admin, jobs) == [model.Status.CANCELLED] * 8
    assert [j.id for j in bulk.walk(service, alice, EVERY)] == [j.id for j in reversed(jobs)]


# -- the audit trail -------------------------------------------------------------------------------
def test_a_single_cancel_and_retry_are_recorded_with_who_what_and_when(
    service: Service, alice: model.User, admin: model.User
) -> None:
    queued = service.start_job(alice, "t_echo")
    failed = service.start_job(alice, "t_fail_always")
    drain(service)
    waiting = service.start_job(alice, "t_echo")
    service.cancel(alice, waiting.id)
    again = service.retry(admin, failed.id)
    [cancelled] = service.job_detail(alice, waiting.id).events
    [retried] = service.job_detail(alice, failed.id).events
    assert (cancelled.actor, cancelled.actor_id, cancelled.action, cancelled.detail) == (
        "alice",
        alice.id,
        "cancel",
        "",
    )
    assert (retried.actor, retried.action, retried.detail) == ("ada", "retry", f"as job {again.id}")
    assert cancelled.at <= retried.at
    assert service.job_detail(alice, queued.id).events == []


def test_each_job_a_bulk_action_acts_on_gets_its_own_bulk_entry(
    service: Service, alice: model.User, bob: model.User, admin: model.User
) -> None:
    jobs = [service.start_job(u, "t_echo") for u in (alice, bob)]
    bulk.cancel_all(service, admin, QUEUED, confirm=2)
    for job in jobs:
        [entry] = service.job_detail(admin, job.id).events
        assert (entry.actor, entry.action) == ("ada", "bulk_cancel")


def test_a_refused_single_action_leaves_no_entry(service: Service, alice: model.User, admin: model.User) -> None:
    job = service.start_job(alice, "t_echo")
    drain(service)
    with pytest.raises(errors.InvalidTransition):
        service.cancel(alice, job.id)
    with pytest.raises(errors.InvalidTransition):
        service.retry(alice, job.id)
    assert service.job_detail(admin, job.id).events == []


# -- the export ------------------------------------------------------------------------------------
def read_export(service: Service, user: model.User, query: JobQuery) -> list[list[str]]:
    data = b"".join(views.export_csv(bulk.walk(service, user, query), service.registry.title))
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_export_has_the_grids_columns_and_iso_times(service: Service, alice: model.User) -> None:
    job = service.start_job(alice, "t_fail_always")
    drain(service)
    header, row = read_export(service, alice, EVERY)
    assert header == ["Status", "Job ID", "Job", "Description", "Start", "End", "Failed", "Run By"]
    failed = service.get_job(alice, job.id)
    assert row == [
        "Failed",
        str(job.id),
        "Fail always",
        "Fail always",
        views.timestamp(failed.started_at),
        views.timestamp(failed.ended_at),
        views.timestamp(failed.failed_at),
        "alice",
    ]
    assert row[4].endswith("Z") and "T" in row[4]


def test_the_export_holds_only_the_callers_matching_jobs_in_the_lists_order(
    service: Service, alice: model.User, bob: model.User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "PAGE", 2)
    mine = [service.start_job(alice, "t_echo") for _ in range(5)]
    service.start_job(bob, "t_echo")
    rows = read_export(service, alice, JobQuery(sort="id", order="asc"))[1:]
    assert [int(r[1]) for r in rows] == [j.id for j in mine]
    assert {r[7] for r in rows} == {"alice"}


def test_an_exported_cell_that_a_spreadsheet_would_run_is_protected(service: Service, alice: model.User) -> None:
    job = service.start_job(alice, "t_echo")
    formula = '=HYPERLINK("http://example.com","click")'
    with service.db.write() as conn:
        conn.execute(sa.update(schema.jobs).where(schema.jobs.c.id == job.id).values(description=formula))
    data = b"".join(views.export_csv(bulk.walk(service, alice, EVERY), service.registry.title)).decode("utf-8-sig")
    assert '"\'=HYPERLINK(""http://example.com"",""click"")"' in data
    [row] = read_export(service, alice, EVERY)[1:]
    assert row[3] == "'" + formula
