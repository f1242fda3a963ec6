"""The OpenAPI document generates a working client: openapi-python-client's package, used against a real server."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobdeck import settings
from jobdeck.service import Service
from tests.web.serving import jobdeck_server

PACKAGE = "jobdeck_generated_client"
PASSWORD = "alice's long password"
CONTACTS = "first_name,last_name,email,country\nAda,Lovelace,ada@example.com,GB\nGrace,Hopper,grace@example.com,US\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `jobdeck serve` (SQLite, one embedded worker) where alice has five jobs of her own."""
    folder = tmp_path_factory.mktemp("server")
    url = f"sqlite:///{folder / 'jobdeck.sqlite3'}"
    modules = "jobdeck.demo,tests.kinds"
    service = Service.open(settings.load(data_dir=folder / "server-data", job_modules=modules, database_url=url))
    alice = service.accounts.create_user("alice", PASSWORD, display_name="Alice")
    service.enqueue_many(alice, "t_echo", {"text": "hello"}, 5)
    service.close()
    with jobdeck_server(url, folder, workers="1", poll_seconds="0.2") as base:
        yield base


@pytest.fixture(scope="module")
def generated(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package openapi-python-client generates from the document the server serves, imported."""
    folder = tmp_path_factory.mktemp("client")
    spec = folder / "openapi.json"
    with urllib.request.urlopen(server + "/api/v1/openapi.json", timeout=30) as response:
        spec.write_bytes(response.read())
    config = folder / "config.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no formatter run: the package is only imported
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(spec)]
    command += ["--output-path", str(folder / PACKAGE), "--meta", "none", "--config", str(config)]
    done = subprocess.run([*command, "--fail-on-warning"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def part(name: str) -> Any:
    """A module of the generated package, e.g. part("api.jobs.list_jobs_api_v1_jobs_get")."""
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture(scope="module")
def signed_in(generated: ModuleType, server: str) -> Any:
    """An AuthenticatedClient holding the token alice's password earned through the generated token call."""
    token_call = part("api.auth.token_api_v1_auth_token_post")
    body = part("models").BodyTokenApiV1AuthTokenPost(username="alice", password=PASSWORD)
    token = token_call.sync(client=generated.Client(base_url=server), body=body)
    assert isinstance(token, part("models").Token), token
    return generated.AuthenticatedClient(base_url=server, token=token.access_token)


@pytest.mark.slow
def test_the_generated_client_signs_in_and_reads_who_it_is(signed_in: Any) -> None:
    me = part("api.auth.me_api_v1_me_get").sync(client=signed_in)
    assert isinstance(me, part("models").Me)
    assert (me.username, me.display_name, me.is_admin) == ("alice", "Alice", False)


@pytest.mark.slow
def test_the_generated_client_reads_a_wrong_password_as_a_problem(generated: ModuleType, server: str) -> None:
    body = part("models").BodyTokenApiV1AuthTokenPost(username="alice", password="not her password")
    answer = part("api.auth.token_api_v1_auth_token_post").sync_detailed(
        client=generated.Client(base_url=server), body=body
    )
    assert answer.status_code == 401
    assert isinstance(answer.parsed, part("models").Problem)
    assert answer.parsed.status == 401


@pytest.mark.slow
def test_the_generated_client_pages_through_the_jobs_with_the_cursor(signed_in: Any) -> None:
    list_jobs = part("api.jobs.list_jobs_api_v1_jobs_get")
    first = list_jobs.sync(client=signed_in, type_="t_echo", limit=2)
    assert isinstance(first, part("models").JobPage)
    seen = [job.id for job in first.items]
    cursor = first.next_cursor
    while cursor:
        page = list_jobs.sync(client=signed_in, type_="t_echo", limit=2, cursor=cursor)
        assert isinstance(page, part("models").JobPage)
        seen += [job.id for job in page.items]
        cursor = page.next_cursor
    assert len(first.items) == 2
    assert len(seen) == 5
    assert seen == sorted(seen, reverse=True)  # newest first, none twice


@pytest.mark.slow
def test_the_generated_client_uploads_an_import_that_runs_to_completion(signed_in: Any) -> None:
    models = part("models")
    upload = part("types").File(payload=io.BytesIO(CONTACTS.encode()), file_name="people.csv", mime_type="text/csv")
    body = models.BodyStartImportApiV1ImportsPost(file=upload, target="contacts")
    started = part("api.imports.start_import_api_v1_imports_post").sync_detailed(client=signed_in, body=body)
    assert started.status_code == 202, started.content
    assert isinstance(started.parsed, models.JobSummary)
    get_job = part("api.jobs.get_job_api_v1_jobs_job_id_get")
    deadline = time.monotonic() + 120
    job = get_job.sync(started.parsed.id, client=signed_in)
    while job.status.value in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = get_job.sync(started.parsed.id, client=signed_in)
    assert isinstance(job, models.JobDetailOut)
    assert job.status.value == "completed", job.error
    assert [f.name for f in job.files if f.kind.value == "input"] == ["people.csv"]


@pytest.mark.slow
def test_the_generated_client_reads_a_404_as_a_problem(signed_in: Any) -> None:
    answer = part("api.jobs.get_job_api_v1_jobs_job_id_get").sync_detailed(987654, client=signed_in)
    assert answer.status_code == 404
    problem = answer.parsed
    assert isinstance(problem, part("models").Problem)
    assert (problem.status, problem.title) == (404, "Not Found")
    assert problem.detail


@pytest.mark.slow
def test_the_generated_client_reads_each_bad_field_of_a_422(signed_in: Any) -> None:
    answer = part("api.jobs.list_jobs_api_v1_jobs_get").sync_detailed(client=signed_in, cursor="not a cursor!")
    assert answer.status_code == 422
    problem = answer.parsed
    assert isinstance(problem, part("models").Problem)
    assert [error.field for error in problem.errors] == ["cursor"]


def test_every_problem_answer_is_declared_as_problem_json_with_the_problem_schema(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    declared = [
        (path, method, code, answer.get("content", {}))
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
        for code, answer in operation["responses"].items()
        if code.startswith(("4", "5"))
    ]
    assert declared
    for path, method, code, content in declared:
        assert list(content) == ["application/problem+json"], (path, method, code)
        assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert {"type", "title", "status", "detail"} <= set(spec["components"]["schemas"]["Problem"]["required"])


def test_every_uploaded_file_is_declared_as_binary(client: TestClient) -> None:
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    for body in ("Body_start_import_api_v1_imports_post", "Body_preview_import_api_v1_imports_preview_post"):
        assert schemas[body]["properties"]["file"]["format"] == "binary"
