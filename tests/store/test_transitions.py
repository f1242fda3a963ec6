"""Fenced writes: a job's final state, subtasks, progress and files change only under its current lease."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import attempts as attempt_rows
from jobdeck.store import cancelling, claim, jobs, schema, transitions, workers
from jobdeck.store.database import Database


def claimed_job(db: Database, lease_seconds: float = 30, **kw: object) -> model.Claimed:
    jobs.submit(db, jobs.NewJob(type="noop", **kw))  # type: ignore[arg-type]
    with db.write() as conn:
        return claim.claim(db, conn, "w1", 1, lease_seconds)[0]


def get(db: Database, job_id: int) -> model.Job:
    with db.read() as conn:
        return jobs.get(conn, job_id)


def stale(c: model.Claimed) -> model.Lease:
    """The same job under a token that is not its lease's."""
    return model.Lease(c.job.id, "0" * 32)


def finish(db: Database, c: model.Claimed, status: model.Status, error: str | None = None) -> set[int]:
    with db.write() as conn:
        return transitions.finish_many(conn, [transitions.Outcome(c.job.id, c.lease_token, status, error)])


def test_completing_a_held_job_records_its_end(db: Database) -> None:
    c = claimed_job(db)
    assert finish(db, c, model.Status.COMPLETED) == {c.job.id}
    job = get(db, c.job.id)
    assert job.status is model.Status.COMPLETED and job.ended_at is not None and job.failed_at is None


def test_failing_a_job_records_the_failure_time_and_message(db: Database) -> None:
    c = claimed_job(db)
    finish(db, c, model.Status.FAILED, "disk full")
    job = get(db, c.job.id)
    assert job.status is model.Status.FAILED and job.error == "disk full"
    assert job.failed_at is not None and job.ended_at is not None


def test_a_finish_with_a_stale_lease_token_changes_nothing(db: Database) -> None:
    c = claimed_job(db)
    stale = model.Claimed(job=c.job, lease_token="0" * 32)
    assert finish(db, stale, model.Status.COMPLETED) == set()
    assert get(db, c.job.id).status is model.Status.IN_PROGRESS


def test_a_second_finish_of_the_same_run_is_not_accepted(db: Database) -> None:
    c = claimed_job(db)
    assert finish(db, c, model.Status.COMPLETED) == {c.job.id}
    assert finish(db, c, model.Status.FAILED, "late") == set()
    assert get(db, c.job.id).status is model.Status.COMPLETED


def test_a_late_finish_after_the_job_was_reaped_and_reclaimed_changes_nothing(db: Database) -> None:
    c = claimed_job(db, lease_seconds=0.05, max_attempts=2)
    time.sleep(0.1)
    with db.write() as conn:
        assert [r.requeued for r in workers.reap(db, conn)] == [True]
        again = claim.claim(db, conn, "w2", 1, 30)[0]
    assert finish(db, c, model.Status.COMPLETED) == set()
    assert finish(db, again, model.Status.COMPLETED) == {c.job.id}
    assert get(db, c.job.id).attempt == 2


def test_failing_a_job_fails_its_open_subtasks(db: Database) -> None:
    c = claimed_job(db)
    with db.write() as conn:
        transitions.start_subtask(conn, c.lease, "Rows 1-10")
    finish(db, c, model.Status.FAILED, "broke")
    with db.read() as conn:
        (sub,) = jobs.subtasks(conn, c.job.id)
    assert sub.status is model.SubtaskStatus.FAILED and sub.message == "broke" and sub.ended_at is not None


def test_subtasks_are_numbered_in_order(db: Database) -> None:
    c = claimed_job(db)
    with db.write() as conn:
        for name in ("a", "b", "c"):
            transitions.start_subtask(conn, c.lease, name)
    with db.read() as conn:
        assert [(s.seq, s.name) for s in jobs.subtasks(conn, c.job.id)] == [(1, "a"), (2, "b"), (3, "c")]


def test_no_subtask_starts_without_the_lease(db: Database) -> None:
    c = claimed_job(db)
    with db.write() as conn:
        assert transitions.start_subtask(conn, stale(c), "sneaky") is None


