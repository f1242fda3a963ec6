"""Sessions, API tokens and the login throttle; only sha256 hashes of session ids and tokens are stored."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from jobdeck import model
from jobdeck.store import rows, schema
from jobdeck.store.database import db_now

sessions = schema.sessions
tokens = schema.api_tokens
u = schema.users
#: last_seen_at / last_used_at are written at most this often: a read-mostly page must not write on every request.
TOUCH_EVERY_S = 60


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class SessionRow:
    user: model.User
    csrf_token: str
    stale: bool  #: last_seen_at is old enough to be written again


# -- sessions -----------------------------------------------------------------------------------
def create_session(conn: sa.Connection, session_id: str, user_id: int, csrf_token: str, max_seconds: float) -> None:
    conn.execute(
        sa.insert(sessions).values(
            id_hash=digest(session_id),
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=db_now(),
            last_seen_at=db_now(),
            expires_at=db_now(max_seconds),
        )
    )


def find_session(conn: sa.Connection, session_id: str, idle_seconds: float) -> SessionRow | None:
    """The live session with this id: not past its absolute expiry, not idle too long, its user not disabled."""
    stmt = (
        sa.select(u, sessions.c.csrf_token, (sessions.c.last_seen_at < db_now(-TOUCH_EVERY_S)).label("stale"))
        .select_from(sessions.join(u, u.c.id == sessions.c.user_id))
        .where(
            sessions.c.id_hash == digest(session_id),
            sessions.c.expires_at > db_now(),
            sessions.c.last_seen_at > db_now(-idle_seconds),
            u.c.disabled.is_(False),
        )
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    return SessionRow(user=rows.user(row), csrf_token=row._mapping["csrf_token"], stale=bool(row._mapping["stale"]))


def touch_session(conn: sa.Connection, session_id: str) -> None:
    conn.execute(sa.update(sessions).where(sessions.c.id_hash == digest(session_id)).values(last_seen_at=db_now()))


def delete_session(conn: sa.Connection, session_id: str) -> None:
    conn.execute(sa.delete(sessions).where(sessions.c.id_hash == digest(session_id)))


def revoke_user(conn: sa.Connection, user_id: int) -> None:
    """End every session and API token of a user (when they are disabled or change their password)."""
    conn.execute(sa.delete(sessions).where(sessions.c.user_id == user_id))
    conn.execute(sa.delete(tokens).where(tokens.c.user_id == user_id))


def purge_expired_sessions(conn: sa.Connection) -> int:
    result = conn.execute(sa.delete(sessions).where(sessions.c.expires_at <= db_now()))
    return int(result.rowcount or 0)


# -- API tokens ---------------------------------------------------------------------------------
def create_token(conn: sa.Connection, token: str, user_id: int, name: str, max_seconds: float) -> None:
    conn.execute(
        sa.insert(tokens).values(
            user_id=user_id,
            token_hash=digest(token),
            name=name[:200],
            created_at=db_now(),
            last_used_at=None,
            expires_at=db_now(max_seconds),
        )
    )


def find_token(conn: sa.Connection, token: str) -> tuple[model.User, bool] | None:
    """The user behind a live token, and whether its last_used_at is due to be written."""
    stale = sa.or_(tokens.c.last_used_at.is_(None), tokens.c.last_used_at < db_now(-TOUCH_EVERY_S))
    stmt = (
        sa.select(u, stale.label("stale"))
        .select_from(tokens.join(u, u.c.id == tokens.c.user_id))
        .where(
            tokens.c.token_hash == digest(token),
            sa.or_(tokens.c.expires_at.is_(None), tokens.c.expires_at > db_now()),
            u.c.disabled.is_(False),
        )
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    return rows.user(row), bool(row._mapping["stale"])


def touch_token(conn: sa.Connection, token: str) -> None:
    conn.execute(sa.update(tokens).where(tokens.c.token_hash == digest(token)).values(last_used_at=db_now()))


@dataclasses.dataclass(frozen=True)
class TokenRow:
    id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None


def tokens_of(conn: sa.Connection, user_id: int) -> list[TokenRow]:
    """A user's live tokens, newest first (never the token itself: only its hash is stored)."""
    live = sa.or_(tokens.c.expires_at.is_(None), tokens.c.expires_at > db_now())
    stmt = sa.select(tokens).where(tokens.c.user_id == user_id, live).order_by(tokens.c.id.desc())
    return [
        TokenRow(
            id=r.id,
            name=r.name,
            created_at=_utc(r.created_at),
            last_used_at=rows.utc(r.last_used_at),
            expires_at=rows.utc(r.expires_at),
        )
        for r in conn.execute(stmt)
    ]


