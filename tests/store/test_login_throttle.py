"""The login throttle's rows: one atomic reservation per attempt, so parallel attempts never pass the limit."""

from __future__ import annotations

import concurrent.futures
import threading

from jobdeck.store import auth as auth_rows
from jobdeck.store.database import Database

LIMIT = auth_rows.Limit("account\x00alice", failures=5, window_s=900)


def reserve_in_parallel(db: Database, count: int) -> list[bool]:
    start = threading.Barrier(count)

    def one(_: int) -> bool:
        start.wait()
        with db.write() as conn:
            return auth_rows.reserve_attempt(conn, LIMIT)

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_parallel_reservations_pass_exactly_up_to_the_limit(db: Database) -> None:
    assert sorted(reserve_in_parallel(db, 20)) == [False] * 15 + [True] * 5


def test_a_success_forgets_the_failures_but_not_the_attempts_still_in_flight(db: Database) -> None:
    assert sum(reserve_in_parallel(db, 5)) == 5
    with db.write() as conn:
        auth_rows.settle_attempt(conn, LIMIT, succeeded=False)
        auth_rows.settle_attempt(conn, LIMIT, succeeded=True)  # three others are still being checked
        assert [auth_rows.reserve_attempt(conn, LIMIT) for _ in range(3)] == [True, True, False]


def test_a_refused_attempt_is_not_counted_and_the_count_resets_after_its_window(db: Database) -> None:
    with db.write() as conn:
        assert [auth_rows.reserve_attempt(conn, LIMIT) for _ in range(7)] == [True] * 5 + [False] * 2
        conn.exec_driver_sql("UPDATE login_throttle SET resets_at = '2000-01-01 00:00:00.000000'")
        assert auth_rows.reserve_attempt(conn, LIMIT)
        failures = conn.exec_driver_sql("SELECT failures FROM login_throttle").scalar_one()
    assert failures == 1
