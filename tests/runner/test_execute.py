"""How a run's end is logged: a refusal (jobdeck's own error, meant for the user) as one line, anything
unexpected with its traceback."""

from __future__ import annotations

import io
import logging

import pytest

from jobdeck import model
from jobdeck.imports import targets
from jobdeck.service import Service
from tests.runner import kinds_extra


def job_failure_records(caplog: pytest.LogCaptureFixture, job_id: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("jobdeck.runner") and f"job {job_id} " in r.getMessage()]


def test_a_refusal_is_one_log_line_without_a_traceback(
    service: Service, admin: model.User, caplog: pytest.LogCaptureFixture
) -> None:
    job = service.start_job(None, "t_refuse")
    with caplog.at_level(logging.INFO):
        assert service.worker(concurrency=1).run_once() == 1
    (record,) = job_failure_records(caplog, job.id)
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage() == f"job {job.id} (t_refuse) failed: {kinds_extra.REFUSAL}"
    detail = service.job_detail(admin, job.id)
    assert detail.job.error == kinds_extra.REFUSAL
    assert [line.message for line in detail.log] == [kinds_extra.REFUSAL]


def test_an_unexpected_exception_is_logged_with_its_traceback(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    job = service.start_job(None, "t_fail_always")
    with caplog.at_level(logging.INFO):
        service.worker(concurrency=1).run_once()
    (record,) = job_failure_records(caplog, job.id)
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert "Traceback" in caplog.text and "ValueError: boom: the input was bad" in caplog.text


def test_an_imports_missing_column_refusal_is_one_log_line(
    service: Service, admin: model.User, caplog: pytest.LogCaptureFixture
) -> None:
    targets.ensure_tables(service.db)
    job = service.start_import(admin, io.BytesIO(b"shoe_size,phone\n42,555\n"), "people.csv", "contacts")
    with caplog.at_level(logging.INFO):
        assert service.worker(concurrency=1).run_once() == 1
    (record,) = job_failure_records(caplog, job.id)
    assert record.levelno == logging.WARNING and record.exc_info is None and "\n" not in record.getMessage()
    assert "The required column 'email' matches no column of the file" in record.getMessage()
    assert "Traceback" not in caplog.text
