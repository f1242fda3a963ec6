"""Submitting and reading jobs: ids, idempotency, caller transactions, a missing job."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from jobdeck import errors, model
from jobdeck.store import claim, jobs, schema, transitions, users
from jobdeck.store.database import Database


def make_user(db: Database, name: str) -> int:
    with db.write() as conn:
        return users.create(conn, name, name.title(), "x", is_admin=False).id


def test_submit_returns_the_new_jobs_id_and_stores_it_queued(db: Database) -> None:
    job_id = jobs.submit(db, jobs.NewJob(type="noop", description="Do nothing", params={"a": 1}, run_at="/x"))
    with db.read() as conn:
        job = jobs.get(conn, job_id)
    assert job.status is model.Status.QUEUED
    assert (job.type, job.description, job.params, job.run_at) == ("noop", "Do nothing", {"a": 1}, "/x")
    assert job.attempt == 0 and job.started_at is None and job.ended_at is None
    assert job.created_at.tzinfo is dt.UTC


def test_submit_many_returns_ids_in_order(db: Database) -> None:
    ids = jobs.submit_many(db, [jobs.NewJob(type="noop", description=str(i)) for i in range(5)])
    with db.read() as conn:
        assert [jobs.get(conn, i).description for i in ids] == ["0", "1", "2", "3", "4"]


def test_submit_with_a_known_idempotency_key_returns_the_existing_job(db: Database) -> None:
    first = jobs.submit(db, jobs.NewJob(type="noop", idempotency_key="nightly-2026-11-25"))
    again = jobs.submit(db, jobs.NewJob(type="noop", idempotency_key="nightly-2026-11-25"))
    assert again == first


def test_submit_inside_the_callers_transaction_rolls_back_with_it(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as conn:
        jobs.submit(db, jobs.NewJob(type="noop"), conn)
        raise RuntimeError("the caller's business write failed")
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.jobs)).scalar_one() == 0


def test_get_of_a_missing_job_raises_job_not_found(db: Database) -> None:
    with db.read() as conn, pytest.raises(errors.JobNotFound):
        jobs.get(conn, 404)


def test_completed_subtask_names_span_every_attempt_while_the_detail_reads_one(db: Database) -> None:
    job_id = jobs.submit(db, jobs.NewJob(type="noop", max_attempts=3))
    for n, name in ((1, "Rows 1-100"), (2, "Rows 101-200")):
        with db.write() as conn:
            (c,) = claim.claim(db, conn, f"w{n}", 1, lease_seconds=30)
            sub = transitions.start_subtask(conn, c.lease, name)
            assert sub is not None
            transitions.end_subtask(conn, c.lease, sub, model.SubtaskStatus.COMPLETED)
            transitions.release(conn, [job_id], c.lease_token)
    with db.read() as conn:
        assert jobs.completed_subtask_names(conn, job_id) == {"Rows 1-100", "Rows 101-200"}
        assert [s.name for s in jobs.subtasks(conn, job_id, attempt=2)] == ["Rows 101-200"]
        assert [s.attempt for s in jobs.subtasks(conn, job_id)] == [1, 2]


def run_by_names(db: Database, ids: list[int]) -> list[str]:
    with db.read() as conn:
        found = dict(conn.execute(sa.select(schema.jobs.c.id, schema.jobs.c.run_by_name)).all())
    return [found[i] for i in ids]


def test_submit_copies_the_users_name_into_the_job_and_leaves_it_empty_for_the_system(db: Database) -> None:
    alice = make_user(db, "alice")
    ids = [jobs.submit(db, jobs.NewJob(type="noop", run_by_id=alice)), jobs.submit(db, jobs.NewJob(type="noop"))]
    assert run_by_names(db, ids) == ["alice", ""]


def test_submit_many_copies_each_jobs_users_name(db: Database) -> None:
    # More than one job: PostgreSQL writes them with its batch insert.
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    ids = jobs.submit_many(db, [jobs.NewJob(type="noop", run_by_id=u) for u in (bob, None, alice, bob)])
    assert run_by_names(db, ids) == ["bob", "", "alice", "bob"]


def test_a_job_with_a_key_gets_its_users_name_too(db: Database) -> None:
    alice = make_user(db, "alice")
    keyed = jobs.NewJob(type="noop", run_by_id=alice, idempotency_key="k1")
    ids = jobs.submit_many(db, [keyed, jobs.NewJob(type="noop", unique_key="u1")])
    assert run_by_names(db, ids) == ["alice", ""]
