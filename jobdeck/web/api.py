"""The JSON API under /api/v1 (see docs/api.md): every job, file and action goes through the service's access checks."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

from jobdeck import errors, files, model, views
from jobdeck.query import JobQuery
from jobdeck.service import Service
from jobdeck.web import problems, render, schemas
from jobdeck.web.deps import ApiUploadRoute, ApiUser, ServiceDep
from jobdeck.web.listing import list_query

MAX_ID = 2**63 - 1
JobId = Annotated[int, Path(ge=1, le=MAX_ID)]
FileId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: Types a download is served as; anything else is a plain byte stream.
SERVED_TYPES = {
    "text/csv",
    "text/plain",
    "application/json",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
PROBLEMS = problems.responses(401, 403, 404, 422)
#: The longest mapping accepted, as JSON text: 200 columns of long names fit many times over.
MAX_MAPPING_CHARS = 100_000

router = APIRouter(prefix="/api/v1", responses=PROBLEMS)


def json_body(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """The views' dicts as they are: the API and the CLI's --json print the same bytes for the same job."""
    return JSONResponse(body, status_code=status, headers=headers)


@router.get("/jobs", response_model=schemas.JobPage, tags=["jobs"])
def list_jobs(user: ApiUser, service: ServiceDep, query: Annotated[JobQuery, Depends(list_query)]) -> Any:
    """A keyset page of the jobs the caller may see: admins see everyone's, other users their own."""
    page = service.list_jobs(user, query)
    return json_body(views.page(page.items, page.next_cursor))


@router.post("/jobs", status_code=202, response_model=schemas.JobSummary, tags=["jobs"])
def start_job(request: Request, body: schemas.NewJob, user: ApiUser, service: ServiceDep) -> Any:
    """Start a job of a type the caller may start (GET /job-types lists them)."""
    _check_text(body.params, "params")
    job = service.start_job(user, body.type, body.params, not_before=body.run_after, delay_seconds=body.delay_seconds)
    return json_body(views.job_summary(job), 202, {"Location": render.url(request, f"/api/v1/jobs/{job.id}")})


@router.get("/jobs/{job_id}", response_model=schemas.JobDetailOut, tags=["jobs"])
def get_job(request: Request, job_id: JobId, user: ApiUser, service: ServiceDep) -> Any:
    document = views.job_document(service.job_detail(user, job_id))
    root = render.root(request)
    for f in document["files"] if root else ():  # mounted under a prefix: the links start with it
        f["download_url"] = root + f["download_url"]
    return json_body(document)


@router.get(
    "/jobs/{job_id}/files/{file_id}",
    tags=["jobs"],
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the file, as an attachment"}},
)
def download(job_id: JobId, file_id: FileId, user: ApiUser, service: ServiceDep) -> Response:
    """A job's file (input, output or error report), always as an attachment under a server-chosen name."""
    job_file, chunks = service.open_file(user, job_id, file_id)
    # A text file keeps the charset it was read in ("text/csv; charset=utf-16"): it downloads as it was uploaded.
    media_type = job_file.content_type.split(";", 1)[0].strip()
    content_type = job_file.content_type if media_type in SERVED_TYPES else "application/octet-stream"
    headers = {
        "Content-Disposition": content_disposition(job_file.name, job_file.id),
        "Content-Length": str(job_file.size),
    }
    return StreamingResponse(_close_after(chunks), media_type=content_type, headers=headers)


@router.post(
    "/jobs/{job_id}/cancel", response_model=schemas.JobSummary, tags=["jobs"], responses=problems.responses(409)
)
def cancel(job_id: JobId, user: ApiUser, service: ServiceDep) -> Any:
    """Ask a queued or running job to stop; it ends Cancelled."""
    return json_body(views.job_summary(service.cancel(user, job_id)))


@router.post(
    "/jobs/{job_id}/retry",
    status_code=202,
    response_model=schemas.JobSummary,
    tags=["jobs"],
    responses=problems.responses(409),
)
def retry(request: Request, job_id: JobId, user: ApiUser, service: ServiceDep) -> Any:
    """Start a failed job again as a new job with the same type, parameters and input files."""
    job = service.retry(user, job_id)
    return json_body(views.job_summary(job), 202, {"Location": render.url(request, f"/api/v1/jobs/{job.id}")})


@router.get("/job-types", response_model=list[schemas.JobTypeOut], tags=["jobs"])
def job_types(user: ApiUser, service: ServiceDep) -> Any:
    """The system operations the caller may start (the Application Maintenance page)."""
    return [
        {
            "name": t.name,
            "title": t.title,
            "tab": t.tab.value,
            "params_schema": t.params.model_json_schema() if t.params else None,
        }
        for t in service.job_types_for(user)
    ]


@router.get("/import-targets", response_model=list[schemas.ImportTargetOut], tags=["imports"])
def import_targets(request: Request, user: ApiUser, service: ServiceDep) -> Any:
    return [target_body(t, render.root(request)) for t in service.import_targets()]


