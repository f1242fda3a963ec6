"""Cancelling: a queued job ends at once, a running one is asked to stop, a finished one is left alone."""

from __future__ import annotations

from jobdeck import model
from jobdeck.store import cancelling, claim, jobs, transitions, workers
from jobdeck.store.database import Database


def claimed_job(db: Database) -> model.Claimed:
    jobs.submit(db, jobs.NewJob(type="noop"))
    with db.write() as conn:
        return claim.claim(db, conn, "w1", 1, lease_seconds=30)[0]


def get(db: Database, job_id: int) -> model.Job:
    with db.read() as conn:
        return jobs.get(conn, job_id)


def finish(db: Database, c: model.Claimed, status: model.Status) -> set[int]:
    with db.write() as conn:
        return transitions.finish_many(conn, [transitions.Outcome(c.job.id, c.lease_token, status)])


def test_cancelling_a_queued_job_ends_it_at_once(db: Database) -> None:
    job_id = jobs.submit(db, jobs.NewJob(type="noop"))
    with db.write() as conn:
        assert cancelling.request_cancel(conn, job_id) is model.Status.CANCELLED
    job = get(db, job_id)
    assert job.status is model.Status.CANCELLED and job.ended_at is not None


def test_cancelling_a_running_job_asks_it_to_stop(db: Database) -> None:
    c = claimed_job(db)
    with db.write() as conn:
        assert cancelling.request_cancel(conn, c.job.id) is model.Status.IN_PROGRESS
        held = workers.heartbeat(conn, "w1", 30)
    assert [(h.job_id, h.cancel_requested) for h in held] == [(c.job.id, True)]


def test_cancelling_a_finished_job_does_nothing(db: Database) -> None:
    c = claimed_job(db)
    finish(db, c, model.Status.COMPLETED)
    with db.write() as conn:
        assert cancelling.request_cancel(conn, c.job.id) is None
    assert get(db, c.job.id).status is model.Status.COMPLETED


def test_cancelling_several_jobs_answers_each_ones_status_after_and_leaves_out_the_finished(db: Database) -> None:
    queued = jobs.submit(db, jobs.NewJob(type="noop"))
    running = claimed_job(db)
    done = claimed_job(db)
    finish(db, done, model.Status.COMPLETED)
    with db.write() as conn:
        after = cancelling.request_cancel_many(conn, [queued, running.job.id, done.job.id])
    assert after == {queued: model.Status.CANCELLED, running.job.id: model.Status.IN_PROGRESS}
    assert get(db, done.job.id).status is model.Status.COMPLETED
