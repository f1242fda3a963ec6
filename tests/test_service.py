"""The service: starting, listing, reading and acting on jobs, and imports, as each user may."""

from __future__ import annotations

import dataclasses
import io

import pytest

from jobdeck import errors, model
from jobdeck.query import JobFilter, JobQuery
from jobdeck.service import Service


def drain(service: Service) -> None:
    service.worker(concurrency=1).run(burst=True)


# -- visibility ----------------------------------------------------------------------------------
def test_a_disabled_user_lists_no_jobs_as_they_may_view_none(service: Service, alice: model.User) -> None:
    job = service.start_job(alice, "t_echo")
    disabled = dataclasses.replace(alice, disabled=True)
    with pytest.raises(errors.JobNotFound):
        service.get_job(disabled, job.id)
    assert service.list_jobs(disabled, JobQuery()).items == []


def test_an_ordinary_user_lists_only_the_jobs_they_started(
    service: Service, alice: model.User, bob: model.User
) -> None:
    service.start_job(alice, "t_echo")
    service.start_job(bob, "t_echo")
    page = service.list_jobs(alice, JobQuery())
    assert [j.run_by for j in page.items] == ["alice"]


def test_an_admin_lists_every_job(service: Service, admin: model.User, alice: model.User) -> None:
    service.start_job(alice, "t_echo")
    service.start_job(None, "t_echo")
    assert len(service.list_jobs(admin, JobQuery()).items) == 2


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


# -- starting ------------------------------------------------------------------------------------
def test_a_started_job_takes_its_types_tab_attempts_and_description_and_its_starter(
    service: Service, alice: model.User
) -> None:
    job = service.start_job(alice, "t_record", {"ms": 1}, run_at="/settings/maintenance")
    assert (job.type, job.tab, job.max_attempts, job.queue) == ("t_record", model.Tab.GENERAL, 3, "default")
    assert (job.description, job.run_by, job.run_at) == ("Record", "alice", "/settings/maintenance")


def test_a_run_at_that_is_not_a_path_on_this_site_is_dropped(service: Service, alice: model.User) -> None:
    assert service.start_job(alice, "t_echo", run_at="https://elsewhere.example/x").run_at is None
    assert service.start_job(alice, "t_echo", run_at="//elsewhere.example/x").run_at is None


def test_enqueue_many_queues_that_many_jobs_of_the_type(service: Service) -> None:
    ids = service.enqueue_many(None, "t_echo", {"text": "hi"}, 3)
    jobs = [service.get_job(model.User(0, "x", "x", is_admin=True), i) for i in ids]
    assert len(set(ids)) == 3 and {j.description for j in jobs} == {"Echo hi"}


# -- reading --------------------------------------------------------------------------------------
def test_a_job_detail_is_titled_with_its_job_types_title(service: Service, alice: model.User) -> None:
    job = service.start_job(alice, "t_echo", {"text": "hi"})
    assert service.job_detail(alice, job.id).title == "Echo"


def test_a_failed_jobs_traceback_is_in_an_admins_detail_and_not_in_its_owners(
    service: Service, admin: model.User, alice: model.User
) -> None:
    job = service.start_job(alice, "fail", {"message": "the remote system did not answer"})
    drain(service)
    owners = service.job_detail(alice, job.id)
    admins = service.job_detail(admin, job.id)
    assert owners.job.error and "the remote system did not answer" in owners.job.error
    assert any(line.message.startswith("Traceback") for line in admins.log)
    assert not any(line.message.startswith("Traceback") for line in owners.log)


def test_a_listing_query_keeps_its_filter_sort_and_page_size(service: Service, admin: model.User) -> None:
    for text in ("a", "b", "c"):
        service.start_job(None, "t_echo", {"text": text})
    service.start_job(None, "t_steps", {"n": 1})
    query = JobQuery(filter=JobFilter(type="t_echo"), sort="description", order="asc", limit=2)
    first = service.list_jobs(admin, query)
    rest = service.list_jobs(admin, dataclasses.replace(query, cursor=first.next_cursor))
    assert [j.description for j in first.items + rest.items] == ["Echo a", "Echo b", "Echo c"]
    assert rest.next_cursor is None


def test_a_forged_cursor_is_refused_as_invalid(service: Service, admin: model.User) -> None:
    with pytest.raises(errors.InvalidCursor):
        service.list_jobs(admin, JobQuery(cursor="WyJpZCIsImRlc2MiLDk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5LDVd"))


# -- retrying ---------------------------------------------------------------------------------------
def test_a_retry_is_a_new_job_with_the_same_params_and_input_file(service: Service, alice: model.User) -> None:
    data = b"first_name,last_name,email\nAda,Lovelace,not-an-email\n"
    job = service.start_import(alice, io.BytesIO(data), "people.csv", "contacts", on_error="fail")
    drain(service)
    failed = service.get_job(alice, job.id)
    assert failed.status is model.Status.FAILED
    again = service.retry(alice, job.id)
    (original,) = [f for f in service.job_detail(alice, job.id).files if f.kind is model.FileKind.INPUT]
    (copied,) = service.job_detail(alice, again.id).files
    assert (again.retry_of, again.params, again.description) == (job.id, job.params, failed.description)
    assert (copied.kind, copied.name, copied.storage_key) == (model.FileKind.INPUT, "people.csv", original.storage_key)


# -- imports ----------------------------------------------------------------------------------------
def test_an_import_is_queued_with_its_upload_as_the_input_file(service: Service, alice: model.User) -> None:
    data = b"first_name,last_name,email\nAda,Lovelace,ada@example.com\n"
    job = service.start_import(alice, io.BytesIO(data), "../people.csv", "contacts", dry_run=True)
    (upload,) = service.job_detail(alice, job.id).files
    assert (job.tab, job.params["filename"], job.params["dry_run"]) == (model.Tab.IMPORTS, "people.csv", True)
    assert (upload.kind, upload.name, upload.size, upload.content_type) == (
        model.FileKind.INPUT,
        "people.csv",
        len(data),
        "text/csv; charset=utf-8",
    )


def test_an_unknown_import_target_is_refused_by_name(service: Service) -> None:
    with pytest.raises(errors.UnknownTarget, match="nope"):
        service.import_target("nope")
