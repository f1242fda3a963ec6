"""The happy path end to end."""

from __future__ import annotations

from jobdeck import model
from tests.imports.conftest import RunImport, contacts_csv, rows


def test_a_clean_csv_is_imported_and_the_job_completes(run_import: RunImport, importer) -> None:
    result = run_import(contacts_csv("Ada,Lovelace,ada@example.com,+1 555 0100,Analytical,GB,1815-12-10"))
    assert result.status is model.Status.COMPLETED, result.job.error
    assert result.job.description == "contacts.csv: 1 imported, 0 rejected"
    [row] = rows(importer)
    assert row["email"] == "ada@example.com"
    assert row["phone"] == "+1 555 0100"
