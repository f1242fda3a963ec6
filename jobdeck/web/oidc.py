"""Sign-in through an OpenID Connect provider (Authlib): /login/oidc sends the browser there, and
/login/oidc/callback brings it back with a code that is traded for an ID token.

Authlib does the protocol: discovery from the issuer, the authorization code flow with PKCE, state and nonce,
and the ID token's signature (the provider's published keys), issuer, audience, expiry and nonce. The flow's
state lives in a short-lived signed cookie (Starlette's session, scoped to /login/oidc under jobdeck's
prefix); who the person is in jobdeck is jobdeck.identity's policy, and the session that follows is the one
every sign-in starts.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import urllib.parse
from typing import Any

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from jobdeck import errors, identity
from jobdeck.service import Service, safe_run_at
from jobdeck.settings import Settings
from jobdeck.web import auth, guard, problems

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
PREFIX = "/login/oidc"
STATE_COOKIE = "jobdeck_oidc"
#: Long enough to sign in at the provider (a password, a second factor), short enough not to linger.
STATE_SECONDS = 600
SCOPES = "openid email profile"
DEFAULT_TARGET = "/settings/maintenance/jobs"
UNREACHABLE = "The identity provider could not be reached; try again in a moment."
EXPIRED = "This sign-in was not started here or took too long; start again from the login page."


def oidc_button(settings: Settings) -> str:
    """The provider's name for the login page's button; empty when OpenID sign-in is off."""
    if not settings.oidc_issuer:
        return ""
    return settings.oidc_provider_name or urllib.parse.urlsplit(settings.oidc_issuer).hostname or "single sign-on"


def install(app: FastAPI, service: Service) -> None:
    """Add the routes and the flow's state cookie when JOBDECK_OIDC_ISSUER is set; otherwise /login/oidc is a 404."""
    settings = service.settings
    if not settings.oidc_issuer:
        return
    oauth = OAuth()
    app.state.oidc = oauth.register(
        "oidc",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret or None,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPES, "code_challenge_method": "S256", "timeout": 15},
    )
    app.include_router(router)
    app.add_middleware(
        StateCookie,
        secret_key=_state_key(settings),
        session_cookie=STATE_COOKIE,
        max_age=STATE_SECONDS,
        same_site="lax",  # the provider sends the browser back with a cross-site top-level GET
        https_only=settings.secure_cookies,
    )


class StateCookie:
    """Starlette's session middleware with the cookie scoped to /login/oidc under the prefix jobdeck is served
    at (the ASGI root_path: jobdeck.mount's prefix), not to the bare /login/oidc, which the browser would
    not send back to <prefix>/login/oidc/callback. One session middleware per prefix, made on first use."""

    MOST_PREFIXES = 8  #: a root path comes from the server's configuration, never from a request

    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        self.app, self.options = app, options
        self.by_root: dict[str, SessionMiddleware] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = str(scope.get("root_path", "")).rstrip("/")
        middleware = self.by_root.get(root)
        if middleware is None:
            middleware = SessionMiddleware(self.app, path=root + PREFIX, **self.options)
            if len(self.by_root) < self.MOST_PREFIXES:
                self.by_root[root] = middleware
        await middleware(scope, receive, send)


def _state_key(settings: Settings) -> str:
    """A key of its own for the state cookie, derived from the server's secret (the same on every node that
    shares JOBDECK_SECRET_KEY, so a flow may start on one node and end on another)."""
    return hmac.new(settings.resolved_secret_key.encode(), b"jobdeck oidc state", hashlib.sha256).hexdigest()


def _client(request: Request) -> StarletteOAuth2App:
    client: StarletteOAuth2App = request.app.state.oidc
    return client


@router.get(PREFIX)
async def start(request: Request, next: str = DEFAULT_TARGET) -> Response:
    client = _client(request)
    redirect_uri = str(request.url_for("oidc_callback"))
    try:
        found = await client.create_authorization_url(redirect_uri)
    except (httpx.HTTPError, ValueError, RuntimeError) as exc:
        log.warning("oidc: discovery at %s failed: %s", request.app.state.service.settings.oidc_issuer, exc)
        return problems.problem(request, 502, UNREACHABLE)
    request.session.clear()  # one flow at a time per browser: the cookie stays small
    data = {
        "redirect_uri": redirect_uri,
        "nonce": found["nonce"],
        "code_verifier": found["code_verifier"],
        "next": safe_run_at(next) or DEFAULT_TARGET,
    }
    await client.framework.set_state_data(request.session, found["state"], data)
    # The one redirect that leaves the site: the Guard keeps it absolute for this header.
    return RedirectResponse(found["url"], status_code=302, headers={guard.OFFSITE_HEADER.decode(): "1"})


@router.get(PREFIX + "/callback", name="oidc_callback")
async def callback(request: Request) -> Response:
    client = _client(request)
    service: Service = request.app.state.service
    state = await client.framework.get_state_data(request.session, request.query_params.get("state"))
    try:
        token = await client.authorize_access_token(request, claims_options=_claims_options(service.settings))
    except OAuthError as exc:
        log.warning("oidc: sign-in refused: %s %s", exc.error, exc.description)
        return problems.problem(request, *_refusal(exc))
    except JoseError as exc:
        log.warning("oidc: ID token refused: %s", exc)
        return problems.problem(request, 400, f"The ID token was refused ({exc.error}); start again from the login.")
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("oidc: token exchange failed: %s", exc)
        return problems.problem(request, 502, UNREACHABLE)
    claims = token.get("userinfo")
    if not state or not claims:
        return problems.problem(request, 400, "The identity provider sent no ID token; sign-in needs one.")
    vouched = identity.from_claims(dict(claims), service.settings.oidc_issuer, service.settings.oidc_groups_claim)
    try:
        user = await run_in_threadpool(identity.sign_in, service.accounts, vouched)
    except (errors.NotAllowed, errors.UserExists) as exc:
        return problems.problem(request, problems.status_of(exc), exc.message)
    response = RedirectResponse(state.get("next") or DEFAULT_TARGET, status_code=303)
    await run_in_threadpool(auth.start_session, request, service.accounts, user, response)
    return response


def _claims_options(settings: Settings) -> dict[str, object]:
    """The ID token must come from the configured issuer (not merely the one the discovery document names) and
    name this client among its audience (Authlib by itself only compares `azp` when there are several)."""
    issuer = settings.oidc_issuer
    return {
        "iss": {"essential": True, "values": sorted({issuer, issuer.rstrip("/")})},
        "aud": {"essential": True, "value": settings.oidc_client_id},
    }


def _refusal(exc: OAuthError) -> tuple[int, str]:
    if exc.error == "mismatching_state":
        return 400, EXPIRED
    if exc.error == "access_denied":
        return 403, "The identity provider did not sign you in (access denied)."
    # The provider refused the code (used twice, expired) or answered with another error.
    return 400, f"Sign-in could not be completed: {exc.description or exc.error}. Start again from the login page."