def _utc(value: dt.datetime) -> dt.datetime:
    found = rows.utc(value)
    assert found is not None
    return found


def delete_token(conn: sa.Connection, user_id: int, token_id: int) -> bool:
    """Revoke one of this user's tokens; False when they hold no token with this id."""
    result = conn.execute(sa.delete(tokens).where(tokens.c.id == token_id, tokens.c.user_id == user_id))
    return bool(result.rowcount)


def purge_expired_tokens(conn: sa.Connection) -> int:
    result = conn.execute(sa.delete(tokens).where(tokens.c.expires_at <= db_now()))
    return int(result.rowcount or 0)


# -- login throttle ----------------------------------------------------------------------------
throttle = schema.login_throttle


@dataclasses.dataclass(frozen=True)
class Limit:
    """At most `failures` password checks for `key` until the counter resets, `window_s` after it began or
    after it reached the limit."""

    key: str
    failures: int
    window_s: float


def _upsert(conn: sa.Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def reserve_attempt(conn: sa.Connection, limit: Limit) -> bool:
    """Count one attempt against `limit` before its password is checked; False (and nothing counted) when
    the failures and the attempts in flight already reach the limit.

    One conditional INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING: check and count are a single
    statement, so parallel attempts are serialised on the row and at most `failures` of them pass.
    """
    stale = throttle.c.resets_at <= db_now()
    count = sa.case((stale, 1), else_=throttle.c.failures + 1)
    stmt = (
        _upsert(conn)(throttle)
        .values(key_hash=digest(limit.key), failures=1, in_flight=1, resets_at=db_now(limit.window_s))
        .on_conflict_do_update(
            index_elements=[throttle.c.key_hash],
            set_={
                "failures": count,
                "in_flight": sa.case((stale, 1), else_=throttle.c.in_flight + 1),
                "resets_at": sa.case(
                    (sa.or_(stale, count >= limit.failures), db_now(limit.window_s)), else_=throttle.c.resets_at
                ),
            },
            where=sa.or_(stale, throttle.c.failures < limit.failures),
        )
        .returning(throttle.c.failures)
    )
    return conn.execute(stmt).first() is not None


def settle_attempt(conn: sa.Connection, limit: Limit, *, succeeded: bool) -> None:
    """The password of a reserved attempt was checked. A failure stays counted; a success forgets the failures
    but keeps the other attempts still in flight counted, so a burst of guesses cannot slip in behind it."""
    row = throttle.c.key_hash == digest(limit.key)
    in_flight = sa.case((throttle.c.in_flight > 0, throttle.c.in_flight - 1), else_=0)
    failures = in_flight if succeeded else throttle.c.failures
    conn.execute(sa.update(throttle).where(row).values(failures=failures, in_flight=in_flight))


def purge_stale_throttles(conn: sa.Connection) -> int:
    result = conn.execute(sa.delete(throttle).where(throttle.c.resets_at <= db_now()))
    return int(result.rowcount or 0)


@dataclasses.dataclass(frozen=True)
class LoginState:
    user: model.User
    password_hash: str


def login_state(conn: sa.Connection, username: str) -> LoginState | None:
    row = conn.execute(sa.select(u).where(u.c.username == username)).first()
    if row is None:
        return None
    return LoginState(user=rows.user(row), password_hash=row._mapping["password_hash"])


def set_password_hash(conn: sa.Connection, user_id: int, new_hash: str) -> None:
    conn.execute(sa.update(u).where(u.c.id == user_id).values(password_hash=new_hash))
