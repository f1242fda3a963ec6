"""What an import says when a file's header does not fit its target: the problems, the encoding the file was
read in, and a hint when the header looks like text decoded in the wrong encoding."""

from __future__ import annotations

import re
from collections.abc import Sequence

from jobdeck.imports import readers
from jobdeck.imports.mapping import ColumnMapping

#: UTF-8 read as cp1252 or latin-1: an accented letter becomes 'Ã' or 'Â' and a symbol, a dash or a quote
#: becomes 'â€'; a byte that is not text in the encoding becomes the replacement character.
_MOJIBAKE = re.compile(
    "[\u00c3\u00c2][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013-\u203a\u20ac\u2122]|\u00e2\u20ac|\ufffd"
)


def looks_garbled(cells: Sequence[str]) -> str | None:
    """The first piece of a header that reads like mojibake (say 'Ã©'), or None."""
    for cell in cells:
        found = _MOJIBAKE.search(cell)
        if found:
            return found.group(0)
    return None


def header_mismatch(found: ColumnMapping, opened: readers.Opened) -> str:
    """Why the header stops the import, with the encoding it was read in (for a text file) and, when it looks
    garbled, the advice to name the file's encoding."""
    text = " ".join(found.errors)
    if opened.encoding is None:
        return text
    text += f" The file was read as {opened.encoding} text."
    garbled = looks_garbled(opened.header)
    if garbled is not None:
        text += (
            f" Its header looks garbled ({garbled!r}), as text read in the wrong encoding does: "
            "name the file's encoding when you upload it (perhaps utf-8 or cp1252)."
        )
    return text
