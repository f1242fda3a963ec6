"""The visibility rule: who sees what, and which log lines they read. (Through the service: tests/test_service.py.)"""

from __future__ import annotations

import datetime as dt

from jobdeck import access, model
from jobdeck.service import Service

ADMIN = model.User(id=1, username="ada", display_name="Ada", is_admin=True)
ALICE = model.User(id=2, username="alice", display_name="Alice", is_admin=False)


def lines(*messages: str) -> list[model.LogLine]:
    at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    return [model.LogLine(id=i, job_id=7, at=at, level="error", message=m) for i, m in enumerate(messages)]


def test_an_admin_reads_every_log_line_tracebacks_included() -> None:
    log = lines("starting", "Traceback (most recent call last):\n  File ...", "boom")
    assert access.visible_log(ADMIN, log) == log


def test_other_readers_read_the_log_without_tracebacks() -> None:
    log = lines("starting", "Traceback (most recent call last):\n  File ...", "boom")
    assert [line.message for line in access.visible_log(ALICE, log)] == ["starting", "boom"]
    assert [line.message for line in access.visible_log(None, log)] == ["starting", "boom"]


def test_disabling_a_user_ends_their_sessions_and_tokens_at_once(service: Service, alice: model.User) -> None:
    import sqlalchemy as sa

    from jobdeck.store import auth as auth_rows
    from jobdeck.store import schema

    with service.db.write() as conn:
        auth_rows.create_session(conn, "session-secret", alice.id, "csrf", max_seconds=3600)
        auth_rows.create_token(conn, "token-secret", alice.id, "cli", max_seconds=3600)
    assert service.accounts.set_disabled("alice", True).disabled
    with service.db.read() as conn:
        sessions = conn.execute(sa.select(sa.func.count()).select_from(schema.sessions)).scalar_one()
        tokens = conn.execute(sa.select(sa.func.count()).select_from(schema.api_tokens)).scalar_one()
    assert (sessions, tokens) == (0, 0)
    assert not service.accounts.set_disabled("alice", False).disabled
