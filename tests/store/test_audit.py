"""The audit trail's rows: written with the action, timed by the database, kept with the job and gone with it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from jobdeck import model
from jobdeck.service import Service
from jobdeck.store import audit, retention, schema
from jobdeck.store.database import db_now


def database_time(service: Service) -> dt.datetime:
    with service.db.read() as conn:
        value = conn.execute(sa.select(db_now())).scalar_one()
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def test_an_entry_names_the_actor_the_action_and_the_database_time(service: Service, alice: model.User) -> None:
    job = service.start_job(alice, "t_echo")
    before = database_time(service)
    with service.db.write() as conn:
        audit.record(conn, job.id, alice, "cancel", "asked to stop")
    after = database_time(service)
    with service.db.read() as conn:
        [entry] = audit.events(conn, job.id)
    assert (entry.job_id, entry.actor_id, entry.actor, entry.action, entry.detail) == (
        job.id,
        alice.id,
        "alice",
        "cancel",
        "asked to stop",
    )
    assert before <= entry.at <= after


def test_entries_come_oldest_first(service: Service, alice: model.User) -> None:
    job = service.start_job(alice, "t_echo")
    with service.db.write() as conn:
        for action in ("retry", "bulk_retry", "bulk_cancel"):
            audit.record(conn, job.id, alice, action)  # type: ignore[arg-type]
    with service.db.read() as conn:
        assert [e.action for e in audit.events(conn, job.id)] == ["retry", "bulk_retry", "bulk_cancel"]


def test_an_actor_that_is_not_a_stored_user_is_kept_by_name_only(service: Service, alice: model.User) -> None:
    job = service.start_job(alice, "t_echo")
    console = model.User(id=0, username="console", display_name="Console", is_admin=True)
    with service.db.write() as conn:
        audit.record(conn, job.id, console, "cancel")
        audit.record(conn, job.id, None, "retry")
    with service.db.read() as conn:
        entries = audit.events(conn, job.id)
    assert [(e.actor_id, e.actor) for e in entries] == [(None, "console"), (None, "system")]


def test_deleting_the_actor_keeps_the_entry_under_their_name(service: Service, bob: model.User) -> None:
    job = service.start_job(bob, "t_echo")
    service.cancel(bob, job.id)
    with service.db.write() as conn:
        conn.execute(sa.update(schema.jobs).values(run_by_id=None))
        conn.execute(sa.delete(schema.sessions).where(schema.sessions.c.user_id == bob.id))
        conn.execute(sa.delete(schema.users).where(schema.users.c.id == bob.id))
    with service.db.read() as conn:
        [entry] = audit.events(conn, job.id)
    assert (entry.actor_id, entry.actor, entry.action) == (None, "bob", "cancel")


def test_the_purge_deletes_a_jobs_entries_with_it(service: Service, alice: model.User) -> None:
    job = service.start_job(alice, "t_echo")
    kept = service.start_job(alice, "t_echo")
    service.cancel(alice, job.id)
    service.cancel(alice, kept.id)
    with service.db.write() as conn:
        conn.execute(
            sa.update(schema.jobs)
            .where(schema.jobs.c.id == job.id)
            .values(ended_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), created_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        )
        purged = retention.purge_batch(conn, dt.datetime(2001, 1, 1, tzinfo=dt.UTC), 100)
    assert purged.jobs == 1
    with service.db.read() as conn:
        remaining = conn.execute(sa.select(schema.job_events.c.job_id)).scalars().all()
    assert remaining == [kept.id]


def test_cancelling_several_jobs_cancels_the_queued_asks_the_running_and_records_only_those(
    service: Service, alice: model.User
) -> None:
    queued, running, finished = (service.start_job(alice, "t_echo") for _ in range(3))
    with service.db.write() as conn:
        conn.execute(sa.update(schema.jobs).where(schema.jobs.c.id == running.id).values(status="in_progress"))
        conn.execute(sa.update(schema.jobs).where(schema.jobs.c.id == finished.id).values(status="completed"))
        after = audit.cancel_many(conn, [queued.id, running.id, finished.id], alice, "bulk_cancel")
    assert after == {queued.id: model.Status.CANCELLED, running.id: model.Status.IN_PROGRESS}
    with service.db.read() as conn:
        trails = {
            job.id: [(e.actor, e.action, e.detail) for e in audit.events(conn, job.id)]
            for job in (queued, running, finished)
        }
    assert trails == {
        queued.id: [("alice", "bulk_cancel", "")],
        running.id: [("alice", "bulk_cancel", "asked to stop")],
        finished.id: [],
    }
