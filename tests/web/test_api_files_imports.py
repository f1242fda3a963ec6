"""Downloads (attachments, names, types) and the import API: targets, templates, uploads, limits."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobdeck import model, settings
from jobdeck.service import Service
from jobdeck.web.app import create_app
from jobdeck.wiring import Wiring
from tests.web.conftest import bearer

CONTACTS = (
    "first_name,last_name,email,country\n"
    "Ada,Lovelace,ada@example.com,GB\n"
    ",Nobody,not-an-email,ZZ\n"
    "Grace,Hopper,grace@example.com,US\n"
)


@pytest.fixture
def alice_h(client: TestClient, alice: model.User) -> dict[str, str]:
    return bearer(client, "alice")


def upload(client: TestClient, headers: dict[str, str], data: str | bytes = CONTACTS, **form: str) -> object:
    payload = data.encode() if isinstance(data, str) else data
    fields = {"target": "contacts", **form}
    return client.post(
        "/api/v1/imports",
        files={"file": (form.pop("name", "people.csv"), payload, "text/csv")},
        data=fields,
        headers=headers,
    )


def test_import_targets_list_their_columns_key_and_template(client: TestClient, alice_h: dict[str, str]) -> None:
    targets = {t["name"]: t for t in client.get("/api/v1/import-targets", headers=alice_h).json()}
    contacts = targets["contacts"]
    assert contacts["title"] == "Contacts"
    assert contacts["key"] == ["email"]
    email = next(c for c in contacts["columns"] if c["name"] == "email")
    assert email == {"name": "email", "type": "email", "required": True, "max_length": 254, "allowed": None}
    assert contacts["template_url"] == "/api/v1/import-targets/contacts/template"
    template = client.get(contacts["template_url"], headers=alice_h)
    assert template.status_code == 200
    assert template.headers["content-type"].startswith("text/csv")
    assert template.headers["content-disposition"].startswith("attachment;")
    assert template.text.lstrip("\ufeff").splitlines()[0].startswith("first_name,last_name,email")


def test_an_unknown_targets_template_is_404(client: TestClient, alice_h: dict[str, str]) -> None:
    assert client.get("/api/v1/import-targets/nothing/template", headers=alice_h).status_code == 404


def test_an_upload_answers_202_and_imports_with_an_error_report(
    client: TestClient, alice_h: dict[str, str], run_jobs: Callable[[], None]
) -> None:
    response = client.post(
        "/api/v1/imports",
        files={"file": ("people.csv", CONTACTS.encode(), "text/csv")},
        data={"target": "contacts", "on_error": "skip"},
        headers=alice_h,
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["tab"] == "imports"
    assert job["type"] == "import"
    assert job["status"] == "queued"
    assert response.headers["location"] == f"/api/v1/jobs/{job['id']}"
    run_jobs()
    detail = client.get(response.headers["location"], headers=alice_h).json()
    assert detail["status"] == "completed"
    assert detail["run_at"] == "/imports/new"
    kinds = {f["kind"]: f for f in detail["files"]}
    assert kinds["input"]["name"] == "people.csv", detail
    assert "error_report" in kinds, detail
    report = client.get(kinds["error_report"]["download_url"], headers=alice_h)
    assert report.status_code == 200
    rows = list(csv.reader(io.StringIO(report.text)))
    assert any("not-an-email" in cell for row in rows for cell in row)


def test_a_failing_policy_import_fails_the_job(
    client: TestClient, alice_h: dict[str, str], run_jobs: Callable[[], None]
) -> None:
    response = client.post(
        "/api/v1/imports",
        files={"file": ("people.csv", CONTACTS.encode(), "text/csv")},
        data={"target": "contacts", "on_error": "fail"},
        headers=alice_h,
    )
    run_jobs()
    detail = client.get(response.headers["location"], headers=alice_h).json()
    assert detail["status"] == "failed"
    assert detail["failed_at"] is not None
    assert "error_report" in {f["kind"] for f in detail["files"]}


@pytest.mark.parametrize(
    "data, status",
    [
        ({"target": "no_such_target"}, 404),
        ({"target": "contacts", "on_error": "ignore"}, 422),
        ({"target": "contacts", "encoding": "klingon"}, 422),
        ({}, 422),
    ],
)
def test_a_bad_upload_is_refused(
    client: TestClient, alice_h: dict[str, str], data: dict[str, str], status: int
) -> None:
    response = client.post(
        "/api/v1/imports", files={"file": ("people.csv", CONTACTS.encode(), "text/csv")}, data=data, headers=alice_h
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_an_upload_over_the_limit_is_413_before_it_is_read(
    test_settings: settings.Settings, service: Service, alice: model.User
) -> None:
    small = settings.load(**{**test_settings.model_dump(), "max_upload_mb": 1})
    client = TestClient(create_app(Service(Wiring(small, db=service.db, registry=service.registry))))
    headers = bearer(client, "alice")
    big = b"first_name,last_name,email\n" + b"x,y,z@example.com\n" * 120_000
    response = client.post(
        "/api/v1/imports", files={"file": ("big.csv", big, "text/csv")}, data={"target": "contacts"}, headers=headers
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "stored, ascii_name",
    [("result.txt", "result.txt"), ('Ünïcode "report".csv', "_n_code _report_.csv")],
)
def test_downloads_are_attachments_with_an_encoded_name(
    client: TestClient,
    service: Service,
    alice_h: dict[str, str],
    alice: model.User,
    make_job: Callable[..., model.Job],
    run_jobs: Callable[[], None],
    stored: str,
    ascii_name: str,
) -> None:
    job = make_job(alice, "t_steps", {"n": 1})
    run_jobs()
    f = service.job_detail(alice, job.id).files[0]
    if stored != f.name:
        with service.db.write() as conn:
            conn.exec_driver_sql(
                "UPDATE job_files SET name = ?" if service.db.is_sqlite else "UPDATE job_files SET name = %s", (stored,)
            )
    response = client.get(f"/api/v1/jobs/{job.id}/files/{f.id}", headers=alice_h)
    assert response.status_code == 200
    assert response.content == b"hello world"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"].startswith("text/plain")


def test_a_file_of_another_job_is_404(
    client: TestClient,
    alice_h: dict[str, str],
    alice: model.User,
    make_job: Callable[..., model.Job],
    run_jobs: Callable[[], None],
    service: Service,
) -> None:
    first, second = make_job(alice, "t_steps"), make_job(alice, "t_steps")
    run_jobs()
    f = service.job_detail(alice, first.id).files[0]
    assert client.get(f"/api/v1/jobs/{second.id}/files/{f.id}", headers=alice_h).status_code == 404


def test_healthz_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE" in metrics.text


def test_the_openapi_document_lists_every_api_route(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/jobs",
        "/api/v1/jobs/{job_id}",
        "/api/v1/jobs/{job_id}/files/{file_id}",
        "/api/v1/jobs/{job_id}/cancel",
        "/api/v1/jobs/{job_id}/retry",
        "/api/v1/imports",
        "/api/v1/import-targets",
        "/api/v1/job-types",
    } <= set(paths)
    assert not any(p.startswith("/settings") for p in paths)


SHUFFLED = "Notes,Courriel,Given,Family\nvip,ada@example.com,Ada,Lovelace\n"


def test_an_upload_with_a_mapping_imports_through_it_and_the_detail_shows_it(
    client: TestClient, alice_h: dict[str, str], run_jobs: Callable[[], None]
) -> None:
    mapping = '{"Given": "first_name", "Family": "last_name"}'
    response: Any = upload(client, alice_h, SHUFFLED, mapping=mapping)
    assert response.status_code == 202, response.text
    run_jobs()
    detail = client.get(response.headers["location"], headers=alice_h).json()
    assert detail["status"] == "completed", detail
    assert detail["mapping"] == {"Notes": None, "Courriel": "email", "Given": "first_name", "Family": "last_name"}


@pytest.mark.parametrize(
    ("form", "named"),
    [
        ({"mapping": "{not json"}, "mapping must be JSON"),
        ({"mapping": '["Given"]'}, "mapping must be a JSON object"),
        ({"mapping": '{"Given": "nickname"}'}, "Contacts has no column 'nickname'"),
        ({"mapping": '{"Middle": "first_name"}'}, "the file has no column 'Middle'"),
        ({"mapping": '{"Courriel": null}'}, "The required column 'email' matches no column of the file"),
        ({"header_row": "9"}, "header_row must be between 1 and 2"),
        ({"sheet": "Data"}, "A CSV file has no sheets to choose"),
    ],
)
def test_a_mapping_or_choice_the_file_cannot_honour_is_a_422_naming_it(
    client: TestClient, alice_h: dict[str, str], form: dict[str, str], named: str
) -> None:
    response: Any = upload(client, alice_h, SHUFFLED, **form)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert named in response.json()["detail"]


@pytest.mark.parametrize(
    ("data", "charset"),
    [
        ("Prénom;Nom;Courriel\nJosé;Núñez;jose@example.com\n".encode("cp1252"), "windows-1252"),
        ("first_name,last_name,email\nZoë,Ødegaard,zoe@example.com\n".encode("utf-16"), "utf-16"),
        (CONTACTS.encode(), "utf-8"),
    ],
)
def test_the_input_file_downloads_with_the_charset_it_was_read_in(
    client: TestClient, alice_h: dict[str, str], data: bytes, charset: str
) -> None:
    response: Any = upload(client, alice_h, data)
    assert response.status_code == 202, response.text
    detail = client.get(response.headers["location"], headers=alice_h).json()
    [uploaded] = detail["files"]
    download = client.get(uploaded["download_url"], headers=alice_h)
    assert download.headers["content-type"] == f"text/csv; charset={charset}"
    assert download.content == data
