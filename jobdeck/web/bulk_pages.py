"""The grid's bulk actions as pages: "Cancel matching…" and "Retry matching…" lead to a confirmation page
that says how many jobs match ("Cancel 37 jobs?"); its CSRF-protected form posts that number back, and the
action runs only if it still holds (the same service call as POST /api/v1/jobs/cancel and /retry)."""

from __future__ import annotations

import urllib.parse
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from jobdeck import bulk, errors, model, views
from jobdeck.query import JobQuery
from jobdeck.service import Service
from jobdeck.web import render
from jobdeck.web.deps import PageUser, PageWriter, ServiceDep
from jobdeck.web.listing import list_query, query_params

GRID = "/settings/maintenance/jobs"
Action = Literal["cancel", "retry"]
Filters = Annotated[JobQuery, Depends(list_query)]
#: The count the confirmation page showed, posted back with its form.
Confirmed = Annotated[int, Form(ge=0, le=2**63 - 1)]
#: What each action says: its verb, what it does to each kind of job, and what it did.
WORDING: dict[str, dict[str, str]] = {
    "cancel": {
        "verb": "Cancel",
        "explain": "Queued jobs are cancelled and running jobs are asked to stop; jobs that already ended are skipped.",
        "done": "cancelled or asked to stop",
    },
    "retry": {
        "verb": "Retry",
        "explain": "Each failed job runs again as a new job; jobs that did not fail are skipped.",
        "done": "retried as new jobs",
    },
}

router = APIRouter(include_in_schema=False)


def _filters(query: JobQuery) -> list[tuple[str, str]]:
    """The filters as the confirmation page lists them, in the grid's words."""
    f = query.filter
    shown = [
        ("Tab", f.tab.value.title() if f.tab else ""),
        ("Status", ", ".join(views.status_label(s) for s in f.statuses)),
        ("Job", f.type or ""),
        ("Run By", f.run_by or ""),
        ("Search", f.q or ""),
        ("Created from", views.clock(f.created_from)),
        ("Created before", views.clock(f.created_to)),
    ]
    return [(label, value) for label, value in shown if value]


def _page(
    request: Request,
    service: Service,
    user: model.User,
    action: Action,
    query: JobQuery,
    *,
    outcome: bulk.Outcome | None = None,
    changed: str = "",
    status: int = 200,
) -> Response:
    filters = urllib.parse.urlencode(query_params(query, cursor=None), doseq=True)
    context = {
        "nav": "jobs",
        "action": action,
        "wording": WORDING[action],
        "count": bulk.count(service, user, query) if outcome is None else outcome.matched,
        "filters": _filters(query),
        "form_action": render.url(request, f"{GRID}/{action}?{filters}"),
        "back_url": render.url(request, f"{GRID}?{filters}"),
        "outcome": outcome,
        "changed": changed,
    }
    return render.page(request, "bulk.html", context, status=status)


def _act(
    request: Request, service: Service, user: model.User, action: Action, query: JobQuery, confirm: int
) -> Response:
    try:
        outcome = bulk.ACTIONS[action](service, user, query, confirm)
    except errors.CountChanged as exc:
        # The confirmation again, with the number that matches now: nothing was done.
        return _page(request, service, user, action, query, changed=exc.message, status=409)
    return _page(request, service, user, action, query, outcome=outcome)


@router.get(GRID + "/cancel")
def confirm_cancel(request: Request, user: PageUser, service: ServiceDep, query: Filters) -> Response:
    return _page(request, service, user, "cancel", query)


@router.post(GRID + "/cancel")
def cancel_matching(
    request: Request, user: PageWriter, service: ServiceDep, query: Filters, confirm: Confirmed
) -> Response:
    return _act(request, service, user, "cancel", query, confirm)


@router.get(GRID + "/retry")
def confirm_retry(request: Request, user: PageUser, service: ServiceDep, query: Filters) -> Response:
    return _page(request, service, user, "retry", query)


@router.post(GRID + "/retry")
def retry_matching(
    request: Request, user: PageWriter, service: ServiceDep, query: Filters, confirm: Confirmed
) -> Response:
    return _act(request, service, user, "retry", query, confirm)