@router.get(
    "/import-targets/{name}/template",
    tags=["imports"],
    responses={200: {"content": {"text/csv": {}}, "description": "a CSV with the target's header row"}},
)
def import_template(name: Annotated[str, Path(max_length=100)], user: ApiUser, service: ServiceDep) -> Response:
    """A CSV holding just the header row a file for this target should have."""
    target = service.import_target(name)
    headers = {"Content-Disposition": content_disposition(f"{target.name}-template.csv", 0)}
    return Response(target.template_csv(), media_type="text/csv", headers=headers)


def start_import(
    request: Request,
    user: ApiUser,
    service: ServiceDep,
    file: Annotated[UploadFile, File(description="CSV or XLSX")],
    target: Annotated[str, Form(max_length=100)],
    on_error: Annotated[Literal["skip", "fail"], Form()] = "skip",
    dry_run: Annotated[bool, Form()] = False,
    encoding: Annotated[str | None, Form(max_length=40, pattern=r"^[A-Za-z0-9_.:-]*$")] = None,
    delimiter: Annotated[str | None, Form(max_length=10, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,
    mapping: Annotated[
        str | None,
        Form(
            max_length=MAX_MAPPING_CHARS,
            description='JSON: {"file column": "target column" or null to ignore it}; what it leaves out is '
            "matched automatically",
        ),
    ] = None,
    sheet: Annotated[
        str | None, Form(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$", description="an XLSX sheet's name or number")
    ] = None,
    header_row: Annotated[int | None, Form(ge=1, le=1_000_000, description="1-based; detected when left out")] = None,
) -> Any:
    """Upload a file to import into a target; the import runs as a job on the Imports tab. The header row, the
    sheet and the column mapping are detected unless given; a mapping or choice the file cannot honour is
    refused here (422), naming the column."""
    job = run_import(
        service,
        user,
        file,
        target,
        on_error=on_error,
        dry_run=dry_run,
        encoding=encoding,
        delimiter=delimiter,
        mapping=parse_mapping(mapping),
        sheet=sheet,
        header_row=header_row,
    )
    return json_body(views.job_summary(job), 202, {"Location": render.url(request, f"/api/v1/jobs/{job.id}")})


router.add_api_route(
    "/imports",
    start_import,
    methods=["POST"],
    status_code=202,
    response_model=schemas.JobSummary,
    tags=["imports"],
    responses=problems.responses(413),
    route_class_override=ApiUploadRoute,  # the caller is checked before the upload is read
)


# -- helpers shared with the pages ------------------------------------------------------------
def run_import(
    service: Service,
    user: model.User,
    upload: UploadFile,
    target: str,
    *,
    on_error: str,
    dry_run: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
    run_at: str = "/imports/new",
    mapping: dict[str, str | None] | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
) -> model.Job:
    """Start an import from an uploaded file: Starlette has spooled it to disk past 1 MB; it is read in chunks."""
    if upload.size is not None and upload.size > service.settings.max_upload_mb * 1024 * 1024:
        raise errors.FileTooLarge()
    return service.start_import(
        user,
        upload.file,
        upload.filename or "upload.csv",  # the service cleans it (files.clean_name)
        target,
        on_error=on_error,
        dry_run=dry_run,
        encoding=encoding or None,
        delimiter=delimiter or None,
        run_at=run_at,
        mapping=mapping,
        sheet=sheet or None,
        header_row=header_row,
    )


def parse_mapping(text: str | None) -> dict[str, str | None] | None:
    """A form's `mapping`: a JSON object of file column -> target column (or null to leave a column out)."""
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise errors.InvalidParams("mapping must be JSON: an object of file column -> target column.") from None
    if not isinstance(value, dict) or not all(isinstance(v, str | None) for v in value.values()):
        raise errors.InvalidParams('mapping must be a JSON object such as {"E-mail Address": "email"}.')
    for key, item in value.items():
        if "\x00" in key or (item is not None and "\x00" in item):
            raise errors.InvalidParams("mapping: text may not contain NUL characters.")
    return value


def target_body(t: Any, root: str = "") -> dict[str, Any]:
    """A target as the API and the import page show it; `root` is the prefix jobdeck is served under."""
    columns = [
        {
            "name": c.name,
            "type": c.type,
            "required": c.required,
            "max_length": c.max_length,
            "allowed": list(c.allowed) if c.allowed is not None else None,
        }
        for c in t.columns
    ]
    return {
        "name": t.name,
        "title": t.title,
        "description": getattr(t, "description", ""),
        "columns": columns,
        "key": list(t.key),
        "template_url": f"{root}/api/v1/import-targets/{urllib.parse.quote(t.name)}/template",
    }


def content_disposition(name: str, file_id: int) -> str:
    """RFC 6266: an ASCII fallback and the UTF-8 name, both derived from the cleaned stored name."""
    safe = files.clean_name(name) or f"file-{file_id}"
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", safe) or f"file-{file_id}"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(safe, safe='')}"


def _check_text(value: Any, where: str) -> None:
    """NUL cannot be stored in PostgreSQL text or JSON: refuse it up front with a clear message."""
    if isinstance(value, str):
        if "\x00" in value:
            raise errors.InvalidParams(f"{where}: text may not contain NUL characters.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, where)
            _check_text(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            _check_text(item, where)


def _close_after(chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
