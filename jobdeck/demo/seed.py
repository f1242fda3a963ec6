"""The demo's first sight: an admin and a user with generated passwords, and a little real job history."""

from __future__ import annotations

import io
import logging
import secrets

from jobdeck import errors, model
from jobdeck.query import JobQuery
from jobdeck.service import Service

log = logging.getLogger(__name__)

ADMIN = "admin"
USER = "demo"
GOOD_CONTACTS = [
    ("Ada", "Lovelace", "ada@example.com", "+44 20 7946 0001", "Analytical Engines", "GB"),
    ("Grace", "Hopper", "grace@example.com", "+1 202 555 0101", "US Navy", "US"),
    ("Alan", "Turing", "alan@example.com", "", "Bletchley Park", "GB"),
    ("Katherine", "Johnson", "katherine@example.com", "", "NASA", "US"),
    ("Edsger", "Dijkstra", "edsger@example.com", "", "Eindhoven University", "NL"),
]
BAD_CONTACTS = [
    ("", "Nobody", "not-an-email", "", "", "ZZ"),
    ("=cmd|' /C calc'!A0", "Formula", "formula@example.com", "", "", "XX"),
]


def ensure_demo(service: Service) -> list[tuple[str, str]]:
    """Create the demo accounts if they are missing, and on a fresh ledger run a few real jobs so both
    tabs show completed, failed and running rows. Returns the (username, password) pairs created now:
    the caller shows them once, with `credentials_block`, after its own start-up messages."""
    created: list[tuple[str, str]] = []
    admin = _ensure_user(service, ADMIN, "Demo Admin", is_admin=True, created=created)
    user = _ensure_user(service, USER, "Demo User", is_admin=False, created=created)
    if service.list_jobs(admin, JobQuery(limit=1)).items:
        return created
    log.info("seeding the demo history")
    for who in (admin, user):
        _import(service, who, "contacts", _contacts_csv(bad=True), f"contacts-{who.username}.csv", "skip")
        _import(service, who, "contacts", _contacts_csv(bad=True), f"strict-{who.username}.csv", "fail")
    service.worker(2).run(burst=True)
    _start(service, user, "export_contacts", {})
    _start(service, admin, "rebuild_contact_index", {})
    _start(service, admin, "purge_jobs", {"days": 30})
    _start(service, admin, "sleep", {"seconds": 0.3, "steps": 3})
    _start(service, user, "fail", {"message": "Demo failure: the remote system did not answer"})
    service.worker(2).run(burst=True)
    # Left queued for the server's own workers: rows that are in progress when the page first opens.
    _start(service, user, "sleep", {"seconds": 90, "steps": 30})
    _import(service, user, "contacts", _contacts_csv(bad=False), "contacts-latest.csv", "skip")
    return created


def credentials_block(created: list[tuple[str, str]]) -> str:
    """The demo passwords in one framed block that stands apart from log lines ("" when none are new)."""
    if not created:
        return ""
    lines = [
        "Demo accounts (shown once — note them down):",
        *(f"  {username} / {password}" for username, password in created),
        "Forgot one? Set a new one with: jobdeck users set-password NAME",
    ]
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join([rule, *(f"| {line.ljust(width)} |" for line in lines), rule])


def _start(service: Service, user: model.User, type_name: str, params: dict[str, object]) -> None:
    try:
        service.start_job(user, type_name, params, run_at="/settings/maintenance")
    except errors.UnknownJobType as exc:
        log.warning("demo job skipped: %s", exc)


def _ensure_user(
    service: Service, username: str, display_name: str, *, is_admin: bool, created: list[tuple[str, str]]
) -> model.User:
    try:
        return service.accounts.user(username)
    except errors.UserNotFound:
        pass
    password = secrets.token_urlsafe(12)
    user = service.accounts.create_user(username, password, is_admin=is_admin, display_name=display_name)
    created.append((username, password))
    return user


def _contacts_csv(*, bad: bool) -> bytes:
    rows = ["first_name,last_name,email,phone,company,country"]
    people = GOOD_CONTACTS + (BAD_CONTACTS if bad else [])
    for person in people:
        rows.append(",".join(f'"{cell}"' if "," in cell or "'" in cell else cell for cell in person))
    return ("\n".join(rows) + "\n").encode()


def _import(service: Service, user: model.User, target: str, data: bytes, name: str, on_error: str) -> None:
    try:
        service.start_import(user, io.BytesIO(data), name, target, on_error=on_error, run_at="/imports/new")
    except (errors.UnknownTarget, errors.UnknownJobType) as exc:
        log.warning("demo import skipped: %s", exc)
