"""mount: the Job Management page, the JSON API and the static files inside a host application, under a prefix,
with the host deciding who is signed in.

    import jobdeck
    jobdeck.mount(app, "/admin/jobs", current_user=who_is_signed_in, unauthenticated=to_the_sign_in_page)

The host's user is mapped onto jobdeck's users table (created or updated on sight), so visibility and the Run By
column work as for jobdeck's own accounts. See docs/embedding.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.applications import Starlette

from jobdeck.runner.supervisor import EmbeddedWorkers
from jobdeck.service import Service
from jobdeck.settings import Settings
from jobdeck.settings import load as load_settings
from jobdeck.web.app import create_app, embedded_workers
from jobdeck.web.deps import HostSignIn, HostUser

__all__ = ["HostUser", "Mounted", "mount"]


@dataclasses.dataclass(frozen=True)
class Mounted:
    """What `mount` put into the host: jobdeck's own application, its service (to enqueue jobs from the host's
    code), the prefix, and the worker threads that run with the host's lifespan (None when the host runs
    `jobdeck worker` processes instead)."""

    app: FastAPI
    service: Service
    prefix: str
    workers: EmbeddedWorkers | None


def not_signed_in(_request: Request) -> Response:
    """The answer to a page nobody is signed in for when the host names none of its own."""
    return PlainTextResponse("Sign in to the application first.", status_code=401)


def mount(
    host: Starlette,
    prefix: str = "/admin/jobs",
    *,
    current_user: Callable[[Request], HostUser | None],
    is_admin: Callable[[Request], bool] | None = None,
    unauthenticated: Callable[[Request], Response] = not_signed_in,
    settings: Settings | None = None,
    service: Service | None = None,
    password_login: bool = False,
    workers: bool = True,
) -> Mounted:
    """Mount jobdeck into `host` (FastAPI or Starlette) at `prefix`.

    - `current_user(request)`: the host's signed-in user as a HostUser, or None. It runs in a worker thread.
    - `is_admin(request)`: decides the admin flag instead of `HostUser.is_admin`, when the host keeps it apart.
    - `unauthenticated(request)`: the host's answer to a page request with no user (a redirect to its sign-in
      page, a 401); an API request with no user gets a 401 problem document.
    - `settings` (from `jobdeck.settings.load(...)`, which creates the data folder) or an already open `service`:
      the database and the rest; by default the JOBDECK_* variables.
    - `password_login`: keep jobdeck's own /login and password tokens beside the host's sign-in (off by default).
    - `workers`: run `settings.workers` worker threads with the host's lifespan; False when the host runs
      `jobdeck worker` processes instead.
    """
    prefix = "/" + prefix.strip("/")
    if prefix == "/":
        raise ValueError("jobdeck needs a prefix of its own, such as /admin/jobs")
    opened = service is None
    if service is None:
        service = Service.open(settings or load_settings())
    who = current_user if is_admin is None else _with_admin_flag(current_user, is_admin)
    app = create_app(service, host=HostSignIn(who, unauthenticated, password_login=password_login))
    host.mount(prefix, app, name="jobdeck")
    embedded = embedded_workers(app) if workers else None
    _run_with_lifespan(host, embedded, service if opened else None)
    return Mounted(app=app, service=service, prefix=prefix, workers=embedded)


def _with_admin_flag(
    current_user: Callable[[Request], HostUser | None], is_admin: Callable[[Request], bool]
) -> Callable[[Request], HostUser | None]:
    def who(request: Request) -> HostUser | None:
        found = current_user(request)
        return None if found is None else dataclasses.replace(found, is_admin=is_admin(request))

    return who


def _run_with_lifespan(host: Starlette, workers: EmbeddedWorkers | None, opened: Service | None) -> None:
    """Start the workers when the host starts and stop them (handing running jobs back) when it stops: a mounted
    application's own lifespan is never run by Starlette, so the host's is wrapped."""
    inner = host.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with inner(app) as state:
            if workers is not None:
                workers.start()
            try:
                yield state
            finally:
                if workers is not None:
                    workers.stop()
                if opened is not None:
                    opened.close()

    host.router.lifespan_context = lifespan
