"""A property of the mapping: whatever the file's column order, names (the target's, an alias, or any name
the user maps) and extra columns, each valid row is written exactly once with its values in the right
columns, and each invalid row is reported once."""

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
from jobdeck.service import Service
from tests.imports.conftest import RunImport, SetSetting, rows
from tests.imports.test_properties import HEADER, TEXT, files


@st.composite
def layouts(draw: st.DrawFn) -> tuple[list[str], list[int | None], dict[str, str | None]]:
    """(the file's header, for each file column the HEADER column it holds or None for an extra column, the
    mapping a user would send for the names nothing else matches)."""
    order = draw(st.permutations(range(len(HEADER))))
    header: list[str] = []
    holds: list[int | None] = []
    mapping: dict[str, str | None] = {}
    for at in order:
        name = HEADER[at]
        how = draw(st.sampled_from(["name", "alias", "user"]))
        if how == "alias":
            header.append(draw(st.sampled_from(demo.ALIASES[name])))
        elif how == "user":
            header.append(f"Field {at + 1}")
            mapping[header[-1]] = name
        else:
            header.append(name.upper().replace("_", " "))
        holds.append(at)
    for n in range(draw(st.integers(min_value=0, max_value=2))):
        where = draw(st.integers(min_value=0, max_value=len(header)))
        header.insert(where, f"Extra {n + 1}")
        holds.insert(where, None)
        if draw(st.booleans()):
            mapping[f"Extra {n + 1}"] = None
    return header, holds, mapping


def to_csv(header: list[str], lines: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(lines)
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize("backend", ["sqlite"])  # the mapping does not depend on the database
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=files(), layout=layouts(), extra=TEXT)
def test_for_any_mapping_and_order_each_valid_row_is_written_once_in_its_columns_and_each_invalid_reported_once(
    run_import: RunImport, importer: Service, set_setting: SetSetting, case: Any, layout: Any, extra: str
) -> None:
    uploaded, written, reported = case
    header, holds, mapping = layout
    set_setting(import_chunk_rows=7)
    with importer.db.write() as conn:
        conn.execute(sa.delete(demo.contacts_table))
    shuffled = [[extra if at is None else cells[at] for at in holds] for cells in uploaded]
    result = run_import(to_csv(header, shuffled), mapping=mapping or None)
    assert result.status is model.Status.COMPLETED, result.job.error
    stored = {r["email"]: r for r in rows(importer)}
    assert sorted(stored) == sorted(written)  # each valid row once: the email is the key
    rejected = [n for n, _, _ in reported]
    for n, cells in enumerate(uploaded, start=1):
        if n not in rejected:
            row = stored[cells[2].lower()]
            assert (row["first_name"], row["last_name"]) == (" ".join(cells[0].split()), " ".join(cells[1].split()))
            assert row["phone"] == cells[3].strip()
            assert (row["country"] or "") == cells[5]
            assert (str(row["created_on"]) if row["created_on"] else "") == cells[6]
    assert result.error_codes == reported
    if rejected:
        rejected_rows = result.csv(model.FileKind.OUTPUT, "-rejected-rows.csv")[1:]
        assert [csvsafe.unprotect_row(r) for r in rejected_rows] == [shuffled[n - 1] for n in rejected]
