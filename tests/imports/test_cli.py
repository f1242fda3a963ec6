"""`jobdeck import`: queued through the service, run by a worker, watched to its end; exit 0 only on success."""

from __future__ import annotations

import json
import pathlib
import threading

import click.testing
import pytest

from jobdeck import model, settings
from jobdeck.cli import cli
from jobdeck.service import Service
from jobdeck.store import users as user_rows
from tests.conftest import wait_for
from tests.imports.conftest import CORPUS, contacts_csv, rows


@pytest.fixture
def jobdeck(
    importer: Service, database_url: str, test_settings: settings.Settings, monkeypatch: pytest.MonkeyPatch
) -> click.testing.CliRunner:
    """The command pointed at this test's database and file store (the ones `importer` uses)."""
    monkeypatch.setenv("JOBDECK_DATABASE_URL", database_url)
    monkeypatch.setenv("JOBDECK_DATA_DIR", str(test_settings.data_dir))
    monkeypatch.setenv("JOBDECK_JOB_MODULES", "jobdeck.demo")
    monkeypatch.setenv("JOBDECK_POLL_SECONDS", "0.05")
    return click.testing.CliRunner()


def admin(service: Service, name: str = "root") -> model.User:
    with service.db.write() as conn:
        return user_rows.create(conn, name, name.title(), "!no-login", True)


