"""The operator's pages under Application Maintenance: Workers and Queues, with pause and resume buttons.
Admins only; to anyone else signed in they answer as a page the application does not have."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from jobdeck import access, model
from jobdeck.web import deps, render
from jobdeck.web.deps import ServiceDep
from jobdeck.web.operator_api import OperationsDep, QueueName, not_found
from jobdeck.web.pages import see_other

router = APIRouter(include_in_schema=False)
BASE = "/settings/maintenance"
QUEUES = f"{BASE}/queues"


def age(seconds: float) -> str:
    """A wait or a heartbeat's age as people read it: seconds, then minutes, then hours and minutes."""
    whole = int(seconds)
    if whole < 120:
        return f"{whole} s"
    if whole < 7200:
        return f"{whole // 60} min"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


render.templates.env.filters["age"] = age
# The menu shows the operator's pages to those who may open them: the one rule, read by the template.
render.templates.env.globals["can_operate"] = access.can_operate


def operator_page(request: Request, user: deps.PageUser) -> model.User:
    if not access.can_operate(user):
        # A missing page is rendered before anyone is identified (no menu, no sign-out form): forget the
        # caller so that this answer is the same page, byte for byte.
        request.state.user = None
        request.state.session = None
        raise not_found()
    return user


def operator_form(
    request: Request,
    user: Annotated[model.User, Depends(operator_page)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> model.User:
    """An admin posting a form with this session's CSRF token (checked after the admin test, as a missing page
    would not check it either)."""
    return deps.page_writer(request, user, csrf_token)


OperatorPage = Annotated[model.User, Depends(operator_page)]
OperatorForm = Annotated[model.User, Depends(operator_form)]


@router.get(f"{BASE}/workers")
def workers(request: Request, user: OperatorPage, service: ServiceDep, ops: OperationsDep) -> Response:
    titles = {t.name: t.title for t in service.registry.all()}
    context = {"nav": "workers", "workers": ops.workers(user), "titles": titles}
    return render.page(request, "workers.html", context)


@router.get(QUEUES)
def queues(request: Request, user: OperatorPage, ops: OperationsDep) -> Response:
    return render.page(request, "queues.html", {"nav": "queues", "queues": ops.queues(user)})


@router.post(QUEUES + "/{name}/pause")
def pause(request: Request, name: QueueName, user: OperatorForm, ops: OperationsDep) -> Response:
    ops.pause(user, name)
    return see_other(request, QUEUES)


@router.post(QUEUES + "/{name}/resume")
def resume(request: Request, name: QueueName, user: OperatorForm, ops: OperationsDep) -> Response:
    ops.resume(user, name)
    return see_other(request, QUEUES)
