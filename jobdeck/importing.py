"""Imports as the service starts them: the upload stored, its header found and mapped before the job is queued,
and the mapping a user's earlier import of the same header used, offered again.

`Service.start_import` and `Service.previous_mapping` are these functions (service.py binds them), kept here
so that the Service class stays one screenful of operations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, BinaryIO

from jobdeck import model
from jobdeck.imports import choices
from jobdeck.imports import job as import_job
from jobdeck.query import JobFilter, JobQuery
from jobdeck.store import jobs as job_rows
from jobdeck.store import listing

if TYPE_CHECKING:
    from jobdeck.service import Service

#: How many of a user's latest imports are searched for a mapping to offer again.
REMEMBERED_IMPORTS = 200


@dataclasses.dataclass(frozen=True)
class PreviousMapping:
    """The mapping an earlier import used, and that import's job id (to say where it comes from)."""

    job_id: int
    mapping: dict[str, str | None]


def start_import(
    service: Service,
    user: model.User,
    source: BinaryIO,
    filename: str,
    target: str,
    *,
    on_error: str = "skip",
    dry_run: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
    run_at: str | None = "/imports/new",
    mapping: dict[str, str | None] | None = None,
    sheet: str | int | None = None,
    header_row: int | None = None,
) -> model.Job:
    """Store an upload and queue its import, the file recorded as the job's Input File in the same transaction.

    `mapping` (file column -> target column, None to ignore one), `sheet` (a name or 1-based number) and
    `header_row` (1-based) are checked against the file's head first, so a choice the file cannot honour is
    refused (InvalidParams) rather than queued; the job stores the whole mapping it will use."""
    from jobdeck.service import InputFile, safe_run_at  # the module that binds this function

    chosen = service.import_target(target)
    job_type = service.job_type_for(user, import_job.JOB_TYPE)
    options = {"on_error": on_error, "dry_run": dry_run, "encoding": encoding, "delimiter": delimiter}
    with choices.stored_upload(
        service.files,
        service.settings,
        source,
        filename,
        chosen,
        job_type.validate_params,
        options=options,
        mapping=mapping,
        sheet=sheet,
        header_row=header_row,
    ) as (name, params, stored, content_type):
        new = job_type.new_job(params, run_by_id=user.id, run_at=safe_run_at(run_at))
        return service._submit(new, [InputFile(name, content_type, stored.size, stored.sha256, stored.key)])


def previous_mapping(service: Service, user: model.User, target: str, header: Sequence[str]) -> PreviousMapping | None:
    """The mapping of this user's most recent import into `target` whose file had exactly this header; None
    when they have none. Only the user's own imports are searched, whoever they are."""
    query = JobQuery(
        filter=JobFilter(tab=model.Tab.IMPORTS, type=import_job.JOB_TYPE, visible_to=user.id),
        sort="id",
        order="desc",
        limit=REMEMBERED_IMPORTS,
    )
    wanted = list(header)
    with service.db.read() as conn:
        for listed in listing.list_jobs(conn, query).items:
            params = job_rows.get(conn, listed.id).params  # a listing leaves params out
            if params.get("target") == target and params.get("header") == wanted and params.get("mapping"):
                return PreviousMapping(listed.id, dict(params["mapping"]))
    return None