def test_progress_is_written_only_under_the_lease(db: Database) -> None:
    c = claimed_job(db)
    with db.write() as conn:
        assert transitions.progress(conn, c.lease, 5, 10)
        assert not transitions.progress(conn, stale(c), 9, 10)
    job = get(db, c.job.id)
    assert (job.progress_done, job.progress_total) == (5, 10)


def test_a_description_changes_only_under_the_lease(db: Database) -> None:
    c = claimed_job(db, description="before")
    with db.write() as conn:
        assert not transitions.describe(conn, stale(c), "sneaky")
        assert transitions.describe(conn, c.lease, "after")
    assert get(db, c.job.id).description == "after"


def test_a_subtask_ends_only_under_the_lease(db: Database) -> None:
    c = claimed_job(db)
    with db.write() as conn:
        sub_id = transitions.start_subtask(conn, c.lease, "Rows 1-10")
        assert sub_id is not None
        assert not transitions.end_subtask(conn, stale(c), sub_id, model.SubtaskStatus.COMPLETED)
    with db.read() as conn:
        assert [s.status for s in jobs.subtasks(conn, c.job.id)] == [model.SubtaskStatus.IN_PROGRESS]


def test_a_log_line_is_written_only_under_the_lease(db: Database) -> None:
    c = claimed_job(db)
    with db.write() as conn:
        assert not transitions.log(conn, stale(c), "info", "sneaky")
        assert transitions.log(conn, c.lease, "info", "mine")
    with db.read() as conn:
        assert [line.message for line in jobs.log_lines(conn, c.job.id)] == ["mine"]


def test_a_file_is_attached_only_under_the_lease(db: Database) -> None:
    c = claimed_job(db)
    with db.write() as conn:
        assert (
            transitions.attach_file(conn, stale(c), model.FileKind.OUTPUT, "o.csv", "text/csv", 1, "0" * 64, "k")
            is None
        )
        assert transitions.attach_file(conn, c.lease, model.FileKind.OUTPUT, "o.csv", "text/csv", 1, "0" * 64, "k")
    with db.read() as conn:
        assert [f.name for f in jobs.files(conn, c.job.id)] == ["o.csv"]


def test_no_write_holds_once_the_job_has_ended(db: Database) -> None:
    c = claimed_job(db)
    finish(db, c, model.Status.COMPLETED)
    with db.write() as conn:
        assert not transitions.hold(conn, c.lease)
        assert not transitions.progress(conn, c.lease, 1, 1)
        assert transitions.start_subtask(conn, c.lease, "late") is None


def test_released_jobs_go_back_to_the_queue_without_spending_an_attempt(db: Database) -> None:
    c = claimed_job(db)
    with db.write() as conn:
        assert transitions.release(conn, [c.job.id], c.lease_token) == {c.job.id}
    job = get(db, c.job.id)
    assert job.status is model.Status.QUEUED and job.worker_id is None
    # the handed-back run keeps its number (its subtasks stay apart) and the job gets one more attempt
    assert job.attempt == 1 and job.max_attempts - job.attempt == c.job.max_attempts


def test_file_records_are_listed_with_their_job(db: Database) -> None:
    c = claimed_job(db)
    with db.write() as conn:
        file_id = transitions.add_file(
            conn, c.job.id, model.FileKind.ERROR_REPORT, "errors.csv", "text/csv", 12, "ab" * 32, "k" * 32
        )
    with db.read() as conn:
        (f,) = jobs.files(conn, c.job.id)
        assert jobs.get_file(conn, c.job.id, file_id) == f
    assert (f.kind, f.name, f.size) == (model.FileKind.ERROR_REPORT, "errors.csv", 12)


def test_a_file_is_not_found_through_another_job(db: Database) -> None:
    c = claimed_job(db)
    other = jobs.submit(db, jobs.NewJob(type="noop"))
    with db.write() as conn:
        file_id = transitions.add_file(conn, c.job.id, model.FileKind.OUTPUT, "o.csv", "text/csv", 1, "0" * 64, "k")
    from jobdeck import errors

    with db.read() as conn, pytest.raises(errors.FileNotFound):
        jobs.get_file(conn, other, file_id)


