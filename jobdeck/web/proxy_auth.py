"""Trusted reverse-proxy sign-in: a proxy that has already signed the person in names them in a header.

The header is believed only from the addresses in JOBDECK_TRUSTED_PROXIES, judged by the connection's own peer
(before any X-Forwarded-For is applied: anyone can write that header). The person becomes a jobdeck user
through jobdeck.identity, like an OpenID sign-in, and gets an ordinary jobdeck session (cookie and CSRF
token), so pages, forms and the API's CSRF checks work as after a password sign-in. From any other address
the header is ignored: the request is as anonymous as it would be without it.
"""

from __future__ import annotations

import ipaddress
import logging
import os

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from jobdeck import errors, identity, model
from jobdeck.accounts import Session
from jobdeck.service import Service
from jobdeck.web import auth

log = logging.getLogger(__name__)
#: A response whose only use is the Set-Cookie header of a new session, or None when the browser's is kept.
Cookie = Response | None


def install(app: FastAPI, service: Service) -> None:
    """X-Forwarded-For and -Proto handling (uvicorn's, from FORWARDED_ALLOW_IPS as uvicorn reads it), and
    outside it, so that it still sees the connection's own peer, the proxy sign-in when it is configured.
    `jobdeck serve` therefore turns uvicorn's own handling off."""
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"))
    if service.settings.trusted_proxies:
        app.add_middleware(ProxySignIn, service=service)


class ProxySignIn:
    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service
        self.networks = service.settings.trusted_proxy_networks
        self.user_header = service.settings.proxy_user_header
        self.groups_header = service.settings.proxy_groups_header

    def trusted(self, scope: Scope) -> bool:
        client = scope.get("client")
        try:
            peer = ipaddress.ip_address(client[0]) if client else None
        except ValueError:
            return False
        return peer is not None and any(peer in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        name = request.headers.get(self.user_header)
        if name is None or not name.strip():
            await self.app(scope, receive, send)
            return
        if not self.trusted(scope):
            log.warning("ignored %s from %s: not a trusted proxy", self.user_header, scope.get("client"))
            await self.app(scope, receive, send)
            return
        vouched = identity.from_proxy(name, request.headers.get(self.groups_header))
        user, session, cookie = await run_in_threadpool(self.resolve, request, vouched)
        # What deps._identify would have found: the request is this user's, with this session's CSRF token.
        scope.setdefault("state", {}).update(identified=True, user=user, session=session)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and cookie is not None:
                message.setdefault("headers", [])
                cookies = [(n, v) for n, v in cookie.raw_headers if n == b"set-cookie"]
                message["headers"] = [*message["headers"], *cookies]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def resolve(self, request: Request, vouched: identity.Vouched) -> tuple[model.User | None, Session | None, Cookie]:
        """The user, their session (the browser's own when it is theirs, else a new one) and, for a new one,
        a response carrying its cookie; a refused user (disabled, a name it does not own) is anonymous."""
        accounts = self.service.accounts
        try:
            user = identity.sign_in(accounts, vouched)
        except (errors.NotAllowed, errors.UserExists) as exc:
            log.warning("proxy sign-in of %r refused: %s", vouched.username, exc.message)
            return None, None, None
        existing = accounts.find_session(request.cookies.get(auth.session_cookie_name(accounts.settings), ""))
        if existing is not None and existing.user.id == user.id:
            return user, Session(id=existing.id, user=user, csrf_token=existing.csrf_token), None
        carrier = Response()
        session = auth.start_session(request, accounts, user, carrier)
        return user, session, carrier
