"""The workers as an operator sees them: each with its heartbeat and the jobs it runs now."""

from __future__ import annotations

from jobdeck.store import claim, jobs, roster, workers
from jobdeck.store.database import Database


def test_each_worker_lists_the_jobs_it_runs_now_and_no_one_elses(db: Database) -> None:
    ids = jobs.submit_many(db, [jobs.NewJob(type="noop") for _ in range(3)])
    with db.write() as conn:
        workers.register(conn, "host-a:1:aa", "host-a", 1, 4)
        workers.register(conn, "host-b:2:bb", "host-b", 2, 8)
        claim.claim(db, conn, "host-a:1:aa", 2, lease_seconds=60)
    with db.read() as conn:
        a, b = roster.workers(conn)
    assert (a.hostname, a.pid, a.concurrency) == ("host-a", 1, 4)
    assert [r.job_id for r in a.running] == ids[:2] and {r.type for r in a.running} == {"noop"}
    assert all(r.started_at is not None for r in a.running)
    assert (b.hostname, b.running) == ("host-b", [])
    assert a.started_at is not None and a.heartbeat_at is not None and a.heartbeat_age_s >= 0


def test_a_finished_job_is_no_longer_listed_as_running(db: Database) -> None:
    jobs.submit(db, jobs.NewJob(type="noop"))
    with db.write() as conn:
        workers.register(conn, "w1", "host-a", 1, 1)
        (held,) = claim.claim(db, conn, "w1", 1, lease_seconds=60)
        conn.exec_driver_sql(f"UPDATE jobs SET status = 'completed' WHERE id = {held.job.id}")
    with db.read() as conn:
        (w,) = roster.workers(conn)
    assert w.running == []
