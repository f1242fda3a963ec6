"""Checks on an upload before it is queued: the file name, the options, and what the first bytes say it is."""

from __future__ import annotations

import codecs
import pathlib
import re

from jobdeck import errors
from jobdeck.imports import readers

MAX_NAME_CHARS = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
DELIMITER_WORDS = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def clean_filename(name: str) -> str:
    """The name users see: no folders, no control or direction-changing characters, at most 255 characters."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = _CONTROL.sub("", base).strip().lstrip(".")
    if len(base) > MAX_NAME_CHARS:
        suffix = pathlib.PurePath(base).suffix[:20]
        base = base[: MAX_NAME_CHARS - len(suffix)] + suffix
    if not base:
        raise errors.InvalidParams("The file has no usable name; name it something.csv or something.xlsx.")
    if readers.kind_of(base) is None:
        raise errors.InvalidParams(f"{base!r} is not a file jobdeck imports: use a .csv, .tsv, .txt or .xlsx file.")
    return base


def content_type(filename: str) -> str:
    return CONTENT_TYPES[readers.kind_of(filename) or "csv"]


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


def check_content(head: bytes, filename: str) -> None:
    """Refuse a file whose first bytes show it is something else (an image, a ZIP named .csv, an .xls)."""
    problem = readers.sniff(head, filename)
    if problem and head:
        raise errors.InvalidParams(f"{filename} cannot be imported: {problem}.")