def test_finish_writes_the_traceback_to_the_job_log(db: Database) -> None:
    c = claimed_job(db)
    with db.write() as conn:
        transitions.finish_many(
            conn, [transitions.Outcome(c.job.id, c.lease_token, model.Status.FAILED, "boom", log="Traceback…")]
        )
    with db.read() as conn:
        lines = jobs.log_lines(conn, c.job.id)
        count = conn.execute(sa.select(sa.func.count()).select_from(schema.job_log)).scalar_one()
    assert [(line.level, line.message) for line in lines] == [("error", "Traceback…")] and count == 1


def test_the_store_makes_exactly_the_transitions_the_model_lists(db: Database) -> None:
    """Each store operation that moves a job, run once; the (before, after) pairs it makes are
    model.TRANSITIONS, no more and no fewer."""
    seen: set[tuple[model.Status, model.Status]] = set()

    def moved(job_id: int, before: model.Status) -> None:
        after = get(db, job_id).status
        seen.add((before, after))
        if after is model.Status.QUEUED:  # out of the way of the next claim
            with db.write() as conn:
                cancelling.request_cancel(conn, job_id)
            seen.add((model.Status.QUEUED, get(db, job_id).status))

    for status in (model.Status.COMPLETED, model.Status.FAILED, model.Status.CANCELLED):
        c = claimed_job(db)
        moved(c.job.id, model.Status.QUEUED)
        finish(db, c, status)
        moved(c.job.id, model.Status.IN_PROGRESS)
    c = claimed_job(db)
    with db.write() as conn:
        transitions.release(conn, [c.job.id], c.lease_token)
    moved(c.job.id, model.Status.IN_PROGRESS)
    for attempts in (2, 1):  # a lost worker: requeued while attempts remain, then failed
        lost = claimed_job(db, lease_seconds=0.05, max_attempts=attempts)
        time.sleep(0.1)
        with db.write() as conn:
            workers.reap(db, conn)
        moved(lost.job.id, model.Status.IN_PROGRESS)
    assert seen == set(model.TRANSITIONS)


def test_a_hand_back_is_kept_in_the_attempts_as_handed_back(db: Database) -> None:
    c = claimed_job(db)
    with db.write() as conn:
        transitions.release(conn, [c.job.id], c.lease_token)
    with db.read() as conn:
        (run,) = attempt_rows.for_job(conn, jobs.get(conn, c.job.id))
    assert (run.attempt, run.outcome, run.worker_id) == (1, model.AttemptOutcome.HANDED_BACK, "w1")


def test_a_retry_requeues_the_job_for_later_records_the_attempt_and_fails_its_open_subtasks(db: Database) -> None:
    c = claimed_job(db, max_attempts=3)
    with db.write() as conn:
        sub = transitions.start_subtask(conn, c.lease, "Half done")
        outcome = transitions.Outcome(c.job.id, c.lease_token, model.Status.QUEUED, "timeout talking to S3", None, 60)
        assert transitions.finish_many(conn, [outcome]) == {c.job.id}
    job = get(db, c.job.id)
    assert job.status is model.Status.QUEUED and job.lease_token is None and job.error is None
    assert job.not_before is not None and job.attempt == 1
    with db.read() as conn:
        (run,) = attempt_rows.for_job(conn, job)
        (subtask,) = jobs.subtasks(conn, c.job.id)
    assert (run.outcome, run.error) == (model.AttemptOutcome.RETRYING, "timeout talking to S3")
    assert run.ended_at is not None and 55 <= (job.not_before - run.ended_at).total_seconds() <= 65
    assert (subtask.id, subtask.status, subtask.attempt) == (sub, model.SubtaskStatus.FAILED, 1)


