"""Claiming: batches, order, leases from the database clock, and no job claimed twice."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from jobdeck import model
from jobdeck.store import claim, jobs, schema
from jobdeck.store.database import Database


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


def test_a_postgresql_claim_skips_only_its_own_commits_wal_flush(db: Database) -> None:
    if not db.is_postgresql:
        return  # SQLite has one durability setting per connection; every commit waits for its fsync
    submit(db, 1)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SET synchronous_commit = on")  # a production server's default (tests run off)
        conn.commit()
        with conn.begin():
            claim.claim(db, conn, "w1", 1, lease_seconds=30)
            during = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
        with conn.begin():
            later = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
    assert (during, later) == ("off", "on")
