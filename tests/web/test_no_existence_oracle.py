"""A job the caller may not see is answered exactly like a job that does not exist, on every route about a job:
same status, same body."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.service import Service

MISSING = 987_654
GRID = "/settings/maintenance/jobs"
#: (method, path) of every route about a job; {file} is a file of that job (or of no job).
ROUTES = [
    ("GET", "/api/v1/jobs/{job}"),
    ("GET", "/api/v1/jobs/{job}/files/{file}"),
    ("POST", "/api/v1/jobs/{job}/cancel"),
    ("POST", "/api/v1/jobs/{job}/retry"),
    ("GET", GRID + "/{job}"),
    ("POST", GRID + "/{job}/cancel"),
    ("POST", GRID + "/{job}/retry"),
]


@pytest.mark.parametrize("method, route", ROUTES)
def test_another_users_job_is_answered_like_a_missing_one(
    as_user: Callable[[str], TestClient],
    service: Service,
    alice: model.User,
    bob: model.User,
    make_job: Callable[..., model.Job],
    run_jobs: Callable[[], None],
    method: str,
    route: str,
) -> None:
    alices = make_job(alice, "t_fail_always") if route.endswith("retry") else make_job(alice, "t_steps", {"n": 1})
    if not route.endswith("cancel"):
        run_jobs()
    files = service.job_detail(alice, alices.id).files
    file_id = files[0].id if files else 1
    bobs = as_user("bob")
    page = not route.startswith("/api/")
    data = {"csrf_token": bobs.headers["X-CSRF-Token"]} if page and method == "POST" else None

    def ask(job_id: int) -> tuple[int, str]:
        path = route.format(job=job_id, file=file_id)
        response = bobs.request(method, path, data=data)
        return response.status_code, response.text

    theirs, missing = ask(alices.id), ask(MISSING)
    assert theirs == missing
    assert theirs[0] == 404
