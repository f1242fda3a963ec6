"""The preview page's form: the choices a user makes between the upload and the import, read and shown.

The page lets the user change what was detected (encoding, delimiter, sheet, header row) and the mapping: one
drop-down per target column, listing the file's columns. The form also carries what it showed (the reading
settings, the header row and the file's header), so that a post can tell what the user changed: a mapping is
only taken for the header it was chosen against, and a changed reading or header row detects it again.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData

from jobdeck import errors, previewing
from jobdeck.previewing import Preview

#: The prefix of the mapping's drop-downs: `map:email` holds the file column chosen for `email`.
MAP = "map:"
ACTIONS = ("preview", "check", "import")
DELIMITERS = [("comma", "Comma (,)"), ("semicolon", "Semicolon (;)"), ("tab", "Tab"), ("pipe", "Pipe (|)")]
#: Encodings offered by name; the one detected or chosen is added when it is not among them.
ENCODINGS = [
    ("utf-8", "UTF-8"),
    ("utf-16", "UTF-16"),
    ("cp1252", "Windows-1252 (Western Europe)"),
    ("iso8859-1", "Latin-1 (ISO 8859-1)"),
    ("iso8859-15", "Latin-9 (ISO 8859-15)"),
    ("cp1250", "Windows-1250 (Central Europe)"),
    ("cp1251", "Windows-1251 (Cyrillic)"),
    ("mac-roman", "Mac Roman"),
    ("big5", "Big5 (Traditional Chinese)"),
    ("gb18030", "GB 18030 (Simplified Chinese)"),
    ("shift_jis", "Shift JIS (Japanese)"),
    ("euc_kr", "EUC-KR (Korean)"),
]
HOW = {"user": "chosen by you", "exact": "same name", "alias": "known alias", "similar": "similar name"}
NOTICES = {
    "reading": "The file is read differently now, so its header row and mapping were detected again: "
    "look them over, then choose Check or Import again.",
    "header": "The header row changed, so the mapping was detected again: look it over, then choose Check or "
    "Import again.",
}


@dataclasses.dataclass(frozen=True)
class Choices:
    """What the user chose on the preview page; None leaves a setting to detection."""

    encoding: str | None = None
    delimiter: str | None = None  #: by name: comma, semicolon, tab or pipe
    sheet: str | None = None
    header_row: int | None = None
    mapping: dict[str, str | None] | None = None  #: file column -> target column (None: not imported)
    on_error: str = "skip"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> Choices:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in stored.items() if k in fields})

    def preview_options(self) -> dict[str, Any]:
        """The keyword arguments of a preview (and of an import) for these choices."""
        return {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "mapping": self.mapping,
        }


@dataclasses.dataclass(frozen=True)
class Posted:
    """A posted preview form: the action asked for, the choices to use, and what changed under the mapping."""

    action: str
    choices: Choices
    redetected: str | None  #: "reading" or "header" when the mapping was detected again (see NOTICES)


def _text(form: FormData, name: str, limit: int = 200) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise errors.InvalidParams(f"{name} must be text.")
    if "\x00" in value:
        raise errors.InvalidParams(f"{name}: text may not contain NUL characters.")
    if len(value) > limit:
        raise errors.InvalidParams(f"{name} is longer than {limit} characters.")
    return value.strip()


def header_row_of(text: str) -> int | None:
    if not text:
        return None
    # ASCII digits only: str.isdigit() also takes "¹", which int() refuses.
    if not re.fullmatch(r"[0-9]{1,4}", text) or not 1 <= int(text) <= previewing.HEAD_ROWS:
        raise errors.InvalidParams(
            f"The header row must be a row number from 1 to {previewing.HEAD_ROWS}, not {text[:20]!r}."
        )
    return int(text)


def read_form(form: FormData) -> Posted:
    """The choices a post makes; a mapping chosen against another header than the one now asked for is dropped."""
    action = _text(form, "action", 20) or "preview"
    if action not in ACTIONS:
        raise errors.InvalidParams(f"Unknown action {action!r}.")
    on_error = _text(form, "on_error", 10) or "skip"
    if on_error not in ("skip", "fail"):
        raise errors.InvalidParams("When a row is invalid, choose to skip it or to fail the import.")
    reading = (_text(form, "encoding", 40), _text(form, "delimiter", 20), _text(form, "sheet"))
    shown_reading = (_text(form, "shown_encoding", 40), _text(form, "shown_delimiter", 20), _text(form, "shown_sheet"))
    header_row = header_row_of(_text(form, "header_row", 20))
    encoding, delimiter, sheet = (value or None for value in reading)
    choices = Choices(encoding, delimiter, sheet, header_row=header_row, on_error=on_error)
    if reading != shown_reading:
        return Posted(action, dataclasses.replace(choices, header_row=None), "reading")
    if _text(form, "header_row", 20) != _text(form, "shown_header_row", 20):
        return Posted(action, choices, "header")
    selects = {key[len(MAP) :]: _text(form, key, 1000) for key in form if key.startswith(MAP)}
    mapping = complete_mapping(selects, _shown_columns(_text(form, "shown_columns", 200_000)))
    return Posted(action, dataclasses.replace(choices, mapping=mapping), None)


def _shown_columns(text: str) -> list[str]:
    try:
        value = json.loads(text) if text else []
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.InvalidParams("The form is incomplete: reload the preview and try again.")
    return value


def complete_mapping(selects: Mapping[str, str], header: list[str]) -> dict[str, str | None]:
    """The drop-downs (target column -> file column) as the import takes them: every file column of the header,
    in its order, to the target column chosen for it or to None, so that nothing is matched that the user
    did not see chosen."""
    chosen: dict[str, str] = {}
    for column, file_column in selects.items():
        if not file_column:
            continue
        if file_column in chosen:
            raise errors.InvalidParams(
                f"The file column {file_column!r} is chosen for both {chosen[file_column]!r} and {column!r}: "
                "a file column can feed one target column only."
            )
        chosen[file_column] = column
    mapping: dict[str, str | None] = {cell: chosen.pop(cell, None) for cell in header if cell}
    mapping.update(chosen)  # a column the header lacks: the preview names it
    return mapping


def page_context(found: Preview, choices: Choices, target: Any) -> dict[str, Any]:
    """What the preview template shows of a preview: the form's controls and the mapping's rows."""
    read_as = previewing.delimiter_name(found.delimiter) or ""
    encodings = list(ENCODINGS)
    if choices.encoding and choices.encoding not in dict(encodings):
        encodings.insert(0, (choices.encoding, choices.encoding))
    required = {m.column for m in found.mapping.matches if m.required}
    suggestions = {s.column: s for s in found.mapping.suggestions}
    destination = {m.file_column: m.column for m in found.mapping.matches if m.file_column is not None}
    rows = []
    for m in found.mapping.matches:
        column = target.column(m.column)
        rows.append(
            {
                "column": m.column,
                "type": column.type,
                "required": m.column in required,
                "file_column": m.file_column,
                "how": HOW.get(m.how or "", ""),
                "confidence": round(m.confidence * 100),
                "suggestion": suggestions.get(m.column),
            }
        )
    return {
        "found": found,
        "choices": choices,
        "encodings": encodings,
        "delimiters": DELIMITERS,
        "read_as": read_as,
        "mapping_rows": rows,
        "columns": [cell for cell in found.header if cell],
        "destination": destination,
        "shown_columns": json.dumps(list(found.header)),
        "head_rows": previewing.HEAD_ROWS,
    }
