"""An import's choices settled before its job is queued: the upload's header found and mapped, so that a
mapping that cannot work is refused at once (a 4xx) and the job stores the whole mapping it will use.

`Service.start_import` calls this on the stored upload; only the file's head is parsed, with the detection
the preview and the import job use (imports/detect.py).
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from jobdeck import errors, files
from jobdeck.imports import preview as previews
from jobdeck.imports import readers, upload
from jobdeck.imports.targets import Target
from jobdeck.settings import Settings


def used_mapping(found: previews.Preview) -> dict[str, str | None]:
    """Every named file column and the target column it feeds (None: ignored), in the file's order."""
    fed = found.mapping.as_user_mapping()
    return {cell: fed.get(cell) for cell in found.header if cell and (cell in fed or cell in found.mapping.ignored)}


def resolve(
    path: pathlib.Path,
    settings: Settings,
    filename: str,
    target: Target,
    *,
    encoding: str | None,
    delimiter: str | None,
    sheet: str | None,
    header_row: int | None,
    mapping: dict[str, str | None] | None,
) -> tuple[dict[str, Any], str | None]:
    """The import params the stored upload's head decides (sheet, delimiter, header row, header and mapping),
    and the encoding a CSV was read in.

    With a choice of the user's (a mapping, a sheet, a header row), a file that does not honour it is refused
    here. Without one, a file that cannot be read yet is left to the job, which fails naming the problem, as
    it names any problem of the rest of the file."""
    chose = mapping is not None or sheet is not None or header_row is not None
    if not chose and readers.is_xlsx(filename):
        # Reading a workbook means calamine holding a whole sheet: without a choice to check, that is left to
        # the job's capped child, as for a hostile workbook it must be. (A preview the user chose from has
        # read it already, under the same checks.)
        return {}, None
    try:
        found = previews.preview(
            path,
            filename,
            target,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet,
            header_row=header_row,
            mapping=mapping,
            limits=readers.Limits.from_settings(settings),
            fallback=settings.import_fallback_encoding,
        )
    except Exception:  # a file refused, or worse: without a choice to check, the job's capped child reads it
        if chose:
            raise
        return {}, None
    if not found.mapping.ok:
        if chose:
            raise errors.InvalidParams("The column mapping cannot be used: " + " ".join(found.mapping.errors))
        return {}, found.encoding  # the job fails naming the problem, with the encoding it read the file in
    resolved: dict[str, Any] = {
        "header_row": found.header_row,
        "header": list(found.header),
        "mapping": used_mapping(found),
    }
    if found.sheet is not None:
        resolved["sheet"] = found.sheet
    if found.delimiter is not None:
        resolved["delimiter"] = found.delimiter
    return resolved, found.encoding


@contextlib.contextmanager
def stored_upload(
    file_store: files.FileStore,
    settings: Settings,
    source: BinaryIO,
    filename: str,
    target: Target,
    validate: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    options: dict[str, Any],
    mapping: dict[str, str | None] | None,
    sheet: str | int | None,
    header_row: int | None,
) -> Iterator[tuple[str, dict[str, Any], files.StoredFile, str]]:
    """The upload stored and the import's params settled: (the cleaned name, the params, the stored file, its
    content type: a CSV's names the charset it was read in, so that it downloads as it was uploaded).

    `options` are on_error, dry_run, encoding and delimiter; `validate` is the job type's params check, made
    before the upload is stored and again once the params are complete. The stored file is deleted when the
    caller's block fails (the job was not queued)."""
    name = upload.clean_filename(filename)
    params = upload.import_params(target.name, name, **options)
    validate(params)  # a bad option is refused before the upload is stored
    picked = upload.check_choices(name, sheet=sheet, header_row=header_row)
    stored = upload.store(file_store, source, name, settings.max_upload_mb)
    try:
        with file_store.local_path(stored.key) as path:
            settled, encoding = resolve(
                path,
                settings,
                name,
                target,
                encoding=params["encoding"],
                delimiter=params["delimiter"],
                mapping=mapping,
                **picked,
            )
        params |= settled
        yield name, validate(params), stored, upload.content_type(name, encoding)
    except BaseException:
        file_store.delete(stored.key)
        raise
