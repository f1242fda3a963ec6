"""POST /api/v1/imports/preview: detection, mapping and first rows as JSON; every bad input a 4xx problem."""

from __future__ import annotations

import io
import json
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobdeck import model
from jobdeck.service import Service
from tests.web.conftest import bearer

EXPORT = "Contacts (exported)\n\nPrénom;Nom;Courriel;Remarques\nZoé;Dupré;zoe@example.com;vue au salon\n".encode(
    "cp1252"
)


@pytest.fixture
def alice_h(client: TestClient, alice: model.User) -> dict[str, str]:
    return bearer(client, "alice")


def post(
    client: TestClient, headers: dict[str, str], data: bytes = EXPORT, name: str = "export.csv", **form: Any
) -> Any:
    fields = {"target": "contacts", **{k: str(v) for k, v in form.items()}}
    return client.post(
        "/api/v1/imports/preview", files={"file": (name, data, "text/csv")}, data=fields, headers=headers
    )


def workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_preview_returns_what_was_detected_the_mapping_and_the_first_rows(
    client: TestClient, alice_h: dict[str, str]
) -> None:
    response = post(client, alice_h)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["encoding"], body["delimiter"], body["delimiter_name"]) == ("cp1252", ";", "semicolon")
    assert (body["kind"], body["header_row"], body["sheets"], body["sheet"]) == ("csv", 3, [], None)
    assert body["header"] == ["Prénom", "Nom", "Courriel", "Remarques"]
    assert body["mapping"]["ok"] is True
    assert body["mapping"]["mapping"] == {"Prénom": "first_name", "Nom": "last_name", "Courriel": "email"}
    assert body["mapping"]["ignored"] == ["Remarques"]
    email = next(c for c in body["mapping"]["columns"] if c["column"] == "email")
    assert email == {
        "column": "email",
        "required": True,
        "file_column": "Courriel",
        "position": 2,
        "how": "alias",
        "confidence": 1.0,
    }
    assert body["rows"] == [{"row": 1, "cells": ["Zoé", "Dupré", "zoe@example.com", "vue au salon"]}]


def test_a_preview_stores_nothing_and_queues_nothing(
    client: TestClient, alice_h: dict[str, str], service: Service
) -> None:
    assert post(client, alice_h).status_code == 200
    assert client.get("/api/v1/jobs?tab=imports", headers=alice_h).json()["items"] == []
    stored = service.settings.data_dir
    assert not stored.exists() or not any(p.is_file() for p in stored.rglob("*"))


def test_the_user_chooses_header_row_and_mapping(client: TestClient, alice_h: dict[str, str]) -> None:
    data = b"Given,Family,Contact\nAda,Lovelace,ada@example.com\n"
    mapping = {"Given": "first_name", "Family": "last_name", "Contact": "email"}
    body = post(client, alice_h, data, header_row=1, mapping=json.dumps(mapping)).json()
    assert body["mapping"]["ok"] is True
    assert body["mapping"]["mapping"] == mapping


def test_an_unmatched_required_column_is_reported_in_the_preview_not_refused(
    client: TestClient, alice_h: dict[str, str]
) -> None:
    body = post(client, alice_h, b"first_name,last_name,mail adr\nA,B,c@example.com\n").json()
    assert body["mapping"]["ok"] is False
    assert "'email'" in body["mapping"]["errors"][0]


def test_an_xlsx_preview_names_its_sheets_and_the_one_chosen(client: TestClient, alice_h: dict[str, str]) -> None:
    data = workbook(
        {"Cover": [["Our contacts"]], "People": [["E-mail Address", "First Name", "Last Name"], ["a@x.org", "A", "B"]]}
    )
    body = post(client, alice_h, data, name="people.xlsx").json()
    assert (body["sheets"], body["sheet"], body["encoding"], body["delimiter"]) == (
        ["Cover", "People"],
        "People",
        None,
        None,
    )
    assert body["rows"] == [{"row": 1, "cells": ["a@x.org", "A", "B"]}]


@pytest.mark.parametrize(
    ("form", "status", "detail"),
    [
        ({"mapping": "{not json"}, 422, "mapping must be JSON"),
        ({"mapping": '["email"]'}, 422, "mapping must be a JSON object"),
        ({"mapping": '{"Nom": 3}'}, 422, "mapping must be a JSON object"),
        ({"mapping": '{"Nom": "nickname"}'}, 422, "Contacts has no column 'nickname'"),
        ({"mapping": '{"Nom": "email", "Courriel": "email"}'}, 422, "'email' is mapped twice"),
        ({"target": "nothing"}, 404, "No import target named 'nothing'"),
        ({"header_row": 5}, 422, "header_row must be between 1 and 4"),
        ({"header_row": 0}, 422, "header_row"),
        ({"header_row": 2}, 422, "Row 2 is blank"),
        ({"sheet": "Data"}, 422, "A CSV file has no sheets"),
        ({"encoding": "no-such-codec"}, 422, "Unknown encoding"),
        ({"delimiter": "x"}, 422, "delimiter must be comma"),
    ],
)
def test_bad_input_is_a_4xx_problem(
    client: TestClient, alice_h: dict[str, str], form: dict[str, Any], status: int, detail: str
) -> None:
    response = post(client, alice_h, **form)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert detail in response.json()["detail"]


@pytest.mark.parametrize(
    ("data", "name", "detail"),
    [
        (b"", "empty.csv", "empty"),
        (b"\n\n,,\n", "blank.csv", "empty"),
        (b"\x89PNG\r\n\x1a\n....", "photo.csv", "PNG image"),
        (b"first_name\n", "notes.pdf", "not a file jobdeck imports"),
        (b"not a zip at all", "book.xlsx", "not an XLSX file"),
    ],
)
def test_empty_or_foreign_files_are_4xx(
    client: TestClient, alice_h: dict[str, str], data: bytes, name: str, detail: str
) -> None:
    response = post(client, alice_h, data, name=name)
    assert response.status_code == 422, response.text
    assert detail in response.json()["detail"]


def test_an_unknown_sheet_is_422_naming_the_sheets(client: TestClient, alice_h: dict[str, str]) -> None:
    data = workbook({"A": [["email"]], "B": [["email"]]})
    response = post(client, alice_h, data, name="book.xlsx", sheet="C")
    assert response.status_code == 422
    assert "its sheets: 'A', 'B'" in response.json()["detail"]


def test_a_preview_needs_a_signed_in_caller(client: TestClient) -> None:
    response = post(client, {})
    assert response.status_code == 401


def test_a_session_caller_needs_the_csrf_header(client: TestClient, as_user: Any, alice: model.User) -> None:
    signed_in = as_user("alice")
    assert post(signed_in, {}).status_code == 200
    del signed_in.headers["X-CSRF-Token"]
    assert post(signed_in, {}).status_code == 403


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    data=st.binary(max_size=300),
    mapping=st.one_of(st.none(), st.text(max_size=40)),
    header_row=st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
)
def test_any_bytes_and_options_answer_200_or_a_4xx_never_a_5xx(
    client: TestClient, alice_h: dict[str, str], data: bytes, mapping: str | None, header_row: int | None
) -> None:
    form: dict[str, Any] = {}
    if mapping is not None:
        form["mapping"] = mapping
    if header_row is not None:
        form["header_row"] = header_row
    response = post(client, alice_h, data, **form)
    assert response.status_code in (200, 404, 413, 422), response.text
