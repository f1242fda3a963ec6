"""Heartbeats extend leases in one statement; the reaper requeues or fails what lost workers held."""

from __future__ import annotations

import time

from jobdeck import model
from jobdeck.store import attempts, claim, jobs, transitions, workers
from jobdeck.store.database import Database


def test_heartbeat_extends_every_lease_the_worker_holds(db: Database) -> None:
    jobs.submit_many(db, [jobs.NewJob(type="noop") for _ in range(3)])
    with db.write() as conn:
        workers.register(conn, "w1", "host-a", 123, 4)
        claimed = claim.claim(db, conn, "w1", 3, lease_seconds=1)
    with db.write() as conn:
        held = workers.heartbeat(conn, "w1", lease_seconds=60)
    assert sorted(h.job_id for h in held) == sorted(c.job.id for c in claimed)
    with db.read() as conn:
        job = jobs.get(conn, claimed[0].job.id)
    assert job.lease_expires_at is not None and job.started_at is not None
    assert (job.lease_expires_at - job.started_at).total_seconds() > 50


def test_heartbeat_does_not_extend_another_workers_leases(db: Database) -> None:
    jobs.submit(db, jobs.NewJob(type="noop"))
    with db.write() as conn:
        claim.claim(db, conn, "w1", 1, lease_seconds=30)
        assert workers.heartbeat(conn, "w2", lease_seconds=30) == []


def test_reaper_requeues_an_expired_job_with_attempts_left(db: Database) -> None:
    job_id = jobs.submit(db, jobs.NewJob(type="noop", max_attempts=3))
    with db.write() as conn:
        workers.register(conn, "w1", "host-a", 4242, 1)
        claim.claim(db, conn, "w1", 1, lease_seconds=0.05)
    time.sleep(0.1)
    with db.write() as conn:
        (reaped,) = workers.reap(db, conn)
    assert reaped.requeued and "host-a pid 4242" in reaped.message
    with db.read() as conn:
        job = jobs.get(conn, job_id)
    assert job.status is model.Status.QUEUED and job.worker_id is None and job.attempt == 1


def test_reaper_fails_an_expired_job_on_its_last_attempt_naming_the_lost_worker(db: Database) -> None:
    job_id = jobs.submit(db, jobs.NewJob(type="noop", max_attempts=1))
    with db.write() as conn:
        workers.register(conn, "w1", "host-a", 4242, 1)
        claim.claim(db, conn, "w1", 1, lease_seconds=0.05)
    time.sleep(0.1)
    with db.write() as conn:
        workers.reap(db, conn)
    with db.read() as conn:
        job = jobs.get(conn, job_id)
        log = jobs.log_lines(conn, job_id)
    assert job.status is model.Status.FAILED and job.failed_at is not None
    assert (
        job.error
        == "The worker running this job stopped 1 time (last: host-a, pid 4242, no heartbeat within its lease)"
    )
    assert log[0].message == job.error and model.stopped_its_workers(job)


def test_a_job_whose_worker_died_on_every_attempt_is_failed_counting_them_and_naming_the_last(db: Database) -> None:
    job_id = jobs.submit(db, jobs.NewJob(type="noop", max_attempts=3))
    for n in (1, 2, 3):
        with db.write() as conn:
            workers.register(conn, f"w{n}", f"host-{n}", 100 + n, 1)
            claim.claim(db, conn, f"w{n}", 1, lease_seconds=0.05)
        time.sleep(0.1)
        with db.write() as conn:
            (reaped,) = workers.reap(db, conn)
        assert reaped.requeued is (n < 3)
    with db.read() as conn:
        job = jobs.get(conn, job_id)
    assert job.status is model.Status.FAILED
    assert (
        job.error
        == "The worker running this job stopped 3 times (last: host-3, pid 103, no heartbeat within its lease)"
    )


def test_reaper_leaves_live_leases_alone(db: Database) -> None:
    jobs.submit(db, jobs.NewJob(type="noop"))
    with db.write() as conn:
        claim.claim(db, conn, "w1", 1, lease_seconds=30)
        assert workers.reap(db, conn) == []


def test_live_workers_are_those_heard_from_recently(db: Database) -> None:
    with db.write() as conn:
        workers.register(conn, "w1", "host-a", 1, 4)
    with db.read() as conn:
        assert [w.id for w in workers.live(conn, within_s=30)] == ["w1"]
    with db.write() as conn:
        workers.deregister(conn, "w1")
    with db.read() as conn:
        assert workers.live(conn, within_s=30) == []


def attempt_outcomes(db: Database, job_id: int) -> list[tuple[int, model.AttemptOutcome | None, str | None]]:
    with db.read() as conn:
        return [(a.attempt, a.outcome, a.worker_id) for a in attempts.for_job(conn, jobs.get(conn, job_id))]


def test_the_reaper_records_each_lost_attempt_with_its_worker(db: Database) -> None:
    job_id = jobs.submit(db, jobs.NewJob(type="noop", max_attempts=2))
    for n in (1, 2):
        with db.write() as conn:
            claim.claim(db, conn, f"w{n}", 1, lease_seconds=0.05)
        time.sleep(0.1)
        with db.write() as conn:
            workers.reap(db, conn)
    lost = model.AttemptOutcome.LOST
    assert attempt_outcomes(db, job_id) == [(1, lost, "w1"), (2, lost, "w2")]


def test_a_job_that_raised_once_and_then_lost_its_last_worker_is_not_called_a_worker_killer(db: Database) -> None:
    job_id = jobs.submit(db, jobs.NewJob(type="noop", max_attempts=2))
    with db.write() as conn:
        (first,) = claim.claim(db, conn, "w1", 1, lease_seconds=30)
        outcome = transitions.Outcome(job_id, first.lease_token, model.Status.QUEUED, "flaky network", retry_in=0)
        assert transitions.finish_many(conn, [outcome]) == {job_id}
    with db.write() as conn:
        workers.register(conn, "w2", "host-b", 77, 1)
        claim.claim(db, conn, "w2", 1, lease_seconds=0.05)
    time.sleep(0.1)
    with db.write() as conn:
        (reaped,) = workers.reap(db, conn)
    assert not reaped.requeued
    with db.read() as conn:
        job = jobs.get(conn, job_id)
    assert job.status is model.Status.FAILED and not model.stopped_its_workers(job)
    assert job.error == "Worker lost (host-b pid 77) on attempt 2 of 2; no attempts left"
    assert [o for _, o, _ in attempt_outcomes(db, job_id)] == [model.AttemptOutcome.RETRYING, model.AttemptOutcome.LOST]
