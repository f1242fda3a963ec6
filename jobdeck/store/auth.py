"""Sessions, API tokens and failed-login counting; only sha256 hashes of session ids and tokens are stored."""

from __future__ import annotations

import dataclasses
import hashlib

import sqlalchemy as sa

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


# -- login failures -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class LoginState:
    user: model.User
    password_hash: str
    locked: bool  #: locked_until lies in the future


def login_state(conn: sa.Connection, username: str) -> LoginState | None:
    locked = sa.and_(u.c.locked_until.is_not(None), u.c.locked_until > db_now())
    row = conn.execute(sa.select(u, locked.label("locked")).where(u.c.username == username)).first()
    if row is None:
        return None
    return LoginState(
        user=rows.user(row), password_hash=row._mapping["password_hash"], locked=bool(row._mapping["locked"])
    )


def record_failure(conn: sa.Connection, user_id: int, max_failures: int, lock_seconds: float) -> bool:
    """Count a failed login; the failure that reaches `max_failures` locks the account. Returns whether it is locked.

    A lock that has run out starts the count again, so an old lock does not make one mistake lock the account.
    """
    expired = sa.and_(u.c.locked_until.is_not(None), u.c.locked_until <= db_now())
    count = sa.case((expired, 1), else_=u.c.failed_logins + 1)
    locked_until = sa.case(
        (count >= max_failures, db_now(lock_seconds)),
        (expired, sa.null()),
        else_=u.c.locked_until,
    )
    row = conn.execute(
        sa.update(u)
        .where(u.c.id == user_id)
        .values(failed_logins=count, locked_until=locked_until)
        .returning(u.c.failed_logins)
    ).first()
    return row is not None and int(row[0]) >= max_failures


def reset_failures(conn: sa.Connection, user_id: int) -> None:
    conn.execute(
        sa.update(u).where(u.c.id == user_id, u.c.failed_logins != 0).values(failed_logins=0, locked_until=None)
    )


def set_password_hash(conn: sa.Connection, user_id: int, new_hash: str) -> None:
    conn.execute(sa.update(u).where(u.c.id == user_id).values(password_hash=new_hash))
