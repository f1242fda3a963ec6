"""Checks on an upload before it is queued: the file name, the options, and what the first bytes say it is."""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from typing import Any, BinaryIO

from jobdeck import errors, files
from jobdeck.imports import magic, readers

DELIMITER_WORDS = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def clean_filename(name: str) -> str:
    """The name users see (files.clean_name), refused when nothing usable is left or it is not a file
    jobdeck imports."""
    base = files.clean_name(name)
    if not base:
        raise errors.InvalidParams("The file has no usable name; name it something.csv or something.xlsx.")
    if readers.kind_of(base) is None:
        raise errors.InvalidParams(f"{base!r} is not a file jobdeck imports: use a .csv, .tsv, .txt or .xlsx file.")
    return base


#: Python's codec names as HTTP names them, where the two differ.
CHARSETS = {"utf-8-sig": "utf-8", "cp1252": "windows-1252", "latin-1": "iso-8859-1", "iso8859-1": "iso-8859-1"}


def content_type(filename: str, encoding: str | None = None) -> str:
    """The type a file is served as; a text file's names its charset when it is known (`encoding`: a codec)."""
    kind = readers.kind_of(filename) or "csv"
    if kind != "csv" or encoding is None:
        return CONTENT_TYPES[kind]
    name = codecs.lookup(encoding).name
    return f"{CONTENT_TYPES[kind]}; charset={CHARSETS.get(name, name)}"


def check_on_error(on_error: str) -> str:
    if on_error not in ("skip", "fail"):
        raise errors.InvalidParams(f"on_error must be 'skip' or 'fail', not {on_error!r}.")
    return on_error


def check_encoding(encoding: str | None) -> str | None:
    """A text encoding Python knows, by its canonical name; None leaves it to detection."""
    if encoding is None or not encoding.strip():
        return None
    try:
        info = codecs.lookup(encoding.strip())
    except LookupError:
        raise errors.InvalidParams(f"Unknown encoding {encoding!r}; try utf-8, utf-16, cp1252 or latin-1.") from None
    if not getattr(info, "_is_text_encoding", True):
        raise errors.InvalidParams(f"{encoding!r} is not a text encoding.")
    return info.name


def check_delimiter(delimiter: str | None) -> str | None:
    """One of comma, semicolon, tab or pipe (the character or its name); None leaves it to detection."""
    if delimiter is None or delimiter == "":
        return None
    value = DELIMITER_WORDS.get(delimiter.lower(), delimiter)
    if value not in readers.DELIMITERS:
        raise errors.InvalidParams(f"The delimiter must be comma, semicolon, tab or pipe, not {delimiter!r}.")
    return value


def check_choices(filename: str, *, sheet: str | int | None, header_row: int | None) -> dict[str, Any]:
    """The sheet (a name, or a 1-based number) and the header row (1-based) a user chose, checked as far as
    they can be without the file; None leaves each to detection."""
    if header_row is not None and (isinstance(header_row, bool) or header_row < 1):
        raise errors.InvalidParams(f"header_row must be a row number, 1 or more, not {header_row!r}.")
    chosen = None if sheet is None or not str(sheet).strip() else str(sheet)
    if chosen is not None and readers.kind_of(filename) != "xlsx":
        raise errors.InvalidParams("A CSV file has no sheets to choose.")
    return {"sheet": chosen, "header_row": header_row}


def check_content(head: bytes, filename: str, blocks: Iterable[bytes] = ()) -> None:
    """Refuse a file whose first bytes show it is something else (an image, a ZIP named .csv, an .xls), or
    that is a password-protected workbook (`blocks`: the whole file, read only for an Office compound file)."""
    if readers.kind_of(filename) == "xlsx" and magic.password_protected(head, blocks):
        raise errors.InvalidParams(
            f"{filename} cannot be imported: it is a password-protected workbook. Save a copy without the password "
            "(in Excel: File, Info, Protect Workbook, Encrypt with Password, then clear it) and upload that."
        )
    problem = readers.sniff(head, filename)
    if problem and head:
        raise errors.InvalidParams(f"{filename} cannot be imported: {problem}.")


def import_params(
    target: str,
    filename: str,
    *,
    on_error: str,
    dry_run: bool,
    encoding: str | None,
    delimiter: str | None,
) -> dict[str, Any]:
    """The import job's parameters for a cleaned file name, each option checked with a clear message."""
    return {
        "target": target,
        "filename": filename,
        "on_error": check_on_error(on_error),
        "dry_run": bool(dry_run),
        "encoding": check_encoding(encoding),
        "delimiter": check_delimiter(delimiter),
    }


def store(file_store: files.FileStore, source: BinaryIO, filename: str, limit_mb: int) -> files.StoredFile:
    """Keep the upload in the file store, refusing one over the limit or whose first bytes show it is
    something else; nothing is left behind when it is refused."""
    try:
        stored = file_store.put(source, max_bytes=limit_mb * 1024 * 1024)
    except errors.FileTooLarge:
        raise errors.FileTooLarge(
            f"{filename} is larger than the upload limit of {limit_mb:,} MB (JOBDECK_MAX_UPLOAD_MB)."
        ) from None
    try:
        blocks = file_store.open(stored.key)
        try:
            check_content(next(iter(file_store.open(stored.key)), b"")[:4096], filename, blocks)
        finally:
            close = getattr(blocks, "close", None)
            if close is not None:
                close()
    except BaseException:
        file_store.delete(stored.key)
        raise
    return stored
