"""Engine behaviour the CLI found wanting: each test failed (as a strict xfail) until the engine was fixed."""

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
