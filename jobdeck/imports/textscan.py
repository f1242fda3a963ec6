"""What a text file's bytes say before it is read as CSV: its encoding, and whether it holds NUL characters
or cells protected by `jobdeck.csvsafe`, found in one pass over the whole file."""

from __future__ import annotations

import codecs
import dataclasses
import pathlib
from collections.abc import Iterable

from jobdeck import csvsafe, errors

READ_BYTES = 1024 * 1024


def nul_row(reader: Iterable[list[str]]) -> int | None:
    """The number of the first row holding a NUL character (0 for the header), or None."""
    number: int | None = None  # None until the header, the first non-blank row
    for row in reader:
        if number is None:
            if not any(row):
                continue
            number = 0
        else:
            number += 1
        if any("\x00" in cell for cell in row):
            return number
    return None


def nul_problem(row: int) -> str:
    """Why a file with a NUL character is refused, wherever the NUL sits: no text file holds one."""
    where = "in its header row" if row == 0 else f"first in row {row:,}"
    return (
        f"it contains NUL bytes ({where}), so it is binary, not a CSV file (or UTF-16 without a byte order "
        "mark: name its encoding on upload)"
    )


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


@dataclasses.dataclass
class Scan:
    """What one pass over the whole decoded file found."""

    decodes: bool = True
    newlines: int = 0  #: line feeds, a row estimate
    nul: bool = False  #: a NUL character somewhere
    protected: bool = False  #: a cell may begin with the protection `csvsafe` adds


def decodes(path: pathlib.Path, encoding: str) -> Scan:
    """Whether the whole file decodes strictly, with what else the pass over its text saw on the way."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    scan = Scan()
    tail = ""  # the previous piece's last character: a protected start may straddle two reads
    with open(path, "rb") as f:
        try:
            while chunk := f.read(READ_BYTES):
                text = decoder.decode(chunk)
                scan.newlines += chunk.count(b"\n")
                scan.nul = scan.nul or "\x00" in text
                scan.protected = scan.protected or csvsafe.may_be_protected(tail + text)
                tail = text[-1:] or tail
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            scan.decodes = False
    return scan


def detect_encoding(path: pathlib.Path, named: str | None, fallback: str) -> tuple[str, Scan]:
    """The encoding, in a fixed order: a BOM; else the one named on upload; else strict UTF-8; else the fallback."""
    with open(path, "rb") as f:
        head = f.read(4)
    bom = _bom_encoding(head)
    if bom:
        candidates = [bom]  # a byte order mark is never wrong; it outranks a name typed on upload
    elif named:
        candidates = [codecs.lookup(named).name]
    else:
        candidates = ["utf-8", fallback]
    for encoding in candidates:
        scan = decodes(path, encoding)
        if scan.decodes:
            return encoding, scan
    if bom or named:
        raise errors.ImportRejected(f"The file is not valid {candidates[0]} text; check the encoding named on upload.")
    raise errors.ImportRejected(
        f"The file is neither UTF-8 nor {fallback} text; name its encoding on upload (for example utf-16 or latin-1)."
    )
