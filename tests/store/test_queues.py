"""Queue state in the ledger: pause records who and when, depth and the oldest wait by the database clock, and the
claim takes nothing from a paused queue."""

from __future__ import annotations

import time

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import claim, jobs, queues, schema
from jobdeck.store.database import Database


def add_user(db: Database, name: str) -> int:
    with db.write() as conn:
        return int(
            conn.execute(
                sa.insert(schema.users)
                .values(username=name, display_name=name, password_hash="x", is_admin=True, created_at=sa.func.now())
                .returning(schema.users.c.id)
            ).scalar_one()
        )


def state(db: Database, name: str) -> queues.QueueState:
    with db.read() as conn:
        return next(s for s in queues.states(conn, [name]) if s.name == name)


def test_a_queue_never_paused_is_running_with_no_record(db: Database) -> None:
    found = state(db, "default")
    assert (found.paused, found.paused_at, found.paused_by, found.depth) == (False, None, None, 0)


def test_pausing_records_when_and_by_whom(db: Database) -> None:
    ada = add_user(db, "ada")
    with db.write() as conn:
        assert queues.set_paused(conn, "default", True, ada)
    found = state(db, "default")
    assert found.paused and found.paused_by == "ada" and found.paused_at is not None


def test_pausing_a_paused_queue_keeps_the_first_record(db: Database) -> None:
    ada, bea = add_user(db, "ada"), add_user(db, "bea")
    with db.write() as conn:
        queues.set_paused(conn, "default", True, ada)
    with db.write() as conn:
        assert not queues.set_paused(conn, "default", True, bea)
    assert state(db, "default").paused_by == "ada"


def test_resuming_lifts_the_pause_and_keeps_the_record_of_it(db: Database) -> None:
    ada = add_user(db, "ada")
    with db.write() as conn:
        queues.set_paused(conn, "default", True, ada)
    with db.write() as conn:
        assert queues.set_paused(conn, "default", False, ada)
        assert not queues.set_paused(conn, "default", False, ada)
    found = state(db, "default")
    assert not found.paused and found.paused_by == "ada" and found.paused_at is not None


def test_a_pause_by_a_caller_without_a_user_row_is_recorded_as_nobody(db: Database) -> None:
    with db.write() as conn:
        queues.set_paused(conn, "default", True, 0)
    found = state(db, "default")
    assert found.paused and found.paused_by is None


def test_deleting_the_user_who_paused_keeps_the_pause(db: Database) -> None:
    ada = add_user(db, "ada")
    with db.write() as conn:
        queues.set_paused(conn, "default", True, ada)
        conn.execute(sa.delete(schema.users).where(schema.users.c.id == ada))
    found = state(db, "default")
    assert found.paused and found.paused_by is None


def test_depth_and_oldest_wait_count_only_queued_jobs_of_the_queue(db: Database) -> None:
    first = jobs.submit(db, jobs.NewJob(type="noop", queue="mail"))
    jobs.submit(db, jobs.NewJob(type="noop", queue="mail"))
    jobs.submit(db, jobs.NewJob(type="noop", queue="other"))
    with db.write() as conn:
        claim.claim(db, conn, "w1", 1, lease_seconds=60, queues=["other"])
    time.sleep(0.05)
    found = state(db, "mail")
    with db.read() as conn:
        created = jobs.get(conn, first).created_at
    assert found.depth == 2 and found.oldest_at == created and found.oldest_age_s > 0
    assert state(db, "other").depth == 0 and state(db, "other").oldest_age_s == 0


def test_a_job_delayed_into_the_future_counts_in_the_depth_but_is_not_yet_waiting(db: Database) -> None:
    jobs.submit(db, jobs.NewJob(type="noop", queue="mail", delay_seconds=3600))
    found = state(db, "mail")
    assert found.depth == 1 and found.oldest_at is None and found.oldest_age_s == 0


def test_a_delayed_job_waits_from_its_not_before_not_from_its_creation(db: Database) -> None:
    job_id = jobs.submit(db, jobs.NewJob(type="noop", queue="mail", delay_seconds=0.2))
    time.sleep(0.4)
    with db.read() as conn:
        job = jobs.get(conn, job_id)
    found = state(db, "mail")
    assert job.not_before is not None and job.not_before > job.created_at
    assert found.oldest_at == job.not_before and found.oldest_age_s > 0


def test_known_queues_are_the_registered_the_active_and_the_recorded(db: Database) -> None:
    jobs.submit(db, jobs.NewJob(type="noop", queue="busy"))
    done = jobs.submit(db, jobs.NewJob(type="noop", queue="finished"))
    with db.write() as conn:
        conn.execute(sa.update(schema.jobs).where(schema.jobs.c.id == done).values(status="completed"))
        queues.set_paused(conn, "quiet", True, None)
    with db.read() as conn:
        assert queues.known(conn, {"default"}) == {"default", "busy", "quiet"}


def test_the_claim_takes_nothing_from_a_paused_queue_and_everything_once_resumed(db: Database) -> None:
    held = jobs.submit(db, jobs.NewJob(type="noop", queue="mail"))
    free = jobs.submit(db, jobs.NewJob(type="noop", queue="default"))
    with db.write() as conn:
        queues.set_paused(conn, "mail", True, None)
    with db.write() as conn:
        claimed = claim.claim(db, conn, "w1", 10, lease_seconds=60, queues=["mail", "default"])
    assert [c.job.id for c in claimed] == [free]
    with db.write() as conn:
        assert claim.claim(db, conn, "w1", 10, lease_seconds=60, queues=["mail"]) == []
        queues.set_paused(conn, "mail", False, None)
    with db.write() as conn:
        claimed = claim.claim(db, conn, "w1", 10, lease_seconds=60, queues=["mail"])
    assert [c.job.id for c in claimed] == [held]
    assert claimed[0].job.status is model.Status.IN_PROGRESS
