"""Jinja2 set-up: autoescaped templates, and the filters the templates share (status words and times from
jobdeck.views)."""

from __future__ import annotations

import datetime as dt
import pathlib
from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from jobdeck import model, views
from jobdeck.web import auth

HERE = pathlib.Path(__file__).parent
#: Autoescaping on for every template; nothing user-supplied is ever marked safe.
templates = Jinja2Templates(
    env=jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=False)
)

FILE_SECTIONS = [
    (model.FileKind.INPUT, "Input Files"),
    (model.FileKind.OUTPUT, "Output Files"),
    (model.FileKind.ERROR_REPORT, "Error Reports"),
]


def iso(value: dt.datetime | None) -> str:
    return views.timestamp(value) or ""


def utc_text(value: dt.datetime | None) -> str:
    """What a time reads as before the script shows it in the browser's zone (and without scripts)."""
    return f"{views.clock(value)} UTC" if value is not None else ""


def file_size(size: int) -> str:
    step = 1024.0
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < step or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= step
    return f"{size} bytes"


templates.env.filters.update(status_label=views.status_label, iso=iso, utc_text=utc_text, file_size=file_size)


def root(request: Request) -> str:
    """Where jobdeck's paths start: "" when it is the whole application, the prefix when it is mounted in a host
    application (or served under a root path)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def url(request: Request, path: str) -> str:
    """The one way a link, a form's action, a redirect or a cookie path is built from one of jobdeck's own paths
    ("/settings/maintenance/jobs"), so that it stays right under any prefix."""
    return root(request) + path


@jinja2.pass_context
def _url_in_template(context: Any, path: str) -> str:
    return url(context["request"], path)


templates.env.globals.update(
    FILE_SECTIONS=FILE_SECTIONS, STATUS_LABELS=views.STATUS_LABELS, day=dt.timedelta(days=1), url=_url_in_template
)


templates.env.filters.update(waiting=views.waiting, attempt_outcome=views.attempt_outcome)


def page(request: Request, name: str, context: dict[str, Any], *, status: int = 200) -> Response:
    """Render a page; the signed-in user and the CSRF token (if any) come from the request."""
    session = getattr(request.state, "session", None)
    base = {
        "user": getattr(request.state, "user", None),
        "csrf_token": session.csrf_token if session is not None else "",
        # a session of jobdeck's own can be ended here; a host application's sign-in is ended by the host
        "can_sign_out": session is not None and bool(session.id),
    }
    response: Response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    seed = getattr(request.state, "new_csrf_seed", None)
    if seed:
        response.set_cookie(
            auth.CSRF_SEED_COOKIE,
            seed,
            httponly=True,
            samesite="strict",
            secure=request.app.state.service.settings.secure_cookies,
            path=root(request) or "/",
        )
    return response
