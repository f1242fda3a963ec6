"""The web side of accounts: cookie names, CSRF token checks and the client address a login is counted against.

Who someone is (passwords, the login throttle, sessions, tokens) is jobdeck.accounts; this module only carries
it over HTTP.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request, Response

from jobdeck import model
from jobdeck.accounts import Accounts, Session, new_secret
from jobdeck.settings import Settings

__all__ = ["Session", "new_secret"]

SESSION_COOKIE = "jobdeck_session"
#: Behind HTTPS the cookie takes the __Host- prefix: Secure, Path=/ and no Domain, so a sibling host cannot set it.
SECURE_SESSION_COOKIE = "__Host-jobdeck_session"
LOGIN_CSRF_COOKIE = "jobdeck_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def session_cookie_name(settings: Settings) -> str:
    return SECURE_SESSION_COOKIE if settings.secure_cookies else SESSION_COOKIE


def same_secret(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def client_address(request: Request) -> str:
    """The peer address as the server saw it (behind a proxy, uvicorn's --proxy-headers sets it from
    X-Forwarded-For for trusted proxies only): a header a client sets itself is never believed here."""
    return request.client.host if request.client else "unknown"


def session_cookie_path(request: Request, settings: Settings) -> str:
    """The session cookie's path: jobdeck's prefix when mounted in a host application, except behind HTTPS,
    where its __Host- name requires "/"."""
    return "/" if settings.secure_cookies else str(request.scope.get("root_path", "")).rstrip("/") or "/"


def set_session_cookie(request: Request, response: Response, settings: Settings, session_id: str) -> None:
    response.set_cookie(
        session_cookie_name(settings),
        session_id,
        max_age=settings.session_max_hours * 3600,
        httponly=True,
        samesite="lax",  # the OpenID callback is a cross-site top-level GET that must find it
        secure=settings.secure_cookies,
        path=session_cookie_path(request, settings),
    )


def start_session(request: Request, accounts: Accounts, user: model.User, response: Response) -> Session:
    """Sign `user` in on `response`: whatever session the browser brought is ended, and a new one (new id,
    new CSRF token) is set. Every way of signing in (password, OpenID, proxy) ends here."""
    old = request.cookies.get(session_cookie_name(accounts.settings))
    if old:
        accounts.end_session(old)
    session = accounts.start_session(user)
    set_session_cookie(request, response, accounts.settings, session.id)
    return session


#: Under a host application's sign-in, the random value each browser's CSRF token is derived from.
CSRF_SEED_COOKIE = "jobdeck_csrf_seed"


def bound_csrf_token(settings: Settings, seed: str, username: str) -> str:
    """A CSRF token without a session of jobdeck's own: the browser's random seed (a cookie) signed together with
    the user's name, so a token read by one user, or set by another site, is worth nothing for anyone else."""
    message = f"{seed}\n{username}".encode()
    return hmac.new(settings.resolved_secret_key.encode(), message, hashlib.sha256).hexdigest()
