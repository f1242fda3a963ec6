"""The operator's API (see docs/api.md): workers and queues, pausing and resuming a queue. Admins only; to anyone
else these routes answer exactly as a route the application does not have."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Depends, Path, Request
from starlette.exceptions import HTTPException

from jobdeck import access, errors, model, views
from jobdeck.operations import Operations
from jobdeck.web import deps, problems
from jobdeck.web.api import json_body
from jobdeck.web.deps import ServiceDep

router = APIRouter(prefix="/api/v1", tags=["operations"], responses=problems.responses(401, 403, 404, 422))
QueueName = Annotated[str, Path(min_length=1, max_length=64)]


class RunningJobOut(pydantic.BaseModel):
    id: int
    type: str
    started_at: dt.datetime | None


class WorkerOut(pydantic.BaseModel):
    id: str
    hostname: str
    pid: int
    concurrency: int
    started_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    heartbeat_age_seconds: float  #: by the database clock
    running: list[RunningJobOut]  #: the jobs it runs now


class QueueOut(pydantic.BaseModel):
    name: str
    depth: int  #: jobs waiting to be claimed
    oldest_queued_at: dt.datetime | None
    oldest_queued_age_seconds: float  #: by the database clock; 0 when nothing waits
    paused: bool
    paused_at: dt.datetime | None  #: the last pause (kept after a resume)
    paused_by: str | None  #: who paused it last; null for the console


def not_found() -> HTTPException:
    """What the router raises for a path it does not have: the same status, detail and headers."""
    return HTTPException(status_code=404)


def operator(request: Request, service: ServiceDep, _token: Annotated[str | None, Depends(deps.bearer)]) -> model.User:
    """An admin calling the API. Whether the caller may operate is settled before the CSRF check, so that an
    ordinary user's request without its CSRF header is answered like an unknown route too."""
    user = deps.optional_user(request, service)
    if user is None:
        raise errors.NotAuthenticated()
    if not access.can_operate(user):
        raise not_found()
    return deps.api_user(request, service, None)


Operator = Annotated[model.User, Depends(operator)]


def operations(service: ServiceDep) -> Operations:
    return Operations(service.wiring)


OperationsDep = Annotated[Operations, Depends(operations)]


@router.get("/workers", response_model=list[WorkerOut])
def list_workers(user: Operator, ops: OperationsDep) -> Any:
    """Every registered worker, its last heartbeat and the jobs it runs now."""
    return json_body([views.worker_document(w) for w in ops.workers(user)])


@router.get("/queues", response_model=list[QueueOut])
def list_queues(user: Operator, ops: OperationsDep) -> Any:
    """Every known queue: how many jobs wait, how long the oldest has waited, whether it is paused."""
    return json_body([views.queue_document(q) for q in ops.queues(user)])


@router.post("/queues/{name}/pause", response_model=QueueOut)
def pause_queue(name: QueueName, user: Operator, ops: OperationsDep) -> Any:
    """Stop workers taking this queue's jobs; running jobs finish normally. Pausing a paused queue changes nothing."""
    return json_body(views.queue_document(ops.pause(user, name)))


@router.post("/queues/{name}/resume", response_model=QueueOut)
def resume_queue(name: QueueName, user: Operator, ops: OperationsDep) -> Any:
    """Let workers take this queue's jobs again."""
    return json_body(views.queue_document(ops.resume(user, name)))
