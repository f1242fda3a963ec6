"""POST /api/v1/imports/preview: what an upload would import, detected and mapped, before anything is queued."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, File, Form, UploadFile

from jobdeck import errors, previewing
from jobdeck.previewing import ColumnMapping, Preview
from jobdeck.web import api
from jobdeck.web.deps import ApiUploadRoute, ApiUser, ServiceDep

MAX_MAPPING_CHARS = api.MAX_MAPPING_CHARS

# The caller is checked before a byte of the upload is read, as for POST /api/v1/imports.
router = APIRouter(prefix="/api/v1", responses=api.PROBLEMS, route_class=ApiUploadRoute)


class MatchOut(pydantic.BaseModel):
    column: str
    required: bool
    file_column: str | None
    position: int | None
    how: str | None = pydantic.Field(description="user, exact, alias or similar; null when unmatched")
    confidence: float


class SuggestionOut(pydantic.BaseModel):
    file_column: str
    position: int
    column: str
    confidence: float


class MappingOut(pydantic.BaseModel):
    ok: bool
    columns: list[MatchOut]
    ignored: list[str]
    errors: list[str]
    suggestions: list[SuggestionOut]
    mapping: dict[str, str] = pydantic.Field(description="file column -> target column, as POST /imports takes it")


class RowOut(pydantic.BaseModel):
    row: int = pydantic.Field(description="1 is the first row after the header, as in the error report")
    cells: list[str]


class PreviewOut(pydantic.BaseModel):
    filename: str
    target: str
    kind: str
    encoding: str | None
    delimiter: str | None
    delimiter_name: str | None
    sheets: list[str]
    sheet: str | None
    header_row: int
    header: list[str]
    mapping: MappingOut
    rows: list[RowOut]
    notes: list[str]
    mapping_source: str = pydantic.Field(description='"automatic", "given", or "previous import #123"')


def mapping_body(found: ColumnMapping) -> dict[str, Any]:
    return {
        "ok": found.ok,
        "columns": [
            {
                "column": m.column,
                "required": m.required,
                "file_column": m.file_column,
                "position": m.position,
                "how": m.how,
                "confidence": m.confidence,
            }
            for m in found.matches
        ],
        "ignored": list(found.ignored),
        "errors": list(found.errors),
        "suggestions": [
            {"file_column": s.file_column, "position": s.position, "column": s.column, "confidence": s.confidence}
            for s in found.suggestions
        ],
        "mapping": found.as_user_mapping(),
    }


def preview_body(found: Preview) -> dict[str, Any]:
    return {
        "filename": found.filename,
        "target": found.target,
        "kind": found.kind,
        "encoding": found.encoding,
        "delimiter": found.delimiter,
        "delimiter_name": previewing.delimiter_name(found.delimiter),
        "sheets": list(found.sheets),
        "sheet": found.sheet,
        "header_row": found.header_row,
        "header": list(found.header),
        "mapping": mapping_body(found.mapping),
        "rows": [{"row": number, "cells": list(cells)} for number, cells in found.rows],
        "notes": list(found.notes),
        "mapping_source": found.mapping_source,
    }


parse_mapping = api.parse_mapping


@router.post("/imports/preview", response_model=PreviewOut, tags=["imports"], responses={413: api.PROBLEMS[401]})
def preview_import(
    user: ApiUser,
    service: ServiceDep,
    file: Annotated[UploadFile, File(description="CSV or XLSX")],
    target: Annotated[str, Form(max_length=100)],
    encoding: Annotated[str | None, Form(max_length=40, pattern=r"^[A-Za-z0-9_.:-]*$")] = None,
    delimiter: Annotated[str | None, Form(max_length=10, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,
    sheet: Annotated[
        str | None, Form(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$", description="a sheet's name or number")
    ] = None,
    header_row: Annotated[int | None, Form(ge=1, le=previewing.HEAD_ROWS)] = None,
    mapping: Annotated[
        str | None, Form(max_length=MAX_MAPPING_CHARS, description='JSON: {"file column": "target column"}')
    ] = None,
) -> Any:
    """What importing this file would do: the encoding, delimiter, sheet and header row detected (or as
    given), the column mapping with its confidences, and the first 20 rows. Nothing is stored."""
    limit = service.settings.max_upload_mb * 1024 * 1024
    if file.size is not None and file.size > limit:
        raise errors.FileTooLarge()
    found = previewing.preview_upload(
        service,
        user,
        file.file,
        file.filename or "upload.csv",
        target,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        header_row=header_row,
        mapping=parse_mapping(mapping),
    )
    return api.json_body(preview_body(found))
