"""The HTML pages: login, Application Maintenance, the Job Management grid and detail view (the import page is
import_pages.py)."""

from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from jobdeck import access, errors, model, views
from jobdeck.query import JobQuery
from jobdeck.service import safe_run_at
from jobdeck.web import api, auth, render
from jobdeck.web.deps import OptionalUser, PageUser, PageWriter, ServiceDep, password_login
from jobdeck.web.listing import PAGE_SIZES, list_query, query_params
from jobdeck.web.oidc import oidc_button

router = APIRouter(include_in_schema=False)
JobId = Annotated[int, Path(ge=1, le=api.MAX_ID)]
GRID = "/settings/maintenance/jobs"
TABS = [(model.Tab.GENERAL, "General"), (model.Tab.IMPORTS, "Imports")]
#: The grid's columns in the seed's order, with the sort key each one offers.
COLUMNS = [
    ("Status", "status"),
    ("Job ID", "id"),
    ("Job", "type"),
    ("Description", "description"),
    ("Start", "started_at"),
    ("End", "ended_at"),
    ("Failed", "failed_at"),
    ("Run By", "run_by"),
]


def see_other(request: Request, path: str) -> RedirectResponse:
    """Redirect to one of jobdeck's own paths, under the prefix it is served at."""
    return RedirectResponse(render.url(request, path), status_code=303)


async def form_data(request: Request) -> FormData:
    return await request.form()


@router.get("/")
def home(request: Request) -> Response:
    return see_other(request, GRID)


# -- signing in and out ---------------------------------------------------------------------------
def _login_page(request: Request, next_url: str, *, error: str = "", status: int = 200) -> Response:
    token = auth.new_secret()
    settings = request.app.state.service.settings
    context = {
        "next": next_url,
        "login_csrf": token,
        "error": error,
        "password_login": settings.password_login,
        "oidc_name": oidc_button(settings),
    }
    response = render.page(request, "login.html", context, status=status)
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.app.state.service.settings.secure_cookies,
        path=render.url(request, "/login"),
    )
    return response


@router.get("/login", dependencies=[Depends(password_login)])
def login_form(request: Request, user: OptionalUser, next: str = "") -> Response:
    target = safe_run_at(next) or render.url(request, GRID)
    if user is not None and request.state.session is not None:
        return RedirectResponse(target, status_code=303)
    return _login_page(request, target)