def test_a_retry_under_a_lost_lease_changes_nothing(db: Database) -> None:
    c = claimed_job(db, max_attempts=3)
    with db.write() as conn:
        outcome = transitions.Outcome(c.job.id, "0" * 32, model.Status.QUEUED, "late", retry_in=0)
        assert transitions.finish_many(conn, [outcome]) == set()
    assert get(db, c.job.id).status is model.Status.IN_PROGRESS
    with db.read() as conn:
        assert [a.outcome for a in attempt_rows.for_job(conn, get(db, c.job.id))] == [None]  # the run going on


def test_finishing_records_each_attempt_with_its_outcome(db: Database) -> None:
    done, failed = claimed_job(db), claimed_job(db)
    finish(db, done, model.Status.COMPLETED)
    finish(db, failed, model.Status.FAILED, "bad input")
    with db.read() as conn:
        (ok,) = attempt_rows.for_job(conn, jobs.get(conn, done.job.id))
        (bad,) = attempt_rows.for_job(conn, jobs.get(conn, failed.job.id))
    assert (ok.outcome, ok.error, ok.worker_id) == (model.AttemptOutcome.SUCCEEDED, None, "w1")
    assert (bad.outcome, bad.error) == (model.AttemptOutcome.FAILED, "bad input")
    assert ok.started_at is not None and ok.ended_at is not None and ok.started_at <= ok.ended_at


def stored_attempts(db: Database, job_id: int) -> int:
    a = schema.job_attempts
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(a.c.job_id == job_id)).scalar_one())


def test_a_job_that_runs_once_ends_with_its_attempt_read_from_its_row_and_none_stored(db: Database) -> None:
    c = claimed_job(db)
    finish(db, c, model.Status.COMPLETED)
    job = get(db, c.job.id)
    with db.read() as conn:
        (run,) = attempt_rows.for_job(conn, job)
    assert stored_attempts(db, c.job.id) == 0
    assert (run.attempt, run.ended_at, run.outcome) == (1, job.ended_at, model.AttemptOutcome.SUCCEEDED)


def test_a_retried_job_keeps_its_earlier_run_stored_and_its_last_in_its_row(db: Database) -> None:
    c = claimed_job(db, max_attempts=2)
    with db.write() as conn:
        transitions.finish_many(conn, [transitions.Outcome(c.job.id, c.lease_token, model.Status.QUEUED, "flaky")])
    with db.write() as conn:
        (again,) = claim.claim(db, conn, "w2", 1, 30)
    finish(db, again, model.Status.FAILED, "still broken")
    with db.read() as conn:
        history = attempt_rows.for_job(conn, jobs.get(conn, c.job.id))
    assert [(h.attempt, h.worker_id, h.outcome, h.error) for h in history] == [
        (1, "w1", model.AttemptOutcome.RETRYING, "flaky"),
        (2, "w2", model.AttemptOutcome.FAILED, "still broken"),
    ]
    assert stored_attempts(db, c.job.id) == 1


def test_a_last_attempt_stored_by_an_earlier_release_is_listed_once(db: Database) -> None:
    # Earlier releases stored every run that ended, the last one included: the history must not show it twice.
    c = claimed_job(db)
    finish(db, c, model.Status.COMPLETED)
    job = get(db, c.job.id)
    with db.write() as conn:
        conn.execute(
            sa.insert(schema.job_attempts).values(
                job_id=job.id,
                attempt=1,
                worker_id="w1",
                started_at=job.attempt_started_at,
                ended_at=job.ended_at,
                outcome=model.AttemptOutcome.SUCCEEDED.value,
            )
        )
    with db.read() as conn:
        history = attempt_rows.for_job(conn, job)
    assert [(h.attempt, h.outcome) for h in history] == [(1, model.AttemptOutcome.SUCCEEDED)]


def test_a_job_cancelled_before_it_ran_has_no_attempt(db: Database) -> None:
    job_id = jobs.submit(db, jobs.NewJob(type="noop"))
    with db.write() as conn:
        cancelling.request_cancel(conn, job_id)
    with db.read() as conn:
        assert attempt_rows.for_job(conn, jobs.get(conn, job_id)) == []
