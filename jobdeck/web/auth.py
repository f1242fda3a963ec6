"""Who is asking: password logins with per-account lockout, server-side sessions, API tokens, CSRF tokens."""

from __future__ import annotations

import dataclasses
import hmac
import logging
import secrets

from jobdeck import errors, model, passwords
from jobdeck.service import Service
from jobdeck.settings import Settings
from jobdeck.store import auth as auth_rows

log = logging.getLogger(__name__)

SESSION_COOKIE = "jobdeck_session"
#: Behind HTTPS the cookie takes the __Host- prefix: Secure, Path=/ and no Domain, so a sibling host cannot set it.
SECURE_SESSION_COOKIE = "__Host-jobdeck_session"
LOGIN_CSRF_COOKIE = "jobdeck_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
TOKEN_LIFETIME_S = 30 * 24 * 3600
#: Verified when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = passwords.hash_password(secrets.token_urlsafe(16))


def session_cookie_name(settings: Settings) -> str:
    return SECURE_SESSION_COOKIE if settings.secure_cookies else SESSION_COOKIE


def new_secret() -> str:
    """256 bits from the CSPRNG: session ids, API tokens and CSRF tokens."""
    return secrets.token_urlsafe(32)


def same_secret(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def authenticate(service: Service, username: str, password: str) -> model.User:
    """The user, if the password is right and the account is neither locked nor disabled.

    Raises BadCredentials or LoginThrottled. Failures are counted on the account, not the address,
    so spreading guesses over many addresses does not help; the hash is upgraded when its parameters age.
    """
    s = service.settings
    state = None
    if _plausible_username(username):
        with service.db.read() as conn:
            state = auth_rows.login_state(conn, username)
    if state is None or state.user.disabled:
        passwords.verify(_DUMMY_HASH, password)
        log.info("login failed: unknown or disabled user %r", username)
        raise errors.BadCredentials()
    if state.locked:
        log.warning("login refused: account %r is locked", username)
        raise errors.LoginThrottled()
    if not passwords.verify(state.password_hash, password):
        with service.db.write() as conn:
            locked = auth_rows.record_failure(conn, state.user.id, s.login_max_failures, s.login_lock_minutes * 60)
        log.warning("login failed: wrong password for %r%s", username, " (now locked)" if locked else "")
        raise errors.BadCredentials()
    with service.db.write() as conn:
        auth_rows.reset_failures(conn, state.user.id)
        if passwords.needs_rehash(state.password_hash):
            auth_rows.set_password_hash(conn, state.user.id, passwords.hash_password(password))
    log.info("login: %r", username)
    return state.user


def _plausible_username(username: str) -> bool:
    """Names that could exist; control characters (NUL above all, which PostgreSQL refuses) never reach a query."""
    return 0 < len(username) <= 150 and all(ch.isprintable() for ch in username)


@dataclasses.dataclass(frozen=True)
class Session:
    id: str
    user: model.User
    csrf_token: str


def start_session(service: Service, user: model.User) -> Session:
    """A new session with a new id (never one the browser brought along) and its own CSRF token."""
    session = Session(id=new_secret(), user=user, csrf_token=new_secret())
    with service.db.write() as conn:
        auth_rows.purge_expired_sessions(conn)
        auth_rows.create_session(
            conn, session.id, user.id, session.csrf_token, max_seconds=service.settings.session_max_hours * 3600
        )
    return session


def find_session(service: Service, session_id: str) -> Session | None:
    """The live session behind a cookie; None when it expired, idled out, was ended, or its user was disabled."""
    if not session_id or len(session_id) > 200:
        return None
    idle = service.settings.session_idle_minutes * 60
    with service.db.read() as conn:
        row = auth_rows.find_session(conn, session_id, idle_seconds=idle)
    if row is None:
        return None
    if row.stale:
        with service.db.write() as conn:
            auth_rows.touch_session(conn, session_id)
    return Session(id=session_id, user=row.user, csrf_token=row.csrf_token)


def end_session(service: Service, session_id: str) -> None:
    with service.db.write() as conn:
        auth_rows.delete_session(conn, session_id)


def issue_token(service: Service, user: model.User, name: str = "api") -> str:
    token = new_secret()
    with service.db.write() as conn:
        auth_rows.create_token(conn, token, user.id, name, max_seconds=TOKEN_LIFETIME_S)
    return token


def find_token(service: Service, token: str) -> model.User | None:
    if not token or len(token) > 200:
        return None
    with service.db.read() as conn:
        found = auth_rows.find_token(conn, token)
    if found is None:
        return None
    user, stale = found
    if stale:
        with service.db.write() as conn:
            auth_rows.touch_token(conn, token)
    return user


def revoke_user(service: Service, user: model.User) -> None:
    """End every session and token of a user: what disabling an account must do at once."""
    with service.db.write() as conn:
        auth_rows.revoke_user(conn, user.id)
