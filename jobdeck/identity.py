"""Users vouched for by someone else: an OpenID Connect provider or a trusted reverse proxy.

One policy for both: who such a user is in jobdeck (created at the first sign-in, updated at every one), whether
they are an admin (the configured admin group), which email domains may come in, and which accounts they may
never take over. Nothing here knows HTTP; the web layer hands in what the provider or the proxy said.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging

from jobdeck import errors, model
from jobdeck.accounts import USERNAME, Accounts
from jobdeck.store import auth as auth_rows
from jobdeck.store import users as user_rows

log = logging.getLogger(__name__)

#: Stored where a local account keeps its argon2 hash. It starts with "!", which no argon2 hash does, so no
#: password ever verifies against it, and it says which source owns the account (for OpenID, which subject).
MARKER_PREFIX = "!external:"
DISPLAY_NAME_MAX = 200


@dataclasses.dataclass(frozen=True)
class Vouched:
    """What the provider or the proxy says about the person signing in."""

    source: str  #: "oidc" or "proxy"
    subject: str  #: the provider's stable id of the person (issuer and `sub`), or the proxy's user name
    username: str
    display_name: str = ""
    email: str = ""
    email_verified: bool | None = None
    groups: tuple[str, ...] = ()


def marker(vouched: Vouched) -> str:
    digest = hashlib.sha256(f"{vouched.source}\x00{vouched.subject}".encode()).hexdigest()[:40]
    return f"{MARKER_PREFIX}{vouched.source}:{digest}"


def from_claims(claims: dict[str, object], issuer: str, groups_claim: str) -> Vouched:
    """The person an ID token describes: user name from preferred_username (else the email), display name
    from name, the groups from the configured claim (a list, or one string)."""
    email = _text(claims.get("email"))
    username = _text(claims.get("preferred_username")) or email
    groups = claims.get(groups_claim)
    verified = claims.get("email_verified")
    return Vouched(
        source="oidc",
        subject=f"{issuer}\x00{_text(claims.get('sub'))}",
        username=username,
        display_name=_text(claims.get("name")),
        email=email,
        email_verified=verified if isinstance(verified, bool) else None,
        groups=_groups(groups),
    )


def from_proxy(username: str, groups_header: str | None) -> Vouched:
    """The person a trusted proxy names in its headers; groups are comma-separated."""
    groups = tuple(g.strip() for g in (groups_header or "").split(",") if g.strip())
    name = username.strip()
    return Vouched(source="proxy", subject=name, username=name, email=name if "@" in name else "", groups=groups)


def sign_in(accounts: Accounts, vouched: Vouched) -> model.User:
    """The jobdeck user for this person, created on their first sign-in and brought up to date (display
    name, admin flag) on every later one. Refused (NotAllowed, UserExists) when the email domain is not
    allowed, the account is disabled, or the name belongs to an account this source does not own."""
    settings = accounts.settings
    if not USERNAME.fullmatch(vouched.username):
        raise errors.NotAllowed(
            "The identity provider sent no usable user name (preferred_username or email: 1-150 letters, "
            "digits, dots, dashes, underscores or @)."
        )
    if vouched.source == "oidc":
        _check_domain(vouched, settings.oidc_domains)
    wanted_admin = settings.oidc_admin_group in vouched.groups if settings.oidc_admin_group else None
    display_name = (vouched.display_name or vouched.username)[:DISPLAY_NAME_MAX]
    owner = marker(vouched)
    with accounts.db.read() as conn:
        state = auth_rows.login_state(conn, vouched.username)
    if state is None:
        with accounts.db.write() as conn:
            user = user_rows.create(conn, vouched.username, display_name, owner, bool(wanted_admin))
        log.info("%s sign-in created user %r (admin: %s)", vouched.source, user.username, user.is_admin)
        return user
    user = state.user
    if state.password_hash != owner:
        # A local account (or one another provider or person owns) is never taken over by a name in a claim.
        log.warning("%s sign-in refused: %r is an account it does not own", vouched.source, vouched.username)
        raise errors.UserExists(
            f"An account named {vouched.username!r} already exists in jobdeck and was not created by this "
            "sign-in; an administrator must rename or remove it first."
        )
    if user.disabled:
        log.warning("%s sign-in refused: %r is disabled", vouched.source, vouched.username)
        raise errors.NotAllowed("This account is disabled; ask an administrator.")
    is_admin = user.is_admin if wanted_admin is None else wanted_admin
    if (display_name, is_admin) != (user.display_name, user.is_admin):
        with accounts.db.write() as conn:
            user_rows.set_profile(conn, user.id, display_name, is_admin)
        user = dataclasses.replace(user, display_name=display_name, is_admin=is_admin)
    return user


def _check_domain(vouched: Vouched, domains: frozenset[str]) -> None:
    if not domains:
        return
    domain = vouched.email.rpartition("@")[2].lower() if "@" in vouched.email else ""
    if domain not in domains or vouched.email_verified is False:
        log.warning("oidc sign-in refused: email %r is not in the allowed domains", vouched.email)
        raise errors.NotAllowed(
            f"Sign-in with {vouched.email or 'no email address'} is not allowed here: "
            f"only verified addresses at {', '.join(sorted(domains))} may sign in."
        )


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _groups(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str))
    return ()
