"""jobdeck.views: the API's JSON shapes, shared by the web API and the CLI."""

from __future__ import annotations

import datetime as dt

from jobdeck import model, views


def make_job(**overrides: object) -> model.Job:
    values: dict[str, object] = {
        "id": 7, "type": "noop", "tab": model.Tab.GENERAL, "description": "Does nothing", "status": model.Status.QUEUED,
        "params": {}, "run_by_id": None, "run_by": None, "run_at": None, "queue": "default", "priority": 0,
        "attempt": 0, "max_attempts": 1, "created_at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "started_at": None, "ended_at": None, "failed_at": None, "error": None, "progress_done": 0,
        "progress_total": None, "worker_id": None, "lease_token": None, "lease_expires_at": None,
        "cancel_requested": False, "retry_of": None,
    }  # fmt: skip
    values.update(overrides)
    return model.Job(**values)  # type: ignore[arg-type]


def test_timestamps_are_iso_8601_in_utc_with_a_z() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    assert views.timestamp(dt.datetime(2026, 1, 2, 4, 4, 5, 120000, tzinfo=paris)) == "2026-01-02T03:04:05.120000Z"
    assert views.timestamp(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    assert views.timestamp(None) is None


def test_job_summary_has_exactly_the_api_fields() -> None:
    summary = views.job_summary(
        make_job(run_by="alice", status=model.Status.IN_PROGRESS, progress_done=3, progress_total=9)
    )
    assert summary == {
        "id": 7,
        "type": "noop",
        "tab": "general",
        "description": "Does nothing",
        "status": "in_progress",
        "created_at": "2026-01-02T03:04:05Z",
        "started_at": None,
        "ended_at": None,
        "failed_at": None,
        "run_by": "alice",
        "progress": {"done": 3, "total": 9},
        "not_before": None,
        "attempt": 0,
        "max_attempts": 1,
        "waiting": None,
    }


def test_download_url_is_the_api_file_route() -> None:
    assert views.download_url(12, 34) == "/api/v1/jobs/12/files/34"


def test_times_read_by_people_are_utc_to_the_second() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    assert views.clock(dt.datetime(2026, 1, 2, 4, 4, 5, 120000, tzinfo=paris)) == "2026-01-02 03:04:05"
    assert views.clock(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02 03:04:05"
    assert views.clock(None) == ""


def test_every_status_has_the_seeds_word() -> None:
    assert [views.status_label(s) for s in model.Status] == [
        "Queued",
        "In Progress",
        "Completed",
        "Failed",
        "Cancelled",
    ]
    assert views.status_label(model.SubtaskStatus.IN_PROGRESS) == "In Progress"


def test_a_delayed_job_waits_scheduled_for_its_time_today_or_with_its_date() -> None:
    now = dt.datetime(2026, 1, 2, 10, 0, tzinfo=dt.UTC)
    today = make_job(not_before=dt.datetime(2026, 1, 2, 14, 5, tzinfo=dt.UTC))
    other_day = make_job(not_before=dt.datetime(2026, 1, 3, 9, 30, tzinfo=dt.UTC))
    assert views.waiting(today, now) == "Scheduled for 14:05"
    assert views.waiting(other_day, now) == "Scheduled for 2026-01-03 09:30"


def test_a_job_waiting_out_a_backoff_says_which_attempt_comes_next() -> None:
    now = dt.datetime(2026, 1, 2, 14, 0, tzinfo=dt.UTC)
    job = make_job(attempt=1, max_attempts=5, not_before=dt.datetime(2026, 1, 2, 14, 5, tzinfo=dt.UTC))
    assert views.waiting(job, now) == "Retrying at 14:05 — attempt 2 of 5"


def test_a_job_due_or_not_queued_is_not_waiting() -> None:
    now = dt.datetime(2026, 1, 2, 14, 0, tzinfo=dt.UTC)
    due = make_job(not_before=dt.datetime(2026, 1, 2, 13, 59, tzinfo=dt.UTC))
    running = make_job(status=model.Status.IN_PROGRESS, not_before=dt.datetime(2026, 1, 2, 15, 0, tzinfo=dt.UTC))
    assert views.waiting(due, now) is None and views.waiting(running, now) is None
    assert views.waiting(make_job(), now) is None
