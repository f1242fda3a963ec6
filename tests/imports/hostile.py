"""Hostile files, generated: minimal XLSX packages with hand-written XML, and CSVs of absurd shapes."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

CONTACTS = "first_name,last_name,email,phone,company,country,created_on"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def cells_row(number: int, values: Sequence[str]) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    cells = "".join(f'<c r="{letters[i]}{number}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def sheet(rows: str = "", dimension: str | None = None) -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<worksheet xmlns="{_MAIN}">{dim}<sheetData>{rows}</sheetData></worksheet>'.encode()


def contacts_sheet(**options: str) -> bytes:
    header = cells_row(1, CONTACTS.split(","))
    row = cells_row(2, ["Ada", "Lovelace", "ada@example.com", "", "", "GB", ""])
    return sheet(header + row + options.pop("extra_rows", ""), **options)


def xlsx(sheets: Sequence[bytes], shared_strings: bytes | None = None) -> bytes:
    """A workbook of these sheet parts (the first one is what an import reads)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        z.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' + overrides + "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        names = "".join(f'<sheet name="S{i}" sheetId="{i}" r:id="rId{i}"/>' for i in range(1, len(sheets) + 1))
        z.writestr("xl/workbook.xml", f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{names}</sheets></workbook>')
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        if shared_strings is not None:
            rels += f'<Relationship Id="rIdS" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            z.writestr("xl/sharedStrings.xml", shared_strings)
        z.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{_PKG}">{rels}</Relationships>')
        for i, part in enumerate(sheets, start=1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", part)
    return out.getvalue()


def far_cell() -> bytes:
    return xlsx([contacts_sheet(extra_rows='<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')])


def huge_dimension() -> bytes:
    return xlsx([contacts_sheet(dimension="A1:XFD1048576")])


def deeply_nested(depth: int = 200_000) -> bytes:
    """A sheet that is nothing but elements inside elements, 200,000 deep."""
    return xlsx([f'<worksheet xmlns="{_MAIN}">{"<x>" * depth}{"</x>" * depth}</worksheet>'.encode()])


def huge_shared_strings(count: int = 10_000_000) -> bytes:
    table = f'<sst xmlns="{_MAIN}" count="{count}" uniqueCount="{count}">'.encode()
    body = b"<si><t>x</t></si>" * count
    return xlsx([contacts_sheet()], shared_strings=table + body + b"</sst>")


def many_sheets(count: int = 5000) -> bytes:
    return xlsx([sheet()] * count)


def long_line_csv(size: int = 100 * 1024 * 1024) -> bytes:
    return (CONTACTS + "\r\n").encode() + b"a" * size + b",b,c@example.com\r\n"


def million_columns_csv(count: int = 1_000_000) -> bytes:
    return (",".join(f"c{i}" for i in range(count)) + "\r\nx\r\n").encode()


def nul_at_start_csv() -> bytes:
    return b"\x00" + (CONTACTS + "\r\nAda,Lovelace,ada@example.com,,,GB,\r\n").encode()


def nul_at_end_csv() -> bytes:
    lines = [CONTACTS] + [f"A{i},B{i},a{i}@example.com,,,GB," for i in range(2000)]
    return ("\r\n".join(lines) + "\r\n").encode() + b"\x00"
