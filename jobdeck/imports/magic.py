"""What a file's bytes say it is, whatever its name: the magic numbers of files uploaded by mistake, and
Office's compound files (an old .xls workbook, or any Office document saved with a password)."""

from __future__ import annotations

from collections.abc import Iterable

#: Magic numbers of files people upload by mistake.
FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"PK\x03\x04", "a ZIP archive (an XLSX file perhaps: name it .xlsx)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or Office file: save it as .xlsx or CSV"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x7fELF", "a program"),
)


#: An OLE2 compound file: an old .xls workbook, or an Office file encrypted with a password, which Office
#: keeps as a compound file holding an `EncryptedPackage` stream instead of a ZIP archive.
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")  # a directory entry's name, as the file holds it


def password_protected(head: bytes, blocks: Iterable[bytes]) -> bool:
    """Whether a file is a password-protected Office document: a compound file with an `EncryptedPackage`
    stream. `blocks` are the whole file's bytes, in order; they are read only for a compound file."""
    if not head.startswith(OLE2_MAGIC):
        return False
    tail = b""
    for block in blocks:
        if _ENCRYPTED_PACKAGE in tail + block:
            return True
        tail = block[-len(_ENCRYPTED_PACKAGE) :]
    return False
