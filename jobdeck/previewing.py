"""Previewing an upload: what importing it would do (encoding, delimiter, sheet, header row, mapping, first rows).
Without a mapping of the caller's, the one their latest import of the same header into the target used is
offered again (`mapping_source` says which).

A service operation beside `Service.start_import`: the same permission (whoever may start imports), the same
upload checks, and nothing stored. The web and the CLI call this; neither reaches the import readers itself.
"""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile
from typing import BinaryIO

from jobdeck import errors, model
from jobdeck.imports import job as import_job
from jobdeck.imports import preview as previews
from jobdeck.imports import readers, upload
from jobdeck.imports.mapping import ColumnMapping, match_columns
from jobdeck.imports.preview import HEAD_ROWS, Preview
from jobdeck.imports.targets import Target
from jobdeck.service import Service

__all__ = [
    "HEAD_ROWS",
    "ColumnMapping",
    "Preview",
    "delimiter_name",
    "preview_saved",
    "preview_upload",
    "save_upload",
]


def delimiter_name(delimiter: str | None) -> str | None:
    """The delimiter's name as the job log says it ("comma", "semicolon", ...)."""
    return readers.DELIMITER_NAMES.get(delimiter) if delimiter else None


def preview_upload(
    service: Service,
    user: model.User,
    source: BinaryIO,
    filename: str,
    target: str,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    mapping: dict[str, str | None] | None = None,
) -> Preview:
    """What importing `source` into `target` would do; refused as `start_import` would refuse it."""
    upload.check_encoding(encoding)  # a bad option is refused before the upload is read
    upload.check_delimiter(delimiter)
    with tempfile.TemporaryDirectory(prefix="jobdeck-preview-") as folder:
        name, path = save_upload(service, user, source, filename, target, pathlib.Path(folder))
        return preview_saved(
            service,
            user,
            path,
            name,
            target,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet,
            header_row=header_row,
            mapping=mapping,
        )


def offered_again(service: Service, user: model.User, target: Target, found: Preview) -> Preview:
    """The preview with the mapping of this user's latest import of the same header into the target, when
    there is one that still fits; else as detected."""
    previous = service.previous_mapping(user, target.name, found.header)
    if previous is None:
        return found
    try:
        remembered = match_columns(target, found.header, previous.mapping)
    except errors.InvalidParams:  # the target changed since: the automatic mapping stands
        return found
    return dataclasses.replace(found, mapping=remembered, mapping_source=f"previous import #{previous.job_id}")


def save_upload(
    service: Service, user: model.User, source: BinaryIO, filename: str, target: str, folder: pathlib.Path
) -> tuple[str, pathlib.Path]:
    """Keep an upload in `folder` to preview it (once or many times): its cleaned name and where it is.

    Refused as `start_import` would refuse it: the caller may not import, the target is unknown, the name is
    not a CSV or XLSX, the file is over the upload limit or its first bytes show it is something else."""
    service.job_type_for(user, import_job.JOB_TYPE)  # previewing is for those who may import
    service.import_target(target)
    name = upload.clean_filename(filename)
    path = folder / ("upload" + pathlib.PurePath(name).suffix.lower())
    _save(source, path, service.settings.max_upload_mb * 1024 * 1024)
    with open(path, "rb") as f:
        head = f.read(4096)
        f.seek(0)
        upload.check_content(head, name, iter(lambda: f.read(1024 * 1024), b""))
    return name, path


def preview_saved(
    service: Service,
    user: model.User,
    path: pathlib.Path,
    filename: str,
    target: str,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    mapping: dict[str, str | None] | None = None,
) -> Preview:
    """The preview of an upload kept by `save_upload`, with the user's choices (None: detect)."""
    service.job_type_for(user, import_job.JOB_TYPE)
    chosen = service.import_target(target)
    found = previews.preview(
        path,
        filename,
        chosen,
        encoding=upload.check_encoding(encoding),
        delimiter=upload.check_delimiter(delimiter),
        sheet=sheet or None,
        header_row=header_row,
        mapping=mapping,
        limits=readers.Limits.from_settings(service.settings),
        fallback=service.settings.import_fallback_encoding,
    )
    if mapping is not None:
        return dataclasses.replace(found, mapping_source="given")
    return offered_again(service, user, chosen, found)


def _save(source: BinaryIO, path: pathlib.Path, limit: int) -> None:
    """The upload into `path`, refused past `limit` bytes (a chunked upload declares no size)."""
    written = 0
    with open(path, "wb") as out:
        while block := source.read(1024 * 1024):
            written += len(block)
            if written > limit:
                raise errors.FileTooLarge()
            out.write(block)
