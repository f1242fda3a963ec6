"""What an import says about files real people upload: a quote that never closes, a workbook saved with a
password or in the old .xls format, a header decoded in the wrong encoding."""

from __future__ import annotations

import io
import struct

import pytest

from jobdeck import errors, model
from jobdeck.service import Service
from tests.imports.conftest import RunImport, SetSetting, rows

HEADER = "first_name,last_name,email"


def people(count: int) -> list[str]:
    return [f"P{n},Q{n},p{n}@example.com" for n in range(1, count + 1)]


def compound_file(*streams: str) -> bytes:
    """An OLE2 compound file (what an .xls workbook is, and what Office makes of a workbook saved with a
    password) holding empty streams of these names: a header, one FAT sector and one directory sector."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)  # version 3, little endian, 512-byte sectors
    struct.pack_into("<IIIII", header, 0x2C, 1, 1, 0, 0x1000, 0xFFFFFFFE)  # one FAT sector; the directory at 1
    struct.pack_into("<III", header, 0x3C, 0xFFFFFFFE, 0, 0xFFFFFFFE)  # no mini FAT, no DIFAT sectors
    struct.pack_into("<I", header, 0x4C, 0)  # the FAT is sector 0
    header[0x50:512] = b"\xff" * (512 - 0x50)
    fat = bytearray(b"\xff" * 512)
    struct.pack_into("<II", fat, 0, 0xFFFFFFFD, 0xFFFFFFFE)  # sector 0: the FAT itself; sector 1: end of chain
    directory = bytearray()
    for kind, name in [(5, "Root Entry"), *((2, s) for s in streams)]:
        entry = bytearray(128)
        encoded = (name + "\0").encode("utf-16-le")
        entry[0 : len(encoded)] = encoded
        struct.pack_into("<HBB", entry, 0x40, len(encoded), kind, 1)
        struct.pack_into("<III", entry, 0x44, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        directory += entry
    directory += b"\0" * (512 - len(directory))
    return bytes(header + fat + directory)


def test_a_quote_that_never_closes_is_reported_at_the_row_where_it_opens(
    run_import: RunImport, set_setting: SetSetting, importer: Service
) -> None:
    set_setting(import_max_cell_chars=1000, import_chunk_rows=10)
    lines = people(40)
    lines[33] = 'P34,"Q34,p34@example.com'  # row 34 opens a quote; the rest of the file would be its cell
    result = run_import(("\n".join([HEADER, *lines, *people(100)]) + "\n").encode())
    assert result.status is model.Status.FAILED
    assert result.job.error == "Row 34: a quote opens here and never closes."


def test_a_quote_that_never_closes_near_the_end_is_reported_at_its_row(run_import: RunImport) -> None:
    lines = [*people(3), 'P4,"Q4,p4@example.com', "P5,Q5,p5@example.com"]
    result = run_import(("\n".join([HEADER, *lines]) + "\n").encode())
    assert result.status is model.Status.FAILED
    assert result.job.error == "Row 4: a quote opens here and never closes."


def test_a_long_quoted_cell_that_closes_is_named_as_over_the_cell_limit(
    run_import: RunImport, set_setting: SetSetting
) -> None:
    set_setting(import_max_cell_chars=1000)
    lines = [*people(2), 'P3,"' + "x" * 1200 + '",p3@example.com']
    result = run_import(("\n".join([HEADER, *lines]) + "\n").encode())
    assert result.status is model.Status.FAILED
    assert (result.job.error or "").startswith("Row 3 has a cell longer than the limit of 1,000 characters")


def test_a_quoted_cell_with_line_breaks_at_the_end_is_imported(run_import: RunImport, importer: Service) -> None:
    data = f'{HEADER},company\nAda,Lovelace,ada@example.com,"Analytical\nEngines"\n'.encode()
    result = run_import(data)
    assert result.status is model.Status.COMPLETED, result.job.error
    assert [r["company"] for r in rows(importer)] == ["Analytical\nEngines"]


def test_a_garbled_header_names_the_encoding_used_and_suggests_naming_one(run_import: RunImport) -> None:
    # UTF-8 text that was once read as cp1252 and saved again as UTF-8: 'Prénom' became 'PrÃ©nom'.
    data = "PrÃ©nom,Nom,Adresse Ã©lectronique\nAda,Lovelace,ada@example.com\n".encode()
    result = run_import(data)
    assert result.status is model.Status.FAILED
    error = result.job.error or ""
    assert "The required column 'email' matches no column of the file" in error
    assert "The file was read as utf-8 text. Its header looks garbled ('Ã©')" in error
    assert "name the file's encoding when you upload it" in error


def test_a_header_that_does_not_match_says_the_encoding_without_a_hint_when_it_reads_well(
    run_import: RunImport,
) -> None:
    result = run_import(b"name,phone\nAda,555\n")
    assert (result.job.error or "").endswith("The file was read as utf-8 text.")


def test_a_password_protected_workbook_is_refused_at_upload_as_such(importer: Service, uploader: model.User) -> None:
    data = compound_file("EncryptionInfo", "EncryptedPackage")
    with pytest.raises(errors.InvalidParams, match=r"cannot be imported: it is a password-protected workbook"):
        importer.start_import(uploader, io.BytesIO(data), "book.xlsx", "contacts")


def test_an_old_xls_workbook_named_xlsx_is_refused_at_upload_as_such(importer: Service, uploader: model.User) -> None:
    data = compound_file("Workbook")
    with pytest.raises(errors.InvalidParams, match=r"it is an old Excel \(\.xls\) workbook named \.xlsx"):
        importer.start_import(uploader, io.BytesIO(data), "book.xlsx", "contacts")
