"""Claiming: batches, order, leases from the database clock, and no job claimed twice."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import claim, jobs, rows, schema, transitions
from jobdeck.store.database import Database, db_now


def submit(db: Database, count: int = 1, **kw: object) -> list[int]:
    return jobs.submit_many(db, [jobs.NewJob(type="noop", **kw) for _ in range(count)])  # type: ignore[arg-type]


def test_claim_takes_queued_jobs_oldest_first_and_marks_them_in_progress(db: Database) -> None:
    ids = submit(db, 3)
    with db.write() as conn:
        claimed = claim.claim(db, conn, "w1", 2, lease_seconds=30)
    assert [c.job.id for c in claimed] == ids[:2]
    with db.read() as conn:
        rows = [jobs.get(conn, i) for i in ids]
    assert [r.status for r in rows] == [model.Status.IN_PROGRESS, model.Status.IN_PROGRESS, model.Status.QUEUED]
    assert rows[0].worker_id == "w1" and rows[0].attempt == 1 and rows[0].started_at is not None


def test_claim_gives_each_batch_its_own_lease_token(db: Database) -> None:
    submit(db, 2)
    with db.write() as conn:
        first = claim.claim(db, conn, "w1", 1, lease_seconds=30)
        second = claim.claim(db, conn, "w1", 1, lease_seconds=30)
    assert first[0].lease_token != second[0].lease_token


def test_claim_prefers_lower_priority_numbers(db: Database) -> None:
    low = submit(db, 1, priority=5)
    urgent = submit(db, 1, priority=0)
    with db.write() as conn:
        claimed = claim.claim(db, conn, "w1", 1, lease_seconds=30)
    assert [c.job.id for c in claimed] == urgent
    assert low


def test_claim_only_takes_jobs_from_its_queues(db: Database) -> None:
    submit(db, 1, queue="reports")
    with db.write() as conn:
        assert claim.claim(db, conn, "w1", 5, lease_seconds=30) == []
        assert len(claim.claim(db, conn, "w1", 5, lease_seconds=30, queues=("reports",))) == 1


def test_lease_expiry_comes_from_the_database_clock(db: Database) -> None:
    submit(db, 1)
    with db.write() as conn:
        claimed = claim.claim(db, conn, "w1", 1, lease_seconds=30)
        started = claimed[0].job.started_at
        expires = claimed[0].job.lease_expires_at
    assert started is not None and expires is not None
    assert 29 <= (expires - started).total_seconds() <= 31


def test_concurrent_claimers_never_take_the_same_job(db: Database) -> None:
    ids = submit(db, 300)
    taken: list[int] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while True:
            with db.write() as conn:
                batch = claim.claim(db, conn, name, 7, lease_seconds=30)
            if not batch:
                return
            with lock:
                taken.extend(c.job.id for c in batch)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == sorted(ids)
    with db.read() as conn:
        queued = conn.execute(
            sa.select(sa.func.count()).select_from(schema.jobs).where(schema.jobs.c.status == "queued")
        ).scalar_one()
    assert queued == 0


def test_a_claim_on_the_claim_connection_does_not_wait_for_its_wal_flush(db: Database) -> None:
    if not db.is_postgresql:
        pytest.skip("SQLite has one durability setting per connection: every commit waits for its fsync")
    (job_id,) = submit(db, 1)
    claims = claim.ClaimConnection(db)
    try:
        with claims.claiming() as conn:
            taken = claim.claim(db, conn, "w1", 1, lease_seconds=30)
            setting = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
    finally:
        claims.close()
    assert ([c.job.id for c in taken], setting) == ([job_id], "off")
    with db.read() as conn:
        assert jobs.get(conn, job_id).status is model.Status.IN_PROGRESS


def test_the_claim_connection_is_closed_rather_than_lent_to_other_writes(db: Database) -> None:
    if not db.is_postgresql:
        pytest.skip("the claim connection is PostgreSQL's")
    claims = claim.ClaimConnection(db)
    with claims.claiming() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    claims.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with db.read() as conn:
            pids = conn.exec_driver_sql("SELECT pid FROM pg_stat_activity").scalars().all()
        if pid not in pids:
            break
        time.sleep(0.05)
    assert pid not in pids


def test_a_claim_in_a_transaction_that_records_finished_runs_waits_for_the_wal_flush(db: Database) -> None:
    if not db.is_postgresql:
        pytest.skip("SQLite has one durability setting per connection: every commit waits for its fsync")
    submit(db, 2)
    with db.write() as conn:
        (first,) = claim.claim(db, conn, "w1", 1, lease_seconds=30)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SET synchronous_commit = on")  # a production server's default (tests run off)
        conn.commit()
        with conn.begin():
            done = transitions.Outcome(first.job.id, first.lease_token, model.Status.COMPLETED)
            assert transitions.finish_many(conn, [done]) == {first.job.id}
            assert len(claim.claim(db, conn, "w1", 1, lease_seconds=30)) == 1
            setting = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
    assert setting == "on"


def _due_in(db: Database, job_id: int) -> float:
    """Seconds from the database's clock now to the job's not_before."""
    with db.read() as conn:
        job = jobs.get(conn, job_id)
        now = conn.execute(sa.select(db_now())).scalar_one()
    assert job.not_before is not None
    if isinstance(now, str):  # SQLite answers the expression as text
        now = dt.datetime.fromisoformat(now)
    return (job.not_before - rows.utc(now)).total_seconds()  # type: ignore[operator,arg-type]


def test_a_delayed_job_is_not_claimed_before_its_time_by_the_database_clock_and_is_claimed_after(
    db: Database,
) -> None:
    (job_id,) = jobs.submit_many(db, [jobs.NewJob(type="noop", delay_seconds=2.0)])
    while (left := _due_in(db, job_id)) > 0.3:
        with db.write() as conn:
            assert claim.claim(db, conn, "w1", 5, lease_seconds=30) == [], f"claimed {left:.2f} s before its time"
        time.sleep(0.05)
    deadline = time.monotonic() + 60
    while True:
        with db.write() as conn:
            taken = claim.claim(db, conn, "w1", 5, lease_seconds=30)
        if taken:
            break
        assert time.monotonic() < deadline, "a due job was never claimed"
        time.sleep(0.05)
    assert [c.job.id for c in taken] == [job_id]
    assert _due_in(db, job_id) <= 0  # claimed at or after its time


def test_a_delayed_job_does_not_hold_back_the_jobs_queued_after_it(db: Database) -> None:
    later = jobs.submit(db, jobs.NewJob(type="noop", delay_seconds=3600))
    now = submit(db, 2)
    with db.write() as conn:
        claimed = claim.claim(db, conn, "w1", 5, lease_seconds=30)
    assert [c.job.id for c in claimed] == now
    with db.read() as conn:
        assert jobs.get(conn, later).status is model.Status.QUEUED


def test_a_job_to_run_at_a_time_already_past_is_claimed_at_once(db: Database) -> None:
    past = dt.datetime(2020, 1, 1, 12, 0)  # naive: UTC
    job_id = jobs.submit(db, jobs.NewJob(type="noop", not_before=past))
    with db.read() as conn:
        assert jobs.get(conn, job_id).not_before == past.replace(tzinfo=dt.UTC)
    with db.write() as conn:
        assert [c.job.id for c in claim.claim(db, conn, "w1", 5, lease_seconds=30)] == [job_id]


def test_a_batch_of_jobs_keeps_each_ones_own_time(db: Database) -> None:
    at = dt.datetime(2099, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    new = jobs.NewJob
    news = [new(type="noop"), new(type="noop", not_before=at), new(type="noop", delay_seconds=600)]
    ids = jobs.submit_many(db, news)
    with db.read() as conn:
        got = [jobs.get(conn, i).not_before for i in ids]
    assert got[0] is None and got[1] == at.astimezone(dt.UTC) and got[2] is not None
    with db.write() as conn:
        assert [c.job.id for c in claim.claim(db, conn, "w1", 5, lease_seconds=30)] == ids[:1]


def test_a_new_attempt_starts_with_its_progress_reset_and_its_own_start_time(db: Database) -> None:
    (job_id,) = submit(db, 1, max_attempts=2)
    with db.write() as conn:
        (first,) = claim.claim(db, conn, "w1", 1, lease_seconds=30)
        transitions.progress(conn, first.lease, 7, 10)
        transitions.release(conn, [job_id], first.lease_token)
    with db.write() as conn:
        (second,) = claim.claim(db, conn, "w2", 1, lease_seconds=30)
    assert (second.job.progress_done, second.job.progress_total) == (0, None)
    assert second.job.attempt == first.job.attempt + 1
    assert second.job.attempt_started_at is not None and first.job.attempt_started_at is not None
    assert second.job.attempt_started_at >= first.job.attempt_started_at
    assert second.job.started_at == first.job.started_at  # the grid's Start: when the job first started


def test_a_claimed_job_reads_as_the_ledger_reads_it(db: Database) -> None:
    [job_id] = submit(
        db,
        description="Export orders to orders.csv",
        params={"rows": [1, "two", None], "nested": {"ok": True}},
        run_at="/reports",
        priority=3,
        max_attempts=2,
        not_before=dt.datetime(2020, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC),
    )
    with db.write() as conn:
        [claimed] = claim.claim(db, conn, "w1", 1, lease_seconds=30)
    with db.read() as conn:
        stored = jobs.get(conn, job_id)
    assert claimed.job == stored
    assert claimed.job.params == {"rows": [1, "two", None], "nested": {"ok": True}}
    assert claimed.job.lease_token == claimed.lease_token


def test_a_claim_from_several_queues_takes_from_each_and_from_no_other(db: Database) -> None:
    wanted = [submit(db, queue=q)[0] for q in ("reports", "imports", "mail")]
    submit(db, queue="other")
    with db.write() as conn:
        claimed = claim.claim(db, conn, "w1", 10, lease_seconds=30, queues=("reports", "imports", "mail"))
    assert sorted(c.job.id for c in claimed) == wanted
