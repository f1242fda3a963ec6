"""Starting an import: what `Service.start_import` refuses, and the limits that fail a job."""

from __future__ import annotations

import io

import pytest

from jobdeck import errors, model, settings
from jobdeck.query import JobQuery
from jobdeck.service import Service
from jobdeck.wiring import Wiring
from tests.imports.conftest import RunImport, SetSetting, contacts_csv, rows


def start(
    service: Service, user: model.User, data: bytes = b"first_name\n", name: str = "c.csv", **kw: object
) -> object:
    target = str(kw.pop("target", "contacts"))
    return service.start_import(user, io.BytesIO(data), name, target, **kw)  # type: ignore[arg-type]


def no_jobs(service: Service, user: model.User) -> bool:
    return service.list_jobs(user, JobQuery()).items == []


def test_an_unknown_target_is_refused(importer: Service, uploader: model.User) -> None:
    with pytest.raises(errors.UnknownTarget, match="No import target named 'planets'"):
        start(importer, uploader, target="planets")
    assert no_jobs(importer, uploader)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"on_error": "ignore"}, "on_error must be 'skip' or 'fail', not 'ignore'"),
        ({"encoding": "klingon"}, "Unknown encoding 'klingon'"),
        ({"encoding": "base64"}, "'base64' is not a text encoding"),
        ({"delimiter": ":"}, "The delimiter must be comma, semicolon, tab or pipe, not ':'"),
        ({"name": "contacts.pdf"}, "'contacts.pdf' is not a file jobdeck imports"),
        ({"name": "../"}, "The file has no usable name"),
    ],
)
def test_bad_options_are_refused_with_a_precise_message(
    importer: Service, uploader: model.User, options: dict[str, str], message: str
) -> None:
    with pytest.raises(errors.InvalidParams, match=message.replace("(", r"\(").replace(")", r"\)")):
        start(importer, uploader, **options)  # type: ignore[arg-type]
    assert no_jobs(importer, uploader)


@pytest.mark.parametrize(("given", "stored"), [("tab", "\t"), ("\t", "\t"), ("semicolon", ";"), ("|", "|")])
def test_a_delimiter_may_be_named_or_given(importer: Service, uploader: model.User, given: str, stored: str) -> None:
    job = start(importer, uploader, delimiter=given)
    assert job.params["delimiter"] == stored  # type: ignore[attr-defined]


def test_a_zip_named_csv_is_refused(importer: Service, uploader: model.User) -> None:
    with pytest.raises(errors.InvalidParams, match="ZIP archive"):
        start(importer, uploader, b"PK\x03\x04" + b"\x00" * 30)


def test_the_file_name_loses_folders_and_control_characters(importer: Service, uploader: model.User) -> None:
    job = start(importer, uploader, name="../../etc/\u202eevil\x1b[31m.csv")
    assert job.params["filename"] == "evil[31m.csv"  # type: ignore[attr-defined]
    long = start(importer, uploader, name="x" * 400 + ".csv")
    assert long.params["filename"] == "x" * 251 + ".csv"  # type: ignore[attr-defined]


def test_an_upload_over_the_limit_is_refused_naming_it_and_leaves_no_file(
    importer: Service, uploader: model.User, test_settings: settings.Settings
) -> None:
    small = Service(
        Wiring(test_settings.model_copy(update={"max_upload_mb": 1}), db=importer.db, registry=importer.registry)
    )
    with pytest.raises(errors.FileTooLarge) as refused:
        start(small, uploader, b"x" * (1024 * 1024 + 1), name="big.csv")
    assert str(refused.value) == "big.csv is larger than the upload limit of 1 MB (JOBDECK_MAX_UPLOAD_MB)."
    assert no_jobs(importer, uploader)
    files = test_settings.data_dir / "files"
    assert not files.exists() or [p for p in files.rglob("*") if p.is_file()] == []


def test_more_rows_than_the_limit_fail_the_job_naming_the_limit(
    run_import: RunImport, importer: Service, set_setting: SetSetting
) -> None:
    set_setting(import_max_rows=3)
    result = run_import(contacts_csv(*[f"A,B,a{i}@example.com" for i in range(4)], header="first_name,last_name,email"))
    assert result.status is model.Status.FAILED
    assert result.job.error == "The file has more than 3 rows, the limit (JOBDECK_IMPORT_MAX_ROWS)."
    assert rows(importer) == []


def test_rows_at_the_limit_are_imported(run_import: RunImport, set_setting: SetSetting) -> None:
    set_setting(import_max_rows=3)
    data = contacts_csv(*[f"A,B,a{i}@example.com" for i in range(3)], "", "", header="first_name,last_name,email")
    assert run_import(data).status is model.Status.COMPLETED


def test_more_columns_than_the_limit_fail_the_job_naming_the_limit(
    run_import: RunImport, set_setting: SetSetting
) -> None:
    set_setting(import_max_columns=5)
    result = run_import(contacts_csv("A,B,a@example.com,,,,"))
    assert result.status is model.Status.FAILED
    assert result.job.error == "The file has 7 columns, over the limit of 5 (JOBDECK_IMPORT_MAX_COLUMNS)."


def test_the_import_targets_are_listed_with_their_templates(importer: Service) -> None:
    targets = {t.name: t for t in importer.import_targets()}
    assert {"contacts", "products"} <= set(targets)
    assert targets["products"].template_csv() == b"\xef\xbb\xbfsku,name,price,quantity,active\r\n"


def test_an_import_works_with_files_kept_in_the_database(
    importer: Service, uploader: model.User, test_settings: settings.Settings
) -> None:
    shared = Service(Wiring(test_settings.model_copy(update={"file_storage": "database"}), db=importer.db))
    job = start(shared, uploader, contacts_csv("Ada,Lovelace,ada@example.com,,,GB,"), name="contacts.csv")
    shared.worker(concurrency=1).run(burst=True)
    assert shared.get_job(uploader, job.id).status is model.Status.COMPLETED  # type: ignore[attr-defined]
    assert [r["email"] for r in rows(importer)] == ["ada@example.com"]
