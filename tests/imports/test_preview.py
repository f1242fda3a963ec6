"""Previews of files shaped like real exports: detection of encoding, delimiter, sheet and header row, the
mapping, and the first rows, without importing anything."""

from __future__ import annotations

import io
import pathlib
import zipfile
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobdeck import errors
from jobdeck.demo import imports as demo
from jobdeck.imports import preview, sheets
from jobdeck.imports.readers import Limits
from tests.imports import test_mapping

LIMITS = Limits(max_rows=100_000, max_columns=50, max_cell_chars=1_000, max_xlsx_uncompressed_bytes=50 * 1024 * 1024)
CONTACT_ROWS = [
    ["Ada", "Lovelace", "ada@example.com", "+44 20 7946 0000"],
    ["Grace", "Hopper", "grace@example.com", "+1 555 0100"],
]


def write(tmp_path: pathlib.Path, name: str, data: bytes) -> pathlib.Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def csv_text(rows: list[list[str]], delimiter: str = ",", newline: str = "\r\n") -> str:
    return "".join(delimiter.join(row) + newline for row in rows)


def xlsx(tmp_path: pathlib.Path, sheets_rows: dict[str, list[list[Any]]], name: str = "export.xlsx") -> pathlib.Path:
    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, lines in sheets_rows.items():
        ws = book.create_sheet(title)
        for line in lines:
            ws.append(line)
    path = tmp_path / name
    book.save(path)
    return path


def run(path: pathlib.Path, target: Any = demo.contacts, **options: Any) -> preview.Preview:
    return preview.preview(path, path.name, target, limits=LIMITS, **options)


def test_title_and_blank_rows_above_the_header_are_skipped(tmp_path: pathlib.Path) -> None:
    text = csv_text(
        [
            ["Contacts export"],
            ["Generated 2024-05-01 by CRM"],
            [],
            *[
                ["First Name", "Last Name", "Email", "Phone"],
                *CONTACT_ROWS,
            ],
        ]
    )
    found = run(write(tmp_path, "export.csv", text.encode()))
    assert found.header_row == 4
    assert found.header == ("First Name", "Last Name", "Email", "Phone")
    assert found.rows == ((1, tuple(CONTACT_ROWS[0])), (2, tuple(CONTACT_ROWS[1])))
    assert found.mapping.ok


def test_comment_rows_above_the_header_are_skipped(tmp_path: pathlib.Path) -> None:
    text = "# exported from the old system\n# do not edit\nemail,first_name,last_name\na@example.com,A,B\n"
    found = run(write(tmp_path, "c.csv", text.encode()))
    assert (found.header_row, found.rows) == (3, ((1, ("a@example.com", "A", "B")),))


def test_semicolons_in_cp1252_with_french_headers_extra_and_shuffled_columns(tmp_path: pathlib.Path) -> None:
    rows = [
        ["Courriel", "Remarques", "Nom", "Prénom", "Téléphone"],
        ["zoé@example.com", "vue au salon", "Dupré", "Zoé", "01"],
    ]
    found = run(write(tmp_path, "contacts.csv", csv_text(rows, ";").encode("cp1252")))
    assert (found.encoding, found.delimiter, found.header_row) == ("cp1252", ";", 1)
    assert found.mapping.as_user_mapping() == {
        "Courriel": "email",
        "Nom": "last_name",
        "Prénom": "first_name",
        "Téléphone": "phone",
    }
    assert found.mapping.ignored == ("Remarques",)
    assert found.rows[0][1][3] == "Zoé"


def test_a_title_row_above_a_semicolon_header_does_not_hide_the_delimiter(tmp_path: pathlib.Path) -> None:
    rows = [
        ["Kontakte, Stand Mai"],
        ["Vorname", "Nachname", "E-Mail-Adresse", "Telefon"],
        ["Jörg", "Müller", "j@example.de", "030"],
    ]
    found = run(write(tmp_path, "kontakte.csv", csv_text(rows, ";").encode()))
    assert (found.delimiter, found.header_row) == (";", 2)
    assert found.mapping.match("email").file_column == "E-Mail-Adresse"
    assert found.mapping.match("phone").file_column == "Telefon"


