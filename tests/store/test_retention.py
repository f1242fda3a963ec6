"""The retention purge: old finished jobs and their files go; recent and running ones stay."""

from __future__ import annotations

import io

import sqlalchemy as sa

from jobdeck import errors, model
from jobdeck.service import Service
from jobdeck.store import claim, schema, transitions


def age(service: Service, job_id: int, days: int) -> None:
    """Pretend a job was created (and ended, if it did) `days` ago."""
    j = schema.jobs
    with service.db.write() as conn:
        row = conn.execute(sa.select(j.c.created_at, j.c.ended_at).where(j.c.id == job_id)).one()
        conn.execute(
            sa.update(j)
            .where(j.c.id == job_id)
            .values(
                created_at=_shift(row.created_at, days), ended_at=_shift(row.ended_at, days) if row.ended_at else None
            )
        )


def _shift(value: object, days: int) -> object:
    import datetime as dt

    from jobdeck.store import rows

    assert isinstance(value, dt.datetime)
    shifted = rows.utc(value)
    assert shifted is not None
    return rows.to_db_time(shifted - dt.timedelta(days=days))


def attach_input(service: Service, job_id: int, content: bytes) -> str:
    stored = service.files.put(io.BytesIO(content))
    with service.db.write() as conn:
        transitions.add_file(
            conn, job_id, model.FileKind.INPUT, "in.csv", "text/csv", stored.size, stored.sha256, stored.key
        )
    return stored.key


def test_purge_deletes_old_finished_jobs_with_their_files_and_keeps_the_rest(
    service: Service, admin: model.User
) -> None:
    old_done = service.start_job(admin, "t_steps", {"n": 2})
    old_failed = service.start_job(admin, "t_fail_always")
    recent = service.start_job(admin, "t_steps", {"n": 1})
    service.worker(concurrency=1).run(burst=True)
    old_running = service.start_job(admin, "noop")  # running: never purged, however old
    with service.db.write() as conn:
        claim.claim(service.db, conn, "elsewhere", 1, lease_seconds=300)
    key = attach_input(service, old_done.id, b"a,b\n1,2\n")
    for job in (old_done, old_failed, old_running):
        age(service, job.id, 40)

    purge = service.start_job(admin, "purge_jobs", {"days": 30})
    service.worker(concurrency=1).run(burst=True)

    detail = service.job_detail(admin, purge.id)
    assert detail.job.status is model.Status.COMPLETED
    assert detail.subtasks[0].message == "2 jobs deleted"
    for gone in (old_done.id, old_failed.id):
        try:
            service.get_job(admin, gone)
            raise AssertionError(f"job {gone} should have been purged")
        except errors.JobNotFound:
            pass
    assert service.get_job(admin, recent.id).status is model.Status.COMPLETED
    assert service.get_job(admin, old_running.id).status is model.Status.IN_PROGRESS
    try:
        b"".join(service.files.open(key))
        raise AssertionError("the purged job's file should be gone from storage")
    except errors.FileNotFound:
        pass


def test_purge_keeps_a_file_still_used_by_a_retry(service: Service, admin: model.User) -> None:
    failed = service.start_job(admin, "t_fail_always")
    service.worker(concurrency=1).run(burst=True)
    key = attach_input(service, failed.id, b"x\n")
    retry = service.retry(admin, failed.id)
    age(service, failed.id, 40)
    service.start_job(admin, "purge_jobs", {"days": 30})
    service.worker(concurrency=1).run(burst=True)
    assert b"".join(service.files.open(key)) == b"x\n"
    assert service.get_job(admin, retry.id).retry_of is None
