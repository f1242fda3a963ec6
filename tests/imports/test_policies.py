"""Policies and outputs: skip or fail, dry runs, chunk subtasks, upserts, counts, and a failure mid-way."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from jobdeck import model
from jobdeck.service import Service
from tests.imports.conftest import RunImport, SetSetting, contacts_csv, rows

Status = model.Status
GOOD = [f"Ada{i},Lovelace,ada{i}@example.com,,,GB," for i in range(1, 6)]
BAD = "Bad,Row,not-an-email,,,GB,"


@pytest.fixture
def small_chunks(set_setting: SetSetting) -> int:
    set_setting(import_chunk_rows=2)
    return 2


class TestSkipPolicy:
    def test_imports_the_valid_rows_and_names_the_counts(self, run_import: RunImport, importer: Service) -> None:
        result = run_import(contacts_csv(GOOD[0], BAD, GOOD[1]))
        assert result.status is Status.COMPLETED
        assert result.job.description == "contacts.csv: 2 imported, 1 rejected"
        assert [r["email"] for r in rows(importer)] == ["ada1@example.com", "ada2@example.com"]

    def test_attaches_the_error_report_with_its_documented_columns(self, run_import: RunImport) -> None:
        result = run_import(contacts_csv(GOOD[0], BAD))
        report = result.csv(model.FileKind.ERROR_REPORT, "contacts-errors.csv")
        assert report == [
            ["row", "column", "value", "code", "message"],
            ["2", "email", "not-an-email", "bad_email", "email must be an email address"],
        ]
        assert result.file(model.FileKind.ERROR_REPORT, "-errors.csv").startswith(b"\xef\xbb\xbf")

    def test_attaches_the_rejected_rows_as_uploaded(self, run_import: RunImport) -> None:
        result = run_import(contacts_csv(GOOD[0], BAD, "  Spaced , Name ,ALSO BAD,,,,"))
        assert result.csv(model.FileKind.OUTPUT, "-rejected-rows.csv")[1:] == [
            ["Bad", "Row", "not-an-email", "", "", "GB", ""],
            ["  Spaced ", " Name ", "ALSO BAD", "", "", "", ""],
        ]

    def test_attaches_no_error_report_when_every_row_is_valid(self, run_import: RunImport) -> None:
        result = run_import(contacts_csv(*GOOD))
        assert model.FileKind.ERROR_REPORT not in result.files
        assert list(result.files[model.FileKind.OUTPUT]) == ["contacts-summary.csv"]


class TestFailPolicy:
    def test_writes_nothing_when_a_row_is_invalid(self, run_import: RunImport, importer: Service) -> None:
        result = run_import(contacts_csv(GOOD[0], BAD, GOOD[1]), on_error="fail")
        assert result.status is Status.FAILED
        assert result.job.error == (
            "contacts.csv: 1 of 3 rows rejected, so nothing was imported (on_error=fail); see the error report."
        )
        assert rows(importer) == []

    def test_attaches_the_error_report_but_no_rejected_rows(self, run_import: RunImport) -> None:
        result = run_import(contacts_csv(GOOD[0], BAD), on_error="fail")
        assert result.error_codes == [(2, "email", "bad_email")]
        assert model.FileKind.OUTPUT not in result.files

    def test_imports_everything_when_every_row_is_valid(self, run_import: RunImport, importer: Service) -> None:
        result = run_import(contacts_csv(*GOOD), on_error="fail")
        assert result.status is Status.COMPLETED
        assert len(rows(importer)) == 5
        assert [s.name for s in result.detail.subtasks] == ["Check every row", "Rows 1\u20135"]


class TestDryRun:
    def test_writes_nothing_and_completes_saying_so(self, run_import: RunImport, importer: Service) -> None:
        result = run_import(contacts_csv(GOOD[0], BAD), dry_run=True)
        assert result.status is Status.COMPLETED
        assert result.job.description == (
            "Dry run of contacts.csv: 1 would be imported, 1 rejected; nothing was written"
        )
        assert rows(importer) == []

    def test_produces_the_same_error_report(self, run_import: RunImport) -> None:
        result = run_import(contacts_csv(GOOD[0], BAD), dry_run=True)
        assert result.error_codes == [(2, "email", "bad_email")]

    def test_counts_the_rows_it_would_create_and_update(self, run_import: RunImport) -> None:
        run_import(contacts_csv(GOOD[0]))
        result = run_import(contacts_csv(GOOD[0], GOOD[1]), dry_run=True)
        summary = result.csv(model.FileKind.OUTPUT, "-summary.csv")
        assert summary[-1][:8] == ["Total", "", "", "2", "2", "1", "1", "0"]

    def test_with_the_fail_policy_completes_naming_what_would_fail(self, run_import: RunImport) -> None:
        result = run_import(contacts_csv(GOOD[0], BAD), dry_run=True, on_error="fail")
        assert result.status is Status.COMPLETED
        assert result.job.description.startswith("Dry run of contacts.csv: 1 of 2 rows rejected")


class TestChunks:
    def test_each_chunk_is_a_subtask_named_by_its_rows(self, run_import: RunImport, small_chunks: int) -> None:
        result = run_import(contacts_csv(*GOOD))
        assert [(s.name, s.status) for s in result.detail.subtasks] == [
            ("Rows 1\u20132", model.SubtaskStatus.COMPLETED),
            ("Rows 3\u20134", model.SubtaskStatus.COMPLETED),
            ("Row 5", model.SubtaskStatus.COMPLETED),
        ]

    def test_progress_ends_at_the_number_of_rows(self, run_import: RunImport, small_chunks: int) -> None:
        result = run_import(contacts_csv(*GOOD))
        assert (result.job.progress_done, result.job.progress_total) == (5, 5)

    def test_the_summary_counts_each_chunk(self, run_import: RunImport, small_chunks: int) -> None:
        run_import(contacts_csv(GOOD[0]))
        result = run_import(contacts_csv(GOOD[0], GOOD[1], BAD))
        assert result.csv(model.FileKind.OUTPUT, "-summary.csv") == [
            ["chunk", "first_row", "last_row", "rows", "written", "created", "updated", "rejected", "note"],
            ["Rows 1\u20132", "1", "2", "2", "2", "1", "1", "0", ""],
            ["Row 3", "3", "3", "1", "0", "0", "0", "1", ""],
            ["Total", "", "", "3", "2", "1", "1", "1", ""],
        ]


def test_a_known_key_updates_the_row_and_keeps_columns_the_file_lacks(run_import: RunImport, importer: Service) -> None:
    run_import(contacts_csv("Ada,Lovelace,ada@example.com,+44 1,Engines,GB,1815-12-10"))
    run_import(contacts_csv("Ada,King,ADA@example.com", header="first_name,last_name,email"))
    [row] = rows(importer)
    assert (row["last_name"], row["phone"], row["company"]) == ("King", "+44 1", "Engines")


@pytest.fixture
def refuses_boom(importer: Service) -> Iterator[None]:
    """A real database error for one email: a trigger on SQLite, a check constraint on PostgreSQL."""
    if importer.db.is_sqlite:
        create = (
            "CREATE TRIGGER no_boom BEFORE INSERT ON demo_contacts WHEN NEW.email = 'boom@example.com' "
            "BEGIN SELECT RAISE(ABORT, 'boom refused by the database'); END"
        )
        drop = "DROP TRIGGER no_boom"
    else:
        create = "ALTER TABLE demo_contacts ADD CONSTRAINT no_boom CHECK (email <> 'boom@example.com')"
        drop = "ALTER TABLE demo_contacts DROP CONSTRAINT no_boom"
    with importer.db.write() as conn:
        conn.execute(sa.text(create))
    yield
    with importer.db.write() as conn:
        conn.execute(sa.text("DELETE FROM demo_contacts"))
        conn.execute(sa.text(drop))


def test_a_database_failure_mid_way_keeps_earlier_chunks_and_marks_the_broken_one(
    run_import: RunImport, importer: Service, small_chunks: int, refuses_boom: None
) -> None:
    result = run_import(contacts_csv(GOOD[0], GOOD[1], "Boom,Boom,boom@example.com,,,,", GOOD[2]))
    assert result.status is Status.FAILED
    assert [(s.name, s.status) for s in result.detail.subtasks] == [
        ("Rows 1\u20132", model.SubtaskStatus.COMPLETED),
        ("Rows 3\u20134", model.SubtaskStatus.FAILED),
    ]
    assert [r["email"] for r in rows(importer)] == ["ada1@example.com", "ada2@example.com"]
    assert "boom" in (result.detail.subtasks[1].message or "")


def test_the_upload_is_the_jobs_input_file(importer: Service, uploader: model.User) -> None:
    data = contacts_csv(GOOD[0])
    job = importer.start_import(uploader, io.BytesIO(data), "C:\\Users\\me\\contacts\x07.csv", "contacts")
    [f] = importer.job_detail(uploader, job.id).files
    assert (f.kind, f.name, f.content_type, f.size) == (
        model.FileKind.INPUT,
        "contacts.csv",
        "text/csv; charset=utf-8",
        len(data),
    )
    assert job.params == {
        "target": "contacts",
        "filename": "contacts.csv",
        "on_error": "skip",
        "dry_run": False,
        "encoding": None,
        "delimiter": ",",
        "sheet": None,
        "header_row": 1,
        "mapping": {c: c for c in ("first_name", "last_name", "email", "phone", "company", "country", "created_on")},
        "header": ["first_name", "last_name", "email", "phone", "company", "country", "created_on"],
    }
    assert (job.type, job.tab, job.description, job.run_at) == (
        "import",
        model.Tab.IMPORTS,
        "contacts.csv into Contacts",
        "/imports/new",
    )
    assert job.max_attempts >= 3