def test_old_mac_files_with_carriage_returns_only(tmp_path: pathlib.Path) -> None:
    text = csv_text([["FIRST_NAME", "LAST_NAME", "E-MAIL"], *[r[:3] for r in CONTACT_ROWS]], newline="\r")
    found = run(write(tmp_path, "mac.csv", text.encode()))
    assert found.header_row == 1
    assert [r[1] for r in found.rows] == [tuple(r[:3]) for r in CONTACT_ROWS]
    assert found.mapping.ok


def test_utf16_with_tabs_and_spanish_headers(tmp_path: pathlib.Path) -> None:
    rows = [["Nombre", "Apellidos", "Correo electrónico", "País"], ["José", "Núñez", "jose@example.es", "ES"]]
    found = run(write(tmp_path, "contactos.txt", csv_text(rows, "\t").encode("utf-16")))
    assert (found.encoding, found.delimiter) == ("utf-16", "\t")
    assert found.mapping.match("country").file_column == "País"
    assert found.rows == ((1, ("José", "Núñez", "jose@example.es", "ES")),)


def test_big5_read_as_the_fallback_gets_a_hint_naming_big5(tmp_path: pathlib.Path) -> None:
    rows = [["名", "姓", "電子郵件", "電話"], ["小明", "王", "ming@example.com", "02-1234"]]
    path = write(tmp_path, "big5.csv", csv_text(rows).encode("big5"))
    garbled = run(path)
    assert garbled.encoding == "cp1252"
    assert not garbled.mapping.ok
    assert "big5" in garbled.notes[0]
    named = run(path, encoding="big5")
    assert named.encoding == "big5"
    assert named.mapping.ok
    assert named.mapping.match("first_name").file_column == "名"
    assert named.rows == ((1, ("小明", "王", "ming@example.com", "02-1234")),)


def test_a_header_row_chosen_by_the_user_wins(tmp_path: pathlib.Path) -> None:
    text = csv_text([["email", "first_name", "last_name"], ["Courriel", "Prénom", "Nom"], ["a@example.com", "A", "B"]])
    found = run(write(tmp_path, "two.csv", text.encode()), header_row=2)
    assert found.header == ("Courriel", "Prénom", "Nom")
    assert found.rows == ((1, ("a@example.com", "A", "B")),)


@pytest.mark.parametrize("header_row", [0, 5, 51])
def test_a_header_row_outside_the_file_is_refused(tmp_path: pathlib.Path, header_row: int) -> None:
    path = write(tmp_path, "short.csv", b"email,first_name,last_name\na@example.com,A,B\n")
    with pytest.raises(errors.InvalidParams, match="header_row must be between 1 and 2"):
        run(path, header_row=header_row)


def test_a_user_mapping_is_applied_in_the_preview(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "odd.csv", b"Given,Family,Contact\nAda,Lovelace,ada@example.com\n")
    found = run(path, mapping={"Given": "first_name", "Family": "last_name", "Contact": "email"})
    assert found.mapping.ok
    assert {m.how for m in found.mapping.matches if m.file_column} == {"user"}


def test_an_empty_file_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.ImportRejected, match="empty"):
        run(write(tmp_path, "empty.csv", b""))


def test_a_file_of_blank_lines_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.ImportRejected, match="empty"):
        run(write(tmp_path, "blank.csv", b"\n,,\n\n"))


def test_a_quote_that_never_closes_is_reported_at_its_line(tmp_path: pathlib.Path) -> None:
    text = 'email,first_name,last_name\na@example.com,A,B\nb@example.com,"Bo,C\nc@example.com,C,D\n'
    with pytest.raises(errors.ImportRejected, match="Line 3: a quote opens here and never closes"):
        run(write(tmp_path, "quote.csv", text.encode()))


def test_a_quote_that_runs_past_the_cell_limit_is_reported_at_its_line(tmp_path: pathlib.Path) -> None:
    text = 'email,first_name,last_name\nb@example.com,"Bo,C\n' + "x,y,z\n" * 500
    with pytest.raises(errors.ImportRejected, match="Line 2: a quote opens here and never closes"):
        run(write(tmp_path, "quote.csv", text.encode()))