@router.post("/login", dependencies=[Depends(password_login)])
def login(
    request: Request,
    service: ServiceDep,
    username: Annotated[str, Form(max_length=150)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    target = safe_run_at(next) or render.url(request, GRID)
    if not auth.same_secret(request.cookies.get(auth.LOGIN_CSRF_COOKIE), csrf_token):
        return _login_page(request, target, error=errors.CsrfRejected().message, status=403)
    try:
        user = service.accounts.authenticate(username.strip(), password, auth.client_address(request))
    except errors.LoginThrottled as exc:
        return _login_page(request, target, error=exc.message, status=429)
    except errors.BadCredentials as exc:
        return _login_page(request, target, error=exc.message, status=401)
    except errors.NotAllowed as exc:
        return _login_page(request, target, error=exc.message, status=403)
    response = RedirectResponse(target, status_code=303)
    auth.start_session(request, service.accounts, user, response)
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path=render.url(request, "/login"))
    return response


@router.post("/logout")
def logout(request: Request, service: ServiceDep, _user: PageWriter) -> Response:
    service.accounts.end_session(request.state.session.id)
    response = see_other(request, "/login")
    response.delete_cookie(
        auth.session_cookie_name(service.settings), path=auth.session_cookie_path(request, service.settings)
    )
    return response


# -- Application Maintenance ---------------------------------------------------------------------
def param_fields(schema: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Form fields for a job type's parameters, read from its pydantic JSON schema."""
    if not schema:
        return []
    required = set(schema.get("required", []))
    fields = []
    for name, declared in schema.get("properties", {}).items():
        # Optional[int] and friends arrive as anyOf [{"type": "integer", ...}, {"type": "null"}].
        choices = [c for c in declared.get("anyOf", [declared]) if c.get("type") != "null"] or [declared]
        prop = {**declared, **choices[0]}
        kind = prop.get("type", "string")
        fields.append(
            {
                "name": name,
                "label": prop.get("title", name),
                "kind": kind,
                "input": {"integer": "number", "number": "number", "boolean": "checkbox"}.get(kind, "text"),
                "step": "1" if kind == "integer" else "any",
                "default": "" if prop.get("default") is None else prop["default"],
                "min": prop.get("minimum"),
                "max": prop.get("maximum"),
                "required": name in required,
                "help": prop.get("description", ""),
            }
        )
    return fields


@router.get("/settings/maintenance")
def maintenance(request: Request, user: PageUser, service: ServiceDep) -> Response:
    operations = [
        {"type": t, "fields": param_fields(t.params.model_json_schema() if t.params else None)}
        for t in service.job_types_for(user)
    ]
    return render.page(request, "maintenance.html", {"operations": operations, "nav": "maintenance"})


@router.post("/settings/maintenance/start")
def start_operation(
    request: Request,
    user: PageWriter,
    service: ServiceDep,
    form: Annotated[FormData, Depends(form_data)],
    type: Annotated[str, Form(max_length=100)],
) -> Response:
    job_type = service.startable_type(user, type)
    params: dict[str, Any] = {}
    for field in param_fields(job_type.params.model_json_schema() if job_type.params else None):
        raw = form.get(f"p_{field['name']}")
        if field["kind"] == "boolean":
            params[field["name"]] = raw is not None
        elif isinstance(raw, str) and raw.strip():
            params[field["name"]] = _convert(raw.strip(), field["kind"], field["label"])
    job = service.start_job(user, type, params, run_at=render.url(request, "/settings/maintenance"))
    return see_other(request, f"{GRID}/{job.id}")


def _convert(raw: str, kind: str, label: str) -> Any:
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        raise errors.InvalidParams(f"{label}: {raw!r} is not a number.") from None
    return raw


# -- the grid ------------------------------------------------------------------------------------
@router.get(GRID)
def grid(
    request: Request, user: PageUser, service: ServiceDep, query: Annotated[JobQuery, Depends(list_query)]
) -> Response:
    if query.filter.tab is None:
        query = dataclasses.replace(query.filtered(tab=model.Tab.GENERAL), cursor=None)
    page = service.list_jobs(user, query)
    tab = query.filter.tab or model.Tab.GENERAL
    context = {
        "nav": "jobs",
        "tab": tab,
        "tabs": [(t, label, _url(request, GRID, {"tab": t.value})) for t, label in TABS],
        "jobs": page.items,
        "titles": {t.name: t.title for t in service.registry.all()},
        "types": [t for t in service.registry.all() if t.tab is tab],
        "users": service.accounts.users() if user.is_admin else [],
        "query": query,
        "columns": [(label, key, _sort_link(request, query, key)) for label, key in COLUMNS],
        "page_sizes": PAGE_SIZES,
        "next_url": _url(request, GRID, query_params(query, cursor=page.next_cursor)) if page.next_cursor else None,
        "first_url": _url(request, GRID, query_params(query, cursor=None)) if query.cursor else None,
        "filtered": query.filter.narrowed,
        "filters_qs": urllib.parse.urlencode(query_params(query, cursor=None), doseq=True),  # export, bulk actions
    }
    return render.page(request, "jobs.html", context)


def _sort_link(request: Request, query: JobQuery, key: str) -> dict[str, str]:
    """The column header's link: sort by this column, flipping the order when it is already the sort."""
    current = query.sort == key
    order = ("asc" if query.order == "desc" else "desc") if current else "desc"
    aria = ("descending" if query.order == "desc" else "ascending") if current else "none"
    return {"url": _url(request, GRID, query_params(query, sort=key, order=order, cursor=None)), "aria": aria}


def _url(request: Request, path: str, params: dict[str, Any]) -> str:
    return render.url(request, path) + "?" + urllib.parse.urlencode(params, doseq=True)


# -- the detail view -------------------------------------------------------------------------------
@router.get(GRID + "/{job_id}")
def job_detail(request: Request, job_id: JobId, user: PageUser, service: ServiceDep) -> Response:
    detail = service.job_detail(user, job_id)
    job = detail.job
    job_type = service.registry.get(job.type) if job.type in service.registry else None
    context = {
        "nav": "jobs",
        "detail": detail,
        "job": job,
        "title": detail.title,
        "can_cancel": access.can_cancel(user, job),
        "can_retry": job_type is not None and access.can_retry(user, job, job_type.audience),
        "back_url": _url(request, GRID, {"tab": job.tab.value}),
        "failed_seq": next((s.seq for s in detail.subtasks if s.status is model.SubtaskStatus.FAILED), None),
        "log": detail.log,
        "event_labels": views.EVENT_LABELS,
    }
    return render.page(request, "job.html", context)


@router.post(GRID + "/{job_id}/cancel")
def cancel(request: Request, job_id: JobId, user: PageWriter, service: ServiceDep) -> Response:
    service.cancel(user, job_id)
    return see_other(request, f"{GRID}/{job_id}")


@router.post(GRID + "/{job_id}/retry")
def retry(request: Request, job_id: JobId, user: PageWriter, service: ServiceDep) -> Response:
    job = service.retry(user, job_id)
    return see_other(request, f"{GRID}/{job.id}")
