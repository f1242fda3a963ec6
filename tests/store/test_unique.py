"""Unique jobs: at most one queued or in-progress job of a type holds a unique key, whoever races to add it."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import cancelling, claim, jobs, schema, transitions
from jobdeck.store.database import Database

THREADS = 8


def count_jobs(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(schema.jobs)).scalar_one())


def unique(key: str = "north", type_: str = "noop") -> jobs.NewJob:
    return jobs.NewJob(type=type_, unique_key=key)


def test_eight_threads_enqueueing_the_same_unique_job_at_once_get_one_job_and_its_id(db: Database) -> None:
    start = threading.Barrier(THREADS)
    ids: list[int] = []
    failures: list[BaseException] = []

    def enqueue() -> None:
        try:
            start.wait(timeout=60)
            ids.append(jobs.submit(db, unique()))
        except BaseException as exc:  # a failure in a thread must fail the test, not vanish
            failures.append(exc)

    threads = [threading.Thread(target=enqueue) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert len(ids) == THREADS and len(set(ids)) == 1
    assert count_jobs(db) == 1


def test_a_unique_job_that_is_in_progress_still_holds_its_key(db: Database) -> None:
    first = jobs.submit(db, unique())
    with db.write() as conn:
        (claimed,) = claim.claim(db, conn, "w1", 1, 30)
    assert claimed.job.id == first
    assert jobs.submit(db, unique()) == first


def test_after_the_unique_job_completes_a_new_one_can_be_enqueued(db: Database) -> None:
    first = jobs.submit(db, unique())
    with db.write() as conn:
        (claimed,) = claim.claim(db, conn, "w1", 1, 30)
        transitions.finish_many(conn, [transitions.Outcome(first, claimed.lease_token, model.Status.COMPLETED)])
    second = jobs.submit(db, unique())
    assert second != first
    assert count_jobs(db) == 2


def test_after_the_unique_job_is_cancelled_a_new_one_can_be_enqueued(db: Database) -> None:
    first = jobs.submit(db, unique())
    with db.write() as conn:
        cancelling.request_cancel(conn, first)
    assert jobs.submit(db, unique()) != first


def test_the_same_key_in_two_job_types_makes_two_jobs(db: Database) -> None:
    assert jobs.submit(db, unique(type_="noop")) != jobs.submit(db, unique(type_="sleep"))


def test_two_keys_of_one_type_make_two_jobs(db: Database) -> None:
    assert jobs.submit(db, unique("north")) != jobs.submit(db, unique("south"))


def test_a_batch_that_repeats_a_unique_key_makes_one_job_for_it(db: Database) -> None:
    ids = jobs.submit_many(db, [unique("north"), jobs.NewJob(type="noop"), unique("north")])
    assert ids[0] == ids[2] and ids[1] != ids[0]
    assert count_jobs(db) == 2


def test_jobs_without_a_key_are_never_merged(db: Database) -> None:
    ids = jobs.submit_many(db, [jobs.NewJob(type="noop") for _ in range(3)])
    assert len(set(ids)) == 3