def test_a_literal_quote_inside_a_cell_is_not_an_unclosed_quote(tmp_path: pathlib.Path) -> None:
    text = 'sku,name,price,quantity,active\nP1,5" pipe,1.00,3,yes\n'
    found = run(write(tmp_path, "p.csv", text.encode()), target=demo.products)
    assert found.rows == ((1, ("P1", '5" pipe', "1.00", "3", "yes")),)


def test_data_on_the_second_sheet_under_a_title_is_found(tmp_path: pathlib.Path) -> None:
    path = xlsx(
        tmp_path,
        {
            "About": [["This workbook lists our products"], ["Exported 2024-05-01"]],
            "Products": [
                ["Product list"],
                [],
                ["Item Code", "Product Name", "Unit Price", "Qty", "Enabled", "Notes"],
                ["P-1", "Pipe", 2.5, 3.0, True, "x"],
            ],
        },
    )
    found = run(path, target=demo.products)
    assert (found.sheets, found.sheet, found.header_row) == (("About", "Products"), "Products", 3)
    assert found.mapping.ok
    assert found.mapping.ignored == ("Notes",)
    assert found.rows == ((1, ("P-1", "Pipe", "2.5", "3", "true", "x")),)
    assert (found.encoding, found.delimiter) == (None, None)


def test_an_empty_first_sheet_is_passed_over(tmp_path: pathlib.Path) -> None:
    path = xlsx(
        tmp_path, {"Sheet1": [], "Contacts": [["email", "first_name", "last_name"], ["a@example.com", "A", "B"]]}
    )
    assert run(path).sheet == "Contacts"


def test_a_sheet_chosen_by_name_or_number_wins(tmp_path: pathlib.Path) -> None:
    people = [["email", "first_name", "last_name"], ["a@example.com", "A", "B"]]
    path = xlsx(tmp_path, {"Old": people, "New": [people[0], ["n@example.com", "N", "M"]]})
    assert run(path).sheet == "Old"
    assert run(path, sheet="New").rows == ((1, ("n@example.com", "N", "M")),)
    assert run(path, sheet="2").sheet == "New"
    assert run(path, sheet=2).sheet == "New"


def test_an_unknown_sheet_is_refused_naming_the_sheets(tmp_path: pathlib.Path) -> None:
    path = xlsx(tmp_path, {"Old": [["email"]], "New": [["email"]]})
    with pytest.raises(errors.InvalidParams, match="no sheet 'Nope'; its sheets: 'Old', 'New'"):
        run(path, sheet="Nope")
    with pytest.raises(errors.InvalidParams, match="no sheet '3'"):
        run(path, sheet="3")


def test_a_workbook_with_nothing_in_it_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.ImportRejected, match="none of its sheets"):
        run(xlsx(tmp_path, {"A": [], "B": []}))


