"""The JSON API for acting on every job a filter matches: count them, cancel or retry them all, export them
as CSV (see docs/api.md). The filters are the list's (GET /api/v1/jobs); the caller's scope is the listing's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from jobdeck import bulk, errors, views
from jobdeck.query import JobQuery
from jobdeck.web import bulk_pages, problems, schemas
from jobdeck.web.deps import ApiUser, ServiceDep
from jobdeck.web.listing import list_query

MAX_COUNT = 2**63 - 1
Filters = Annotated[JobQuery, Depends(list_query)]
Confirm = Annotated[int, Query(ge=0, le=MAX_COUNT, description="the number of matching jobs the caller was shown")]
#: A count that changed: a problem whose extra member `count` is the number that matches now.
CONFLICT = problems.responses(409)
#: The name an export is downloaded under.
EXPORT_NAME = "jobs.csv"

api = APIRouter(prefix="/api/v1", tags=["jobs"], responses=problems.responses(401, 403, 422))


@api.get("/jobs/count", response_model=schemas.JobCount)
def count_jobs(user: ApiUser, service: ServiceDep, query: Filters) -> Any:
    """How many jobs the list with these filters holds over all its pages (the number a bulk action confirms)."""
    return JSONResponse({"count": bulk.count(service, user, query)})


@api.get(
    "/jobs/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "the grid's columns, every matching job"}},
)
def export(user: ApiUser, service: ServiceDep, query: Filters) -> Response:
    """Every job the list with these filters holds, in its order, as CSV with the grid's columns; streamed."""
    jobs = bulk.walk(service, user, query)
    headers = {"Content-Disposition": f'attachment; filename="{EXPORT_NAME}"'}
    return StreamingResponse(
        views.export_csv(jobs, service.registry.title), media_type="text/csv; charset=utf-8", headers=headers
    )


@api.post("/jobs/cancel", response_model=schemas.BulkOutcome, responses=CONFLICT)
def cancel_matching(request: Request, user: ApiUser, service: ServiceDep, query: Filters, confirm: Confirm) -> Any:
    """Cancel every queued job the filters match and ask every running one to stop. Admins act on every
    matching job, others on their own; `confirm` must be the matching count (else 409, nothing done)."""
    return _acted(request, lambda: bulk.cancel_all(service, user, query, confirm))


@api.post("/jobs/retry", response_model=schemas.BulkOutcome, responses=CONFLICT)
def retry_matching(request: Request, user: ApiUser, service: ServiceDep, query: Filters, confirm: Confirm) -> Any:
    """Retry every failed job the filters match, each as a new job; `confirm` as for cancel."""
    return _acted(request, lambda: bulk.retry_all(service, user, query, confirm))


def _acted(request: Request, action: Any) -> Response:
    try:
        outcome: bulk.Outcome = action()
    except errors.CountChanged as changed:
        return problems.problem(request, 409, changed.message, count=changed.count)
    return JSONResponse({"matched": outcome.matched, "acted": outcome.acted, "skipped": outcome.skipped})


#: The bulk routes, the API's and the pages', included by the application in one piece, ahead of the routes
#: whose `{job_id}` would otherwise take "count", "cancel" and "retry" for an id.
router = APIRouter()
router.include_router(api)
router.include_router(bulk_pages.router)
