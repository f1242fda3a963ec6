"""Protected CSV: formula triggers prefixed, every field quoted, and reading removes exactly what writing added."""

from __future__ import annotations

import ast
import csv
import io
import pathlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobdeck import csvsafe

PACKAGE = pathlib.Path(__file__).parent.parent / "jobdeck"


@pytest.mark.parametrize("cell", ["=1+1", "+SUM(1;1)", "-2+3", "@SUM(1)", "\tX", "\rX", "\x00X"])
def test_a_cell_beginning_with_a_formula_trigger_is_prefixed_with_an_apostrophe(cell: str) -> None:
    assert csvsafe.protect(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Ada", "", "1", "O'Brien", "'t Hooft", "'", "a=b"])
def test_any_other_cell_is_written_as_it_is(cell: str) -> None:
    assert csvsafe.protect(cell) == cell


@pytest.mark.parametrize("cell", ["'=1", "''", "'-x", "'''"])
def test_a_cell_that_reading_would_shorten_gets_one_more_apostrophe(cell: str) -> None:
    assert csvsafe.protect(cell) == "'" + cell
    assert csvsafe.unprotect(csvsafe.protect(cell)) == cell


def test_numbers_and_none_are_written_as_text() -> None:
    assert [csvsafe.protect(v) for v in (3, -1, 2.5, None)] == ["3", "'-1", "2.5", ""]


@given(st.text())
def test_unprotect_gives_back_every_protected_text(text: str) -> None:
    assert csvsafe.unprotect(csvsafe.protect(text)) == text


@given(st.text())
def test_a_protected_cell_never_begins_with_a_trigger(text: str) -> None:
    assert not csvsafe.protect(text).startswith(csvsafe.TRIGGERS)


@given(st.text())
def test_the_cheap_scan_finds_every_cell_reading_would_change(text: str) -> None:
    if csvsafe.unprotect(text) != text:
        assert csvsafe.may_be_protected(text)


def test_every_field_is_quoted_so_a_semicolon_cannot_split_a_cell() -> None:
    out = io.StringIO()
    csvsafe.Writer(out).writerow(["a;b", "+SUM(1;1)", 3, None])
    assert out.getvalue() == '"a;b","\'+SUM(1;1)","3",""\r\n'
    # Read with `;` as the delimiter, a quoted field keeps its semicolons: the cell is not split.
    semicolons = io.StringIO()
    csvsafe.Writer(semicolons, ";").writerow(["a;b", "c"])
    assert next(csv.reader(io.StringIO(semicolons.getvalue()), delimiter=";")) == ["a;b", "c"]


def test_to_bytes_is_utf8_with_a_byte_order_mark_and_protected() -> None:
    data = csvsafe.to_bytes([["name"], ['=HYPERLINK("x")']])
    assert data.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [["name"], ['\'=HYPERLINK("x")']]


def _csv_writers(path: pathlib.Path) -> list[int]:
    """Lines of a module that build a csv writer (csv.writer, csv.DictWriter) themselves."""
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("writer", "DictWriter")
        and isinstance(node.value, ast.Name)
        and node.value.id == "csv"
    ]


def test_no_module_but_csvsafe_builds_a_csv_writer() -> None:
    found = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if path.name != "csvsafe.py" and (lines := _csv_writers(path))
    }
    assert found == {}, "write CSV through jobdeck.csvsafe.Writer, which protects every cell"