def test_a_sheet_spanning_an_absurd_area_is_refused_before_calamine_allocates_it(tmp_path: pathlib.Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws["A1"] = "email"
    ws["XFD1048576"] = "far away"
    path = tmp_path / "far.xlsx"
    book.save(path)
    with pytest.raises(errors.ImportRejected, match=r"(rows|columns), over the limit of"):
        run(path)


def test_a_sheet_extent_counts_only_cells_holding_something(tmp_path: pathlib.Path) -> None:
    path = xlsx(tmp_path, {"S": [[None, "a", "b"], [None, None, 1]]})
    with zipfile.ZipFile(path) as archive:
        part = sheets.sheet_parts(archive)["S"]
        found = sheets.sheet_extent(archive, part, 10**6)
        assert (found.rows, found.columns) == (2, 2)


def test_a_cell_longer_than_the_preview_shows_is_cut(tmp_path: pathlib.Path) -> None:
    long = "y" * 900
    found = run(write(tmp_path, "l.csv", f"email,first_name,last_name\na@example.com,{long},B\n".encode()))
    assert found.rows[0][1][1] == "y" * preview.PREVIEW_CELL_CHARS + "\u2026"


def test_only_twenty_rows_after_the_header_are_returned(tmp_path: pathlib.Path) -> None:
    lines = ["email,first_name,last_name"] + [f"p{n}@example.com,P,{n}" for n in range(1, 60)]
    found = run(write(tmp_path, "many.csv", ("\n".join(lines) + "\n").encode()))
    assert [n for n, _ in found.rows] == list(range(1, 21))


def test_an_xlsx_takes_no_encoding_and_a_csv_no_sheet(tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.InvalidParams):
        run(xlsx(tmp_path, {"S": [["email"]]}), encoding="utf-8")
    with pytest.raises(errors.InvalidParams):
        run(write(tmp_path, "a.csv", b"email\n"), sheet="S")


def test_a_zip_named_xlsx_that_is_not_a_workbook_is_refused(tmp_path: pathlib.Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(errors.ImportRejected, match="not a valid XLSX"):
        run(write(tmp_path, "fake.xlsx", out.getvalue()))


def test_positions_in_a_sheet_count_from_its_first_used_column_as_the_import_reads_it(tmp_path: pathlib.Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws["B2"] = "Contacts"
    for column, value in zip("BCD", ["Email", "First Name", "Last Name"], strict=True):
        ws[f"{column}4"] = value
    for column, value in zip("BCD", ["a@example.com", "A", "B"], strict=True):
        ws[f"{column}5"] = value
    path = tmp_path / "offset.xlsx"
    book.save(path)
    found = run(path)
    assert found.header_row == 4
    assert found.mapping.match("email").position == 0
    assert found.rows == ((1, ("a@example.com", "A", "B")),)


def test_a_hidden_sheet_is_not_chosen_unless_named(tmp_path: pathlib.Path) -> None:
    book = openpyxl.Workbook()
    hidden = book.active
    assert hidden is not None
    hidden.title = "Lookup"
    hidden.append(["email", "first_name", "last_name"])
    hidden.sheet_state = "hidden"
    book.create_sheet("People").append(["E-mail", "Prénom", "Nom"])
    path = tmp_path / "hidden.xlsx"
    book.save(path)
    assert run(path).sheet == "People"
    assert run(path, sheet="Lookup").sheet == "Lookup"


FILLER = ["Contacts export", "Generated by CRM on 2024-05-01", "# comment line", "Page 1 of 3", "", "Confidential"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    above=st.lists(st.sampled_from(FILLER), max_size=8),
    data=st.data(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_the_header_is_found_below_any_title_blank_or_comment_rows(
    tmp_path: pathlib.Path, above: list[str], data: st.DataObject, delimiter: str
) -> None:
    header, where = data.draw(test_mapping.headers(demo.contacts))
    cells = [""] * len(header)
    for name, at in where.items():
        cells[at] = "a@example.com" if name == "email" else f"{name}-value"
    lines = [*above, delimiter.join(header), delimiter.join(cells)]
    path = write(tmp_path, "p.csv", ("\n".join(lines) + "\n").encode())
    found = run(path)
    assert (found.delimiter, found.header_row) == (delimiter, len(above) + 1)
    assert {m.column: m.position for m in found.mapping.matches} == where


def _stored_workbook() -> bytes:
    """A small contacts workbook with its parts stored uncompressed, so a changed byte lands in the XML."""
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["First Name", "Last Name", "Email"])
    ws.append(["Ada", "Lovelace", "ada@example.com"])
    packed = io.BytesIO()
    book.save(packed)
    out = io.BytesIO()
    with zipfile.ZipFile(packed) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    return out.getvalue()


WORKBOOK = _stored_workbook()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.integers(0, len(WORKBOOK) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_a_damaged_workbook_is_previewed_or_refused_never_an_unexpected_error(
    tmp_path: pathlib.Path, changes: list[tuple[int, int]]
) -> None:
    data = bytearray(WORKBOOK)
    for at, value in changes:
        data[at] = value
    path = write(tmp_path, "damaged.xlsx", bytes(data))
    try:
        found = run(path)
    except errors.JobdeckError as exc:
        assert exc.message
    else:
        assert found.kind == "xlsx"
