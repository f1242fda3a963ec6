"""Errors as answers: RFC 9457 problem+json under /api, an HTML error page elsewhere, never a traceback."""

from __future__ import annotations

import logging
import urllib.parse
from http import HTTPStatus
from typing import Any

import pydantic.json_schema
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from jobdeck import errors
from jobdeck.web import deps, guard, render, schemas

log = logging.getLogger(__name__)

#: The HTTP status of each failure; anything not listed is a 500 with a generic message.
STATUS: dict[type[errors.JobdeckError], int] = {
    errors.JobNotFound: 404,
    errors.FileNotFound: 404,
    errors.UnknownJobType: 404,
    errors.UnknownTarget: 404,
    errors.UserNotFound: 404,
    errors.TokenNotFound: 404,
    errors.QueueNotFound: 404,
    errors.InvalidSort: 422,
    errors.InvalidCursor: 422,
    errors.InvalidParams: 422,
    errors.ImportRejected: 422,
    errors.WeakPassword: 422,
    errors.InvalidTransition: 409,
    errors.UserExists: 409,
    errors.NotAllowed: 403,
    errors.CsrfRejected: 403,
    errors.NotAuthenticated: 401,
    errors.BadCredentials: 401,
    errors.LoginThrottled: 429,
    errors.FileTooLarge: 413,
    errors.DatabaseUnreachable: 503,
    errors.CountChanged: 409,
}
#: The media type of every problem answer, sent and declared alike (a client parses the body it was promised).
MEDIA_TYPE = "application/problem+json"
#: Where the OpenAPI document keeps the schemas that responses() refers to (see component_schemas()).
SCHEMA_REF = "#/components/schemas/{model}"
GENERIC_500 = "Something went wrong on our side; it has been logged. Try again in a moment."


def status_of(exc: errors.JobdeckError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def is_api(request: Request) -> bool:
    return guard.route_path(request.scope).startswith("/api/")


def problem(
    request: Request, status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if is_api(request):
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
        return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)
    return render.page(request, "error.html", {"status": status, "title": title, "detail": detail}, status=status)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI declaration of these problem answers: the Problem schema under the media type they are sent as.

    FastAPI puts a response's `model` under `application/json` only, so the schema is referred to here and
    component_schemas() adds it to the document.
    """
    ref = SCHEMA_REF.format(model=schemas.Problem.__name__)
    # No description: FastAPI words it from the code, so a declaration may be reused for another code.
    return {code: {"content": {MEDIA_TYPE: {"schema": {"$ref": ref}}}} for code in codes}


def component_schemas() -> dict[str, Any]:
    """The JSON schemas responses() refers to (the Problem and the models inside it), by name."""
    _, found = pydantic.json_schema.models_json_schema([(schemas.Problem, "serialization")], ref_template=SCHEMA_REF)
    return dict(found.get("$defs", {}))


def _login_redirect(request: Request) -> Response:
    """A page nobody is signed in for: jobdeck's login page, or, mounted in a host application, the host's answer."""
    host = deps.host_sign_in(request)
    if host is not None and not host.password_login:
        return host.unauthenticated(request)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = render.url(request, "/login")
    return RedirectResponse(login + "?" + urllib.parse.urlencode({"next": target}), status_code=303)


async def on_jobdeck_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.JobdeckError)
    status = status_of(exc)
    if isinstance(exc, errors.NotAuthenticated):
        if not is_api(request):
            return _login_redirect(request)
        return problem(request, 401, exc.message, headers={"WWW-Authenticate": "Bearer"})
    if status == 500:
        log.error("unexpected %s: %s", type(exc).__name__, exc.message)
        return problem(request, 500, GENERIC_500)
    return problem(request, status, exc.message)


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    found = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path"))
        found.append({"field": where or str(err.get("loc", ("request",))[0]), "message": str(err.get("msg", ""))})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in found) or "The request is not valid."
    return problem(request, 422, detail, errors=found)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem(request, exc.status_code, detail, headers=dict(exc.headers or {}))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    response = problem(request, 500, GENERIC_500)
    # This handler answers from outside the guard, so it adds the guard's headers itself.
    secure = request.app.state.service.settings.secure_cookies
    for name, value in [*guard.HEADERS, *([guard.HSTS] if secure else []), (b"cache-control", b"no-store")]:
        response.headers[name.decode()] = value.decode()
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.JobdeckError, on_jobdeck_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
