"""FastAPI dependencies: the service, the current user (bearer token or session cookie), and CSRF checks."""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from jobdeck import errors, model
from jobdeck.service import Service
from jobdeck.web import auth

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Declares the bearer scheme in the OpenAPI document; the lookup itself is `_identify`.
bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


@dataclasses.dataclass(frozen=True)
class HostUser:
    """Who a host application says is signed in: its user name (the key of jobdeck's users table), the name the
    page shows, and whether the host counts them as an admin of jobs (admins see and act on everyone's jobs)."""

    username: str
    display_name: str = ""
    is_admin: bool = False


@dataclasses.dataclass(frozen=True)
class HostSignIn:
    """A host application's sign-in, when jobdeck is mounted inside it (see jobdeck.web.mount).

    `current_user` runs in a worker thread for every page and API request without a bearer token; `unauthenticated`
    is the host's answer to a page request nobody is signed in for (its login redirect, a 401)."""

    current_user: Callable[[Request], HostUser | None]
    unauthenticated: Callable[[Request], Response]
    #: jobdeck's own password sign-in (/login, /api/v1/auth/token) stays available beside the host's
    password_login: bool = False


def host_sign_in(request: Request) -> HostSignIn | None:
    """The host's sign-in when jobdeck is mounted, None when it is an application of its own."""
    host: HostSignIn | None = getattr(request.app.state, "host", None)
    return host


def _host_user(request: Request, service: Service, host: HostSignIn) -> tuple[model.User | None, auth.Session | None]:
    """The host's user as one of jobdeck's (created or updated here, the one place), with a CSRF token bound to
    this browser's seed cookie; a new seed is set by the page that is rendered (render.page)."""
    found = host.current_user(request)
    if found is None:
        return None, None
    user = service.accounts.adopt(found.username, display_name=found.display_name, is_admin=found.is_admin)
    if user.disabled:
        return None, None
    seed = request.cookies.get(auth.CSRF_SEED_COOKIE)
    if not seed:
        seed = auth.new_secret()
        request.state.new_csrf_seed = seed
    token = auth.bound_csrf_token(service.settings, seed, user.username)
    return user, auth.Session(id="", user=user, csrf_token=token)


def _identify(request: Request, service: Service) -> model.User | None:
    """Look the caller up once per request. A bearer header that fails is not rescued by a cookie; under a host
    application, its user comes first, then (if it allows them) jobdeck's own sessions."""
    if getattr(request.state, "identified", False):
        user: model.User | None = request.state.user
        return user
    user, session = None, None
    header = request.headers.get("authorization")
    host = host_sign_in(request)
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer":
            user = service.accounts.find_token(token.strip())
    elif host is not None and (found := _host_user(request, service, host))[0] is not None:
        user, session = found
    elif host is None or host.password_login:
        cookie = request.cookies.get(auth.session_cookie_name(service.settings))
        if cookie:
            session = service.accounts.find_session(cookie)
            user = session.user if session else None
    request.state.identified = True
    request.state.user = user
    request.state.session = session
    return user


def optional_user(request: Request, service: ServiceDep) -> model.User | None:
    return _identify(request, service)


def api_user(request: Request, service: ServiceDep, _token: Annotated[str | None, Depends(bearer)]) -> model.User:
    """The API caller; a state change made with the session cookie must also carry the X-CSRF-Token header."""
    user = _identify(request, service)
    if user is None:
        raise errors.NotAuthenticated()
    session: auth.Session | None = request.state.session
    unsafe = request.method not in SAFE_METHODS
    if (
        unsafe
        and session is not None
        and not auth.same_secret(session.csrf_token, request.headers.get(auth.CSRF_HEADER))
    ):
        raise errors.CsrfRejected()
    return user


def page_user(request: Request, service: ServiceDep) -> model.User:
    """The signed-in user of a page; anyone else is sent to the login page."""
    user = _identify(request, service)
    if user is None or request.state.session is None:
        raise errors.NotAuthenticated()
    return user


def page_writer(
    request: Request,
    user: Annotated[model.User, Depends(page_user)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> model.User:
    """A signed-in user posting a form that carries this session's synchronizer token."""
    session: auth.Session = request.state.session
    if not auth.same_secret(session.csrf_token, csrf_token):
        raise errors.CsrfRejected()
    return user


def password_login(request: Request) -> None:
    """jobdeck's own password sign-in: off under a host application's sign-in unless the host asked for it."""
    host = host_sign_in(request)
    if host is not None and not host.password_login:
        raise HTTPException(404, "Not Found")


ApiUser = Annotated[model.User, Depends(api_user)]
PageUser = Annotated[model.User, Depends(page_user)]
PageWriter = Annotated[model.User, Depends(page_writer)]
OptionalUser = Annotated[model.User | None, Depends(optional_user)]


# -- callers known before the body is read -----------------------------------------------------------
def _same_origin(request: Request) -> bool:
    """Fetch metadata or, from browsers without it, the Origin header: a form posted from another site is
    known by its headers alone. A request with neither (not a browser) is judged by its CSRF token later."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site.lower() in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urllib.parse.urlsplit(origin).netloc == request.headers.get("host", "")


def _api_caller(request: Request) -> None:
    api_user(request, get_service(request), None)


def _page_caller(request: Request) -> None:
    page_user(request, get_service(request))
    if not _same_origin(request):
        raise errors.CsrfRejected()


class _CallerFirstRoute(APIRoute):
    """A route (an upload) whose caller is identified, and refused, before a byte of its body is read.

    FastAPI reads a route's form body before it runs its dependencies; for an upload that means spooling
    the whole file to disk first. These routes check the caller from the headers alone, then let FastAPI
    read the body and run the dependencies as usual (which find the caller already identified)."""

    @staticmethod
    def check_caller(request: Request) -> None:
        raise NotImplementedError

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        check = self.check_caller

        async def caller_first(request: Request) -> Response:
            await run_in_threadpool(check, request)
            return await handler(request)

        return caller_first


class ApiUploadRoute(_CallerFirstRoute):
    """An API upload: a bearer token, or the session cookie with its X-CSRF-Token header, before the body."""

    check_caller = staticmethod(_api_caller)


class PageUploadRoute(_CallerFirstRoute):
    """A page's upload form: a live session posting from this site before the body; the form's CSRF token,
    which travels inside the body, is then checked by `page_writer` once the body is parsed."""

    check_caller = staticmethod(_page_caller)
