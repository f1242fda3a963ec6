"""Properties: generated CSVs of valid and invalid rows; every valid row written once, every invalid one
reported once, in row order; and the chunk-at-a-time checks agree with the row-at-a-time ones."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobdeck import csvsafe, model
from jobdeck.demo import imports as demo
from jobdeck.imports import validate
from jobdeck.service import Service
from tests.imports.conftest import RunImport, SetSetting, rows

HEADER = ["first_name", "last_name", "email", "phone", "company", "country", "created_on"]
#: Text a person might type, with the characters CSV must quote: delimiters, quotes, line breaks.
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.split() != [] and csvsafe.unprotect(s) == s)  # "'=…" reads as a protected "=…"
BREAKS = {
    "required": lambda cells: cells.__setitem__(0, "  "),
    "bad_email": lambda cells: cells.__setitem__(2, cells[2].replace("@", "#")),
    "not_allowed": lambda cells: cells.__setitem__(5, "ZZ"),
    "bad_date": lambda cells: cells.__setitem__(6, "2021-02-30"),
    "too_long": lambda cells: cells.__setitem__(1, "x" * 101),
    "duplicate_key": None,  # the email of an earlier valid row, in another case
}
COLUMN = {"required": "first_name", "bad_email": "email", "not_allowed": "country", "bad_date": "created_on"}


@st.composite
def files(draw: st.DrawFn) -> tuple[list[list[str]], list[str], list[tuple[int, str, str]]]:
    """(rows as uploaded, the emails that should be written, the (row, column, code) that should be reported)."""
    count = draw(st.integers(min_value=0, max_value=40))
    uploaded: list[list[str]] = []
    written: list[str] = []
    reported: list[tuple[int, str, str]] = []
    for n in range(1, count + 1):
        cells = [
            draw(TEXT),
            draw(TEXT),
            f"Person{n}@Example.com",
            draw(TEXT),
            "",
            draw(st.sampled_from(["", "GB"])),
            "",
        ]
        cells[6] = draw(st.sampled_from(["", "2024-02-29"]))
        broken = draw(st.sampled_from([None, None, None, *BREAKS]))
        if broken == "duplicate_key" and written:
            cells[2] = draw(st.sampled_from(written)).upper()
            reported.append((n, "email", "duplicate_key"))
        elif broken is not None and broken != "duplicate_key":
            BREAKS[broken](cells)  # type: ignore[misc]
            reported.append((n, COLUMN.get(broken, "last_name"), broken))
        else:
            written.append(cells[2].lower())
        uploaded.append(cells)
    return uploaded, written, reported


def to_csv(lines: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(lines)
    return out.getvalue().encode("utf-8")


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=files())
def test_every_valid_row_is_written_once_and_every_invalid_row_reported_once_in_order(
    run_import: RunImport, importer: Service, set_setting: SetSetting, case: Any
) -> None:
    uploaded, written, reported = case
    set_setting(import_chunk_rows=7)
    with importer.db.write() as conn:
        conn.execute(sa.delete(demo.contacts_table))
    result = run_import(to_csv(uploaded))
    assert result.status is model.Status.COMPLETED, result.job.error
    stored = {r["email"]: r for r in rows(importer)}
    assert sorted(stored) == sorted(written)
    rejected = [n for n, _, _ in reported]
    for n, cells in enumerate(uploaded, start=1):
        if n not in rejected:
            row = stored[cells[2].lower()]
            assert (row["first_name"], row["last_name"]) == (" ".join(cells[0].split()), " ".join(cells[1].split()))
            assert row["phone"] == cells[3].strip()
    assert result.error_codes == reported
    if rejected:
        rejected_rows = result.csv(model.FileKind.OUTPUT, "-rejected-rows.csv")[1:]
        assert [csvsafe.unprotect_row(r) for r in rejected_rows] == [uploaded[n - 1] for n in rejected]
    else:
        assert model.FileKind.ERROR_REPORT not in result.files


CELL = st.one_of(
    TEXT,
    st.sampled_from(["", " ", "GB", "gb", "ZZ", "2024-02-29", "2023-02-29", "20240229", "a@b.co", "x@", "1", "-1"]),
)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.lists(CELL, min_size=5, max_size=9), max_size=30))
def test_checking_a_chunk_at_once_agrees_with_checking_row_by_row(lines: list[list[str]]) -> None:
    target = demo.contacts
    batch = [(n, cells) for n, cells in enumerate(lines, start=1)]
    by_row = validate.RowChecker(target, target.columns)
    expected_valid, expected_rejected = [], []
    for n, cells in batch:
        values, problems = by_row.check(n, list(cells))
        if values is None:
            expected_rejected.append((n, cells, problems))
        else:
            expected_valid.append(values)
    valid, rejected = validate.RowChecker(target, target.columns).check_batch(batch)
    assert valid == expected_valid
    assert rejected == expected_rejected


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(
        st.lists(
            st.sampled_from(["", "A-1", "a-1", "1.5", "1.555", "-2", "yes", "Off", "x", "7", "+3", ".5", "1e3"]),
            min_size=5,
            max_size=5,
        ),
        max_size=20,
    )
)
def test_the_same_agreement_holds_for_numbers_and_booleans(lines: list[list[str]]) -> None:
    target = demo.products
    batch = [(n, cells) for n, cells in enumerate(lines, start=1)]
    by_row = validate.RowChecker(target, target.columns)
    expected = [by_row.check(n, list(cells)) for n, cells in batch]
    valid, rejected = validate.RowChecker(target, target.columns).check_batch(batch)
    assert valid == [v for v, _ in expected if v is not None]
    assert [p for _, _, p in rejected] == [p for v, p in expected if v is None]
