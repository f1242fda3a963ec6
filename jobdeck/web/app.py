"""create_app: the whole web application assembled in one place (routes, guard, errors, static files, workers)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import prometheus_client
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from jobdeck.runner.supervisor import EmbeddedWorkers
from jobdeck.service import Service
from jobdeck.web import (
    api,
    auth_api,
    bulk_api,
    deps,
    guard,
    import_pages,
    oidc,
    operator_api,
    operator_pages,
    pages,
    problems,
    proxy_auth,
    render,
    schemas,
)
from jobdeck.web import preview as preview_api

log = logging.getLogger(__name__)

ops = APIRouter(tags=["operations"])


@ops.get("/healthz", response_model=schemas.Health)
def healthz() -> Any:
    """The process answers (load balancers and supervisors poll this)."""
    return JSONResponse({"status": "ok"})


@ops.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics() -> Response:
    """Prometheus text from the default registry."""
    return Response(prometheus_client.generate_latest(), media_type=prometheus_client.CONTENT_TYPE_LATEST)


def for_clients(spec: dict[str, Any]) -> dict[str, Any]:
    """The generated OpenAPI document, completed so that client generators read it as the server behaves.

    - Problem answers refer to the Problem schema (problems.responses); it is added here.
    - An uploaded file is `contentMediaType` only under OpenAPI 3.1, which generators such as
      openapi-python-client take for a text field; `format: binary` makes it a file upload.
    """
    found = spec.setdefault("components", {}).setdefault("schemas", {})
    found.update(problems.component_schemas())
    _mark_files(found)
    return spec


def _mark_files(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and "contentMediaType" in node:
            node.setdefault("format", "binary")
        for value in node.values():
            _mark_files(value)
    elif isinstance(node, list):
        for value in node:
            _mark_files(value)


def create_app(service: Service, *, host: deps.HostSignIn | None = None) -> FastAPI:
    """The application for this service; with `settings.workers > 0` its lifespan also runs that many worker
    threads (`embedded_workers(app)`). With `host`, the current user is the host application's (see mount.py)."""
    embedded = EmbeddedWorkers(service.worker) if service.settings.workers > 0 else None

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if embedded is not None:
            embedded.start()
            log.info("started %d embedded worker thread(s)", service.settings.workers)
        try:
            yield
        finally:
            if embedded is not None:
                embedded.stop()

    app = FastAPI(
        title="jobdeck",
        summary="Background jobs, imports and the Job Management page",
        version="1.0",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.workers = embedded
    app.state.host = host

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = for_clients(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(bulk_api.router)  # first: its paths would otherwise be taken for a {job_id}
    app.include_router(auth_api.router)
    app.include_router(api.router)
    app.include_router(preview_api.router)
    app.include_router(pages.router)
    app.include_router(operator_api.router)
    app.include_router(operator_pages.router)
    app.include_router(import_pages.router)
    app.include_router(ops)
    app.mount("/static", StaticFiles(directory=render.HERE / "static"), name="static")
    problems.install(app)
    oidc.install(app, service)
    proxy_auth.install(app, service)
    app.add_middleware(
        guard.Guard,
        max_body_bytes=service.settings.max_upload_mb * 1024 * 1024,
        hsts=service.settings.secure_cookies,
    )
    return app


def embedded_workers(app: FastAPI) -> EmbeddedWorkers | None:
    """The worker threads `create_app` runs with the application's lifespan (None with `JOBDECK_WORKERS=0`):
    what is running now, and a way to hand it back at once."""
    workers: EmbeddedWorkers | None = app.state.workers
    return workers