def write(tmp_path: pathlib.Path, data: bytes, name: str = "contacts.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_an_import_runs_to_completion_and_prints_its_counts(
    jobdeck: click.testing.CliRunner, importer: Service, tmp_path: pathlib.Path
) -> None:
    admin(importer)
    path = write(tmp_path, contacts_csv("Ada,Lovelace,ada@example.com,,,GB,", "Bad,Row,nope,,,GB,"))
    result = jobdeck.invoke(cli, ["import", path, "--target", "contacts"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Job 1 completed: contacts.csv: 1 imported, 1 rejected" in result.stdout
    assert "Error report: contacts-errors.csv (/api/v1/jobs/1/files/" in result.stdout
    assert [r["email"] for r in rows(importer)] == ["ada@example.com"]


def test_a_failed_import_exits_non_zero(
    jobdeck: click.testing.CliRunner, importer: Service, tmp_path: pathlib.Path
) -> None:
    admin(importer)
    path = write(tmp_path, contacts_csv("Bad,Row,nope,,,GB,"))
    result = jobdeck.invoke(cli, ["import", path, "-t", "contacts", "--on-error", "fail"])
    assert result.exit_code == 1
    assert "Job 1 failed" in result.stdout
    assert "nothing was imported (on_error=fail)" in result.stdout


def test_json_prints_the_jobs_detail_as_the_api_does(
    jobdeck: click.testing.CliRunner, importer: Service, tmp_path: pathlib.Path
) -> None:
    admin(importer)
    path = write(tmp_path, (CORPUS / "semicolons.csv").read_bytes(), "semicolons.csv")
    result = jobdeck.invoke(cli, ["import", path, "-t", "contacts", "--json", "--dry-run"])
    assert result.exit_code == 0, result.output
    detail = json.loads(result.stdout)
    assert (detail["id"], detail["status"], detail["type"]) == (1, "completed", "import")
    assert detail["description"].startswith("Dry run of semicolons.csv: 2 would be imported")
    assert rows(importer) == []


def test_without_as_and_with_two_admins_the_command_asks_for_a_user(
    jobdeck: click.testing.CliRunner, importer: Service, tmp_path: pathlib.Path
) -> None:
    admin(importer, "root")
    admin(importer, "boss")
    result = jobdeck.invoke(cli, ["import", write(tmp_path, contacts_csv()), "-t", "contacts"])
    assert result.exit_code == 1
    assert "There are 2 admins; name the user the import runs as with --as USER." in result.stderr


def test_as_runs_the_import_as_that_user(
    jobdeck: click.testing.CliRunner, importer: Service, uploader: model.User, tmp_path: pathlib.Path
) -> None:
    result = jobdeck.invoke(cli, ["import", write(tmp_path, contacts_csv()), "-t", "contacts", "--as", "uma"])
    assert result.exit_code == 0, result.output
    assert importer.get_job(uploader, 1).run_by == "uma"


def test_an_unknown_target_is_one_line_and_exit_one(
    jobdeck: click.testing.CliRunner, importer: Service, tmp_path: pathlib.Path
) -> None:
    admin(importer)
    result = jobdeck.invoke(cli, ["import", write(tmp_path, contacts_csv()), "-t", "planets"])
    assert result.exit_code == 1
    assert "No import target named 'planets'" in result.stderr


def test_with_a_live_worker_the_command_leaves_the_job_to_it(
    jobdeck: click.testing.CliRunner, importer: Service, tmp_path: pathlib.Path
) -> None:
    root = admin(importer)
    worker = importer.worker(concurrency=1)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: importer.stats().live_workers == 1)
        result = jobdeck.invoke(cli, ["import", write(tmp_path, contacts_csv("A,B,a@example.com")), "-t", "contacts"])
    finally:
        worker.stop()
        thread.join(30)
    assert result.exit_code == 0, result.output
    assert importer.get_job(root, 1).worker_id == worker.id


ODD = b"Title of the export\nwho,mail,given,family\nx,ada@example.com,Ada,Lovelace\n"


def test_map_options_feed_the_columns_they_name_and_jobs_show_prints_the_mapping(
    jobdeck: click.testing.CliRunner, importer: Service, tmp_path: pathlib.Path
) -> None:
    admin(importer)
    path = write(tmp_path, ODD)
    args = ["import", path, "-t", "contacts", "--map", "given=first_name", "--map", "family=last_name"]
    result = jobdeck.invoke(cli, [*args, "--map", "who=", "--header-row", "2"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert [(r["email"], r["first_name"], r["last_name"]) for r in rows(importer)] == [
        ("ada@example.com", "Ada", "Lovelace")
    ]
    shown = jobdeck.invoke(cli, ["jobs", "show", "1"], catch_exceptions=False)
    assert "Column mapping" in shown.stdout
    assert [
        line.split() for line in shown.stdout.splitlines() if line.startswith("│ given") or line.startswith("│ who")
    ] == [
        ["│", "who", "│", "(ignored)", "│"],
        ["│", "given", "│", "first_name", "│"],
    ]


def test_preview_prints_the_detection_the_mapping_and_the_rows_and_imports_nothing(
    jobdeck: click.testing.CliRunner, importer: Service, tmp_path: pathlib.Path
) -> None:
    admin(importer)
    path = write(tmp_path, ODD)
    args = ["import", path, "-t", "contacts", "--preview", "--map", "given=first_name", "--map", "family=last_name"]
    result = jobdeck.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "encoding utf-8, comma-delimited; header on row 2; mapping: given" in result.stdout
    assert "Ignored file columns: 'who'" in result.stdout
    assert "ada@example.com" in result.stdout
    assert rows(importer) == []


def test_preview_json_is_the_apis_preview_document_and_fails_on_an_unusable_mapping(
    jobdeck: click.testing.CliRunner, importer: Service, tmp_path: pathlib.Path
) -> None:
    admin(importer)
    path = write(tmp_path, ODD)
    result = jobdeck.invoke(cli, ["import", path, "-t", "contacts", "--preview", "--json"], catch_exceptions=False)
    assert result.exit_code == 1, result.output  # first_name and last_name match nothing
    document = json.loads(result.stdout)
    assert (document["header_row"], document["delimiter_name"], document["mapping_source"]) == (2, "comma", "automatic")
    assert document["mapping"]["mapping"] == {"mail": "email"}
    assert any("'first_name'" in problem for problem in document["mapping"]["errors"])


def test_a_map_option_without_equals_is_refused(
    jobdeck: click.testing.CliRunner, importer: Service, tmp_path: pathlib.Path
) -> None:
    admin(importer)
    result = jobdeck.invoke(cli, ["import", write(tmp_path, ODD), "-t", "contacts", "--map", "given"])
    assert result.exit_code == 2
    assert "'given' is not 'FILE COLUMN=target_column'" in result.output
