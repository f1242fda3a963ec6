"""The chaos bench's measures see what they are for: a zero in its table means nothing happened,
not that nothing was looked at. Each violation is made by hand here and must be counted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench import chaos
from jobdeck import model
from jobdeck.service import Service
from jobdeck.store import claim, schema, transitions
from jobdeck.store.database import db_now
from tests.chaos import kinds

pytestmark = pytest.mark.slow
j = schema.jobs
CFG = chaos.Config(lease_seconds=2.0)


def claimed(svc: Service, count: int) -> list[model.Claimed]:
    with svc.db.write() as conn:
        return claim.claim(svc.db, conn, "host:4242:abcd", count, CFG.lease_seconds)


def finish(svc: Service, c: model.Claimed) -> None:
    with svc.db.write() as conn:
        transitions.finish_many(conn, [transitions.Outcome(c.job.id, c.lease_token, model.Status.COMPLETED)])


def ledger_row(svc: Service, job_id: int, token: str, later_s: float = 0.0) -> None:
    with svc.db.write() as conn:
        conn.execute(
            sa.insert(kinds.ledger).values(
                job_id=job_id, lease_token=token, pid=4242, written_at=db_now(later_s), process_time=0.0
            )
        )


def measured(svc: Service, submitted: int) -> chaos.Results:
    return chaos.measure(svc.db, CFG, chaos.Workload(submitted=submitted), chaos.Run())


def test_a_second_terminal_write_counts_as_a_duplicate_commit(chaos_service: Service) -> None:
    svc = chaos_service
    svc.enqueue_many(None, kinds.RECORD, {}, 2)
    first, second = claimed(svc, 2)
    finish(svc, first)
    finish(svc, second)
    with svc.db.write() as conn:  # what fencing exists to prevent: a late writer overwriting a result
        conn.execute(sa.update(j).where(j.c.id == first.job.id).values(status="failed", error="late"))
    res = measured(svc, 2)
    assert (res.duplicate_commits, res.lost, res.stuck) == (1, 0, 0)


def test_a_side_effect_written_under_a_lease_that_was_not_current_counts_as_stale(chaos_service: Service) -> None:
    svc = chaos_service
    svc.enqueue_many(None, kinds.RECORD, {}, 2)
    first, second = claimed(svc, 2)
    ledger_row(svc, first.job.id, first.lease_token)  # in its lease: fine
    ledger_row(svc, second.job.id, "f" * 32)  # a token this job never held
    finish(svc, first)
    finish(svc, second)
    ledger_row(svc, first.job.id, first.lease_token, later_s=1)  # its own token, after the job ended
    res = measured(svc, 2)
    assert (res.stale_commits, res.ledger_jobs_run_again, res.duplicate_commits) == (2, 1, 0)


def test_unfinished_and_long_expired_jobs_count_as_lost_and_stuck(chaos_service: Service) -> None:
    svc = chaos_service
    svc.enqueue_many(None, "noop", {}, 3)
    (held,) = claimed(svc, 1)
    with svc.db.write() as conn:
        conn.execute(sa.update(j).where(j.c.id == held.job.id).values(lease_expires_at=db_now(-60)))
    res = measured(svc, 3)
    assert (res.lost, res.stuck) == (3, 1)
    assert not res.passed
