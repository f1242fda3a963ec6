"""The import page: upload -> preview (what was detected, the first rows, the mapping) -> check -> import.

The upload is kept server-side (staged.py) under a token bound to the session; the preview page re-reads it
with the user's choices as often as they change them. "Check" starts the import's dry run and shows its
counts and first errors on the page; "Import" starts the import with the choices and the mapping shown.
Every step is a plain form (no script needed); every post carries the session's CSRF token.
"""

from __future__ import annotations

import pathlib
import urllib.parse
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from jobdeck import errors, model, previewing
from jobdeck.previewing import Preview
from jobdeck.service import Service
from jobdeck.web import api, import_check, import_form, render, staged
from jobdeck.web.deps import PageUploadRoute, PageUser, PageWriter, ServiceDep
from jobdeck.web.import_form import Choices

router = APIRouter(include_in_schema=False)
NEW = "/imports/new"
GRID = "/settings/maintenance/jobs"
Token = Annotated[str, Path(min_length=1, max_length=64)]


def see_other(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(render.url(request, path), status_code=303)


async def form_data(request: Request) -> FormData:
    return await request.form()


def uploads(service: Service) -> staged.StagedUploads:
    return staged.StagedUploads(service.settings.data_dir)


def _session_id(request: Request) -> str:
    # Under a host application's sign-in there is no session of jobdeck's own: the browser's CSRF token, bound
    # to its seed cookie, stands for it.
    session: Any = request.state.session
    return str(session.id or session.csrf_token)


# -- step 1: the target and the file --------------------------------------------------------------
@router.get(NEW)
def import_form_page(request: Request, user: PageUser, service: ServiceDep, target: str = "") -> Response:
    targets = [api.target_body(t, render.root(request)) for t in service.import_targets()]
    chosen = next((t for t in targets if t["name"] == target), targets[0] if targets else None)
    context = {"nav": "imports", "targets": targets, "chosen": chosen, "max_upload_mb": service.settings.max_upload_mb}
    return render.page(request, "import.html", context)


def upload(
    request: Request,
    user: PageWriter,
    service: ServiceDep,
    file: Annotated[UploadFile, File()],
    target: Annotated[str, Form(max_length=100)],
    on_error: Annotated[str, Form(pattern="^(skip|fail)$")] = "skip",
) -> Response:
    """Keep the upload for its preview; nothing is queued yet."""
    if file.size is not None and file.size > service.settings.max_upload_mb * 1024 * 1024:
        raise errors.FileTooLarge()
    found = uploads(service).add(
        lambda folder: previewing.save_upload(service, user, file.file, file.filename or "upload.csv", target, folder),
        target=target,
        user_id=user.id,
        session_id=_session_id(request),
        choices=Choices(on_error=on_error).as_dict(),
    )
    return see_other(request, f"/imports/{found.token}")


# the caller (session, same site) is checked before the upload is read; the form's token after
router.add_api_route(NEW, upload, methods=["POST"], route_class_override=PageUploadRoute)


# -- step 2: the preview, and the check --------------------------------------------------------------
@router.get("/imports/{token}")
def preview_page(request: Request, token: Token, user: PageUser, service: ServiceDep, notice: str = "") -> Response:
    found = uploads(service).get(token, user_id=user.id, session_id=_session_id(request))
    return _render(request, service, user, found, Choices.of(found.choices), notice=notice)


@router.post("/imports/{token}")
def preview_action(
    request: Request,
    token: Token,
    user: PageWriter,
    service: ServiceDep,
    form: Annotated[FormData, Depends(form_data)],
) -> Response:
    """Update the preview, check (the dry run) or import, with the choices posted."""
    store = uploads(service)
    found = store.get(token, user_id=user.id, session_id=_session_id(request))
    try:
        posted = import_form.read_form(form)
        preview = _preview(service, user, found, posted.choices)
    except (errors.InvalidParams, errors.ImportRejected) as exc:
        return _render(request, service, user, found, Choices.of(found.choices), error=exc.message, status=422)
    choices = posted.choices
    # A check made with other choices no longer says what an import would do.
    check = found.check if choices == Choices.of(found.choices) else None
    if posted.action == "preview" or posted.redetected:
        store.update(found, choices=choices.as_dict(), check=check)
        notice = posted.redetected if posted.action != "preview" and posted.redetected else ""
        return see_other(request, f"/imports/{token}" + (f"?notice={notice}" if notice else ""))
    store.update(found, choices=choices.as_dict(), check=check)
    found = store.get(token, user_id=user.id, session_id=_session_id(request))
    if not preview.mapping.ok:
        return _render(request, service, user, found, choices, preview=preview, status=422)
    try:
        job = _start(request, service, user, found, choices, dry_run=posted.action == "check")
    except (errors.InvalidParams, errors.ImportRejected) as exc:
        return _render(request, service, user, found, choices, preview=preview, error=exc.message, status=422)
    if posted.action == "check":
        store.update(found, choices=choices.as_dict(), check=job.id)
        return see_other(request, f"/imports/{token}#check")
    store.remove(token)  # the job keeps its own copy; a second post cannot import it twice
    return see_other(request, f"{GRID}/{job.id}")


def _preview(service: Service, user: model.User, found: staged.Staged, choices: Choices) -> Preview:
    return previewing.preview_saved(
        service, user, found.path, found.filename, found.target, **choices.preview_options()
    )


def _start(
    request: Request, service: Service, user: model.User, found: staged.Staged, choices: Choices, *, dry_run: bool
) -> model.Job:
    with open(found.path, "rb") as source:
        return service.start_import(
            user,
            source,
            found.filename,
            found.target,
            on_error=choices.on_error,
            dry_run=dry_run,
            run_at=render.url(request, NEW),
            **choices.preview_options(),
        )


def _render(
    request: Request,
    service: Service,
    user: model.User,
    found: staged.Staged,
    choices: Choices,
    *,
    preview: Preview | None = None,
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> Response:
    """The preview page. When the choices cannot be previewed, the error is shown above the file as detected."""
    if preview is None:
        try:
            preview = _preview(service, user, found, choices)
        except (errors.InvalidParams, errors.ImportRejected) as exc:
            error, status = error or exc.message, 422
            choices = Choices(on_error=choices.on_error)
            try:
                preview = _preview(service, user, found, choices)
            except (errors.InvalidParams, errors.ImportRejected):
                preview = None
    target = service.import_target(found.target)
    context: dict[str, Any] = {
        "nav": "imports",
        "staged": found,
        "target": api.target_body(target, render.root(request)),
        "error": error,
        "notice": import_form.NOTICES.get(notice, ""),
        "check": import_check.check_result(service, user, found.check) if found.check else None,
        "upload_again": render.url(request, NEW) + "?" + urllib.parse.urlencode({"target": target.name}),
        "kind": pathlib.PurePath(found.filename).suffix.lower().lstrip("."),
        "choices": choices,
        "found": None,
    }
    if preview is not None:
        context.update(import_form.page_context(preview, choices, target))
    return render.page(request, "import_preview.html", context, status=status)
