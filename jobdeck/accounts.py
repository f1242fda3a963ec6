"""Accounts: users, password logins with a throttle, server-side sessions and API tokens.

The web and the CLI call this; it calls the store. Nothing here knows about HTTP: the web layer hands in
the client address and sets the cookies.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import secrets

import sqlalchemy as sa

from jobdeck import errors, model, passwords
from jobdeck.settings import Settings
from jobdeck.store import auth as auth_rows
from jobdeck.store import users as user_rows
from jobdeck.store.database import Database

log = logging.getLogger(__name__)

USERNAME = re.compile(r"[A-Za-z0-9._@-]{1,150}")
THROTTLED = "Too many failed logins; wait a few minutes and try again."
PASSWORD_LOGIN_OFF = "Signing in with a password is switched off here (JOBDECK_PASSWORD_LOGIN=false)."  # noqa: S105


def new_secret() -> str:
    """256 bits from the CSPRNG: session ids, API tokens and CSRF tokens."""
    return secrets.token_urlsafe(32)


@dataclasses.dataclass(frozen=True)
class Session:
    id: str
    user: model.User
    csrf_token: str


class Accounts:
    """One per process, beside the service: every question about who someone is goes through here."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    # -- users -----------------------------------------------------------------------------------
    def create_user(
        self, username: str, password: str, *, is_admin: bool = False, display_name: str = ""
    ) -> model.User:
        username = username.strip()
        if not USERNAME.fullmatch(username):
            raise errors.InvalidParams("A username is 1-150 letters, digits, dots, dashes, underscores or @.")
        passwords.check_policy(password)
        with self.db.write() as conn:
            return user_rows.create(conn, username, display_name, passwords.hash_password(password), is_admin)

    def users(self) -> list[model.User]:
        with self.db.read() as conn:
            return user_rows.list_all(conn)

    def user(self, username: str) -> model.User:
        with self.db.read() as conn:
            return user_rows.by_username(conn, username)

    def set_disabled(self, username: str, disabled: bool) -> model.User:
        """Disable (or enable) an account; disabling ends its sessions and API tokens at once."""
        with self.db.write() as conn:
            user = user_rows.by_username(conn, username)
            user_rows.set_disabled(conn, user.id, disabled)
            if disabled:
                auth_rows.revoke_user(conn, user.id)
            return user_rows.get(conn, user.id)

    def set_password(self, username: str, password: str) -> model.User:
        """Give an account a new password (policy checked, argon2). Its sessions and API tokens end, since
        whoever knew the old password may hold them, and its failed-login count is forgotten, so a locked-out
        owner can sign in at once. Whether it is disabled is left as it was."""
        passwords.check_policy(password)
        new_hash = passwords.hash_password(password)
        with self.db.write() as conn:
            user = user_rows.by_username(conn, username)
            auth_rows.set_password_hash(conn, user.id, new_hash)
            auth_rows.revoke_user(conn, user.id)
            auth_rows.settle_attempt(conn, self._limits(user.username, "")[1], succeeded=True)
            return user

    def adopt(self, username: str, *, display_name: str = "", is_admin: bool = False) -> model.User:
        """The account of someone another system signed in (a host application): created on first sight with a
        password nobody knows, its display name and admin flag kept as that system says. Whether it is disabled
        stays jobdeck's decision."""
        username = username.strip()
        if not USERNAME.fullmatch(username):
            raise errors.InvalidParams("A username is 1-150 letters, digits, dots, dashes, underscores or @.")
        shown = display_name or username
        with self.db.read() as conn:
            known = user_rows.find(conn, username)
        if known is not None and (known.display_name, known.is_admin) == (shown, is_admin):
            return known
        try:
            with self.db.write() as conn:
                known = user_rows.find(conn, username)
                if known is None:
                    return user_rows.create(conn, username, shown, passwords.hash_password(new_secret()), is_admin)
                user_rows.set_profile(conn, known.id, shown, is_admin)
                return user_rows.get(conn, known.id)
        except sa.exc.IntegrityError:  # two first requests at once: the other one created the row
            return self.user(username)

    # -- logging in ------------------------------------------------------------------------------
    def _limits(self, username: str, address: str) -> list[auth_rows.Limit]:
        """The client address first (its limit is the lower, so one stranger is stopped before the account
        they guess at is locked), then the account name, known or not. Always in this order: on PostgreSQL
        two attempts lock the same rows in the same order and cannot deadlock."""
        s = self.settings
        window = s.login_lock_minutes * 60
        return [
            auth_rows.Limit(f"address\x00{address}", s.login_max_failures, window),
            auth_rows.Limit(f"account\x00{username}", s.login_max_failures_per_account, window),
        ]

    def authenticate(self, username: str, password: str, address: str = "") -> model.User:
        """The user, if the password is right and the account enabled. Raises BadCredentials or LoginThrottled.

        Every attempt is counted before its password is checked (an atomic reservation in the database), so
        parallel guesses cannot outrun the limit. An unknown or disabled name takes the same path as a known
        one: counted alike, and an argon2 check against a dummy hash, so neither answer nor timing tells them
        apart. The hash is upgraded when its parameters age.
        """
        if not self.settings.password_login:
            raise errors.NotAllowed(PASSWORD_LOGIN_OFF)
        limits = self._limits(username, address)
        with self.db.write() as conn:
            for limit in limits:
                if not auth_rows.reserve_attempt(conn, limit):
                    log.warning("login refused: too many failures (user %r, address %s)", username, address)
                    raise errors.LoginThrottled(THROTTLED)  # rolls back: a refused attempt checks nothing
        state = None
        if _plausible_username(username):
            with self.db.read() as conn:
                state = auth_rows.login_state(conn, username)
        usable = state is not None and not state.user.disabled
        stored = state.password_hash if state is not None and usable else self._dummy_hash()
        right = passwords.verify(stored, password) and usable
        with self.db.write() as conn:
            for limit in limits:
                auth_rows.settle_attempt(conn, limit, succeeded=right)
            if right and state is not None and passwords.needs_rehash(state.password_hash):
                auth_rows.set_password_hash(conn, state.user.id, passwords.hash_password(password))
        if not right or state is None:
            log.warning("login failed for %r from %s", username, address)
            raise errors.BadCredentials()
        log.info("login: %r", username)
        return state.user

    @functools.cached_property
    def _dummy_hash_value(self) -> str:
        return passwords.hash_password(new_secret())

    def _dummy_hash(self) -> str:
        """Verified when the name is unknown, so a wrong name costs as long as a wrong password."""
        return self._dummy_hash_value

    # -- sessions --------------------------------------------------------------------------------
    def start_session(self, user: model.User) -> Session:
        """A new session with a new id (never one the browser brought along) and its own CSRF token."""
        session = Session(id=new_secret(), user=user, csrf_token=new_secret())
        with self.db.write() as conn:
            auth_rows.purge_expired_sessions(conn)
            auth_rows.purge_stale_throttles(conn)
            auth_rows.create_session(
                conn, session.id, user.id, session.csrf_token, max_seconds=self.settings.session_max_hours * 3600
            )
        return session

    def find_session(self, session_id: str) -> Session | None:
        """The live session behind a cookie; None when it expired, idled out, was ended, or its user was disabled.

        A login throttle or lock does not touch it: a locked account's signed-in browsers keep working."""
        if not session_id or len(session_id) > 200:
            return None
        idle = self.settings.session_idle_minutes * 60
        with self.db.read() as conn:
            row = auth_rows.find_session(conn, session_id, idle_seconds=idle)
        if row is None:
            return None
        if row.stale:
            with self.db.write() as conn:
                auth_rows.touch_session(conn, session_id)
        return Session(id=session_id, user=row.user, csrf_token=row.csrf_token)

    def end_session(self, session_id: str) -> None:
        with self.db.write() as conn:
            auth_rows.delete_session(conn, session_id)

    # -- API tokens ------------------------------------------------------------------------------
    def issue_token(self, user: model.User, name: str = "api", days: int | None = None) -> tuple[str, int]:
        """A new token and its lifetime in seconds: `days` (at most JOBDECK_TOKEN_MAX_DAYS, the default)."""
        most = self.settings.token_max_days
        if days is not None and not 1 <= days <= most:
            raise errors.InvalidParams(f"expires_in_days: a token lives 1 to {most} days (JOBDECK_TOKEN_MAX_DAYS).")
        lifetime = (days or most) * 24 * 3600
        token = new_secret()
        with self.db.write() as conn:
            auth_rows.purge_expired_tokens(conn)
            auth_rows.create_token(conn, token, user.id, name, max_seconds=lifetime)
        return token, lifetime

    def find_token(self, token: str) -> model.User | None:
        if not token or len(token) > 200:
            return None
        with self.db.read() as conn:
            found = auth_rows.find_token(conn, token)
        if found is None:
            return None
        user, stale = found
        if stale:
            with self.db.write() as conn:
                auth_rows.touch_token(conn, token)
        return user

    def tokens_of(self, user: model.User) -> list[auth_rows.TokenRow]:
        with self.db.read() as conn:
            return auth_rows.tokens_of(conn, user.id)

    def revoke_token(self, user: model.User, token_id: int) -> None:
        """Revoke one of the user's own tokens; another user's token is answered as a missing one."""
        with self.db.write() as conn:
            if not auth_rows.delete_token(conn, user.id, token_id):
                raise errors.TokenNotFound()

    def revoke_user(self, user: model.User) -> None:
        """End every session and token of a user: what disabling an account must do at once."""
        with self.db.write() as conn:
            auth_rows.revoke_user(conn, user.id)


def _plausible_username(username: str) -> bool:
    """Names that could exist; control characters (NUL above all, which PostgreSQL refuses) never reach a query."""
    return 0 < len(username) <= 150 and all(ch.isprintable() for ch in username)
