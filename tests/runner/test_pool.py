"""The pool's outcomes: what waits to be recorded, and what a worker that gave up drops."""

from __future__ import annotations

from jobdeck import model
from jobdeck.service import Service
from jobdeck.store import claim, transitions


def claimed_outcome(service: Service) -> transitions.Outcome:
    service.start_job(None, "noop")
    with service.db.write() as conn:
        (taken,) = claim.claim(service.db, conn, "w-test", 1, lease_seconds=30)
    return transitions.Outcome(taken.job.id, taken.lease_token, model.Status.COMPLETED)


def test_an_outcome_put_back_waits_to_be_recorded_again(service: Service) -> None:
    pool = service.worker(concurrency=1).pool
    outcome = claimed_outcome(service)
    pool.put_back([outcome])
    assert not pool.idle()
    assert pool.take_outcomes() == [outcome]


def test_an_outcome_being_written_keeps_the_pool_busy_until_it_is_recorded(service: Service) -> None:
    pool = service.worker(concurrency=1).pool
    outcome = claimed_outcome(service)
    pool.put_back([outcome])
    taken = pool.take_outcomes()
    assert not pool.idle()
    pool.record(taken, {outcome.job_id})
    assert pool.idle()


def test_an_outcome_put_back_after_the_worker_gave_up_is_dropped(service: Service) -> None:
    pool = service.worker(concurrency=1).pool
    outcome = claimed_outcome(service)
    pool.put_back([outcome])
    taken = pool.take_outcomes()  # being written when the database goes away for longer than the lease
    pool.abandon_all()
    pool.put_back(taken)
    assert pool.idle()
    assert pool.take_outcomes() == []
