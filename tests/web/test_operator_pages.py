"""The Workers and Queues pages: admins see them in the menu and pause and resume queues with CSRF-protected forms;
to anyone else signed in they are pages the application does not have."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.service import Service
from jobdeck.store import claim, workers
from tests.web.conftest import csrf_of

PAGES = ["/settings/maintenance/workers", "/settings/maintenance/queues"]


def test_the_menu_links_the_operator_pages_for_admins_only(
    admin: model.User, alice: model.User, as_user: Callable[[str], TestClient]
) -> None:
    assert 'href="/settings/maintenance/queues"' in as_user("ada").get("/settings/maintenance").text
    alices = as_user("alice").get("/settings/maintenance").text
    assert "/settings/maintenance/queues" not in alices and "/settings/maintenance/workers" not in alices


def test_an_ordinary_user_gets_the_page_a_missing_address_gets(
    alice: model.User, as_user: Callable[[str], TestClient]
) -> None:
    browser = as_user("alice")
    missing = browser.get("/settings/maintenance/no-such-page")
    for path in PAGES:
        got = browser.get(path)
        assert (got.status_code, got.text) == (404, missing.text)
    token = browser.headers["X-CSRF-Token"]
    post = browser.post("/settings/maintenance/queues/default/pause", data={"csrf_token": token})
    missing_post = browser.post("/settings/maintenance/no-such/default/pause", data={"csrf_token": token})
    assert (post.status_code, post.text) == (404, missing_post.text)


def test_the_queues_page_shows_each_queue_with_its_depth_and_a_pause_button(
    service: Service, admin: model.User, as_user: Callable[[str], TestClient]
) -> None:
    service.start_job(None, "noop")
    page = as_user("ada").get("/settings/maintenance/queues")
    assert page.status_code == 200
    assert 'data-queue="default"' in page.text and 'aria-label="Pause queue default"' in page.text
    assert 'data-live="true"' in page.text


def test_an_admin_pauses_and_resumes_a_queue_from_the_page(
    service: Service, admin: model.User, as_user: Callable[[str], TestClient]
) -> None:
    browser = as_user("ada")
    token = csrf_of(browser.get("/settings/maintenance/queues").text)
    paused = browser.post("/settings/maintenance/queues/default/pause", data={"csrf_token": token})
    assert paused.status_code == 303 and paused.headers["location"] == "/settings/maintenance/queues"
    page = browser.get("/settings/maintenance/queues").text
    assert 'aria-label="Resume queue default"' in page and "by ada" in page
    resumed = browser.post("/settings/maintenance/queues/default/resume", data={"csrf_token": token})
    assert resumed.status_code == 303
    assert 'aria-label="Pause queue default"' in browser.get("/settings/maintenance/queues").text


def test_a_pause_form_without_the_sessions_token_is_refused(
    admin: model.User, as_user: Callable[[str], TestClient]
) -> None:
    browser = as_user("ada")
    refused = browser.post("/settings/maintenance/queues/default/pause", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert 'aria-label="Pause queue default"' in browser.get("/settings/maintenance/queues").text


def test_the_workers_page_lists_a_worker_and_the_job_it_runs(
    service: Service, admin: model.User, as_user: Callable[[str], TestClient]
) -> None:
    job = service.start_job(None, "noop")
    with service.db.write() as conn:
        workers.register(conn, "host-a:7:aa", "host-a", 7, 3)
        claim.claim(service.db, conn, "host-a:7:aa", 1, lease_seconds=60)
    page = as_user("ada").get("/settings/maintenance/workers").text
    assert 'data-worker="host-a:7:aa"' in page and f'href="/settings/maintenance/jobs/{job.id}"' in page
