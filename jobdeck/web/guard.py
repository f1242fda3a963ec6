"""The outermost layer: security headers on every response, a body-size cap, and the cross-site request check."""

from __future__ import annotations

import json
import urllib.parse

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobdeck import errors

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Form fields and multipart framing on top of the file itself.
FORM_OVERHEAD_BYTES = 256 * 1024


class Guard:
    """Pure ASGI (no BaseHTTPMiddleware): it adds headers as the response starts and refuses requests
    before the application reads a byte of their body."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, hsts: bool) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes + FORM_OVERHEAD_BYTES
        self.headers = [*HEADERS, HSTS] if hsts else list(HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = dict(scope["headers"])
        path = route_path(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers if n not in present]
                if path.startswith("/static/"):
                    extra.append((b"cache-control", b"public, max-age=3600"))
                elif b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                headers = message.get("headers", [])
                if (OFFSITE_HEADER, b"1") in headers:  # a route that means it (the OpenID provider's sign-in page)
                    headers = [(n, v) for n, v in headers if n != OFFSITE_HEADER]
                else:
                    headers = [_relative_location(n, v) for n, v in headers]
                message["headers"] = [*headers, *extra]
            await send(message)

        if scope["method"] not in SAFE_METHODS:
            site = request_headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
            if site in ("cross-site", "same-site"):
                await _refuse(send_with_headers, path, 403, "Forbidden", errors.CsrfRejected().message)
                return
        length = request_headers.get(b"content-length")
        if length is not None:
            try:
                too_long = int(length) > self.max_body_bytes
            except ValueError:
                await _refuse(send_with_headers, path, 400, "Bad Request", "Content-Length is not a number.")
                return
            if too_long:
                await _refuse(send_with_headers, path, 413, "Content Too Large", errors.FileTooLarge().message)
                return

        received = 0
        too_large = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                # A chunked body that grew past the cap: the application sees the client leave, and its
                # answer (a parse error) is replaced by the 413 the limit promises.
                too_large = True
                return {"type": "http.disconnect"}
            return message

        async def send_unless_too_large(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send_with_headers(message)

        try:
            await self.app(scope, counting_receive, send_unless_too_large)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await _refuse(send_with_headers, path, 413, "Content Too Large", errors.FileTooLarge().message)


#: Set (to "1") by the one route whose redirect must leave the site; the Guard removes it from the answer.
OFFSITE_HEADER = b"x-jobdeck-offsite"


def route_path(scope: Scope) -> str:
    """The path inside jobdeck ("/api/v1/jobs"), whatever prefix it is mounted under: the request's path without
    the root path a mount (or uvicorn's --root-path) put in front of it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def _relative_location(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    """Every redirect stays on this site and names no host: an absolute Location (Starlette builds one from
    the request's Host header, e.g. /static -> /static/) keeps only its path and query."""
    if name.lower() != b"location":
        return name, value
    parts = urllib.parse.urlsplit(value.decode("latin-1"))
    if not parts.scheme and not parts.netloc and not parts.path.startswith("//"):
        return name, value
    path = "/" + parts.path.lstrip("/\\")
    return name, (path + (f"?{parts.query}" if parts.query else "")).encode("latin-1")


async def _refuse(send: Send, path: str, status: int, title: str, detail: str) -> None:
    if path.startswith("/api/"):
        body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
        content_type = b"application/problem+json"
    else:
        body = f"{status} {title}: {detail}\n".encode()
        content_type = b"text/plain; charset=utf-8"
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
