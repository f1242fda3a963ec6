"""Uploads: the caller is checked from the headers, before a byte of the body is read; a body over the limit
is a 413 whether or not it declared its length."""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from jobdeck import model
from jobdeck.service import Service
from jobdeck.web.app import create_app
from jobdeck.wiring import Wiring
from tests.web.conftest import bearer

FIFTY_MB = 50 * 1024 * 1024


def answer_before_the_body(url: str, path: str, extra_headers: str = "") -> tuple[str, str]:
    """Send only the headers of a 50 MB multipart upload (and its first boundary); the status line and headers
    of the answer, which must come without the body ever being sent."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname and parts.port
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as conn:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: {FIFTY_MB}\r\n"
            f"{extra_headers}\r\n--b0undary\r\n"
        )
        conn.sendall(head.encode())
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = conn.recv(65536)  # times out (the test fails) if the server waits for the body
            if not chunk:
                break
            received += chunk
    status, _, headers = received.partition(b"\r\n\r\n")[0].decode("latin-1").partition("\r\n")
    return status, headers.lower()


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/api/v1/imports", "/api/v1/imports/preview"])
def test_an_anonymous_api_upload_is_refused_before_its_body_is_read(live_server: str, path: str) -> None:
    status, headers = answer_before_the_body(live_server, path)
    assert status.startswith("HTTP/1.1 401")
    assert "www-authenticate: bearer" in headers


@pytest.mark.slow
def test_an_anonymous_page_upload_is_sent_to_sign_in_before_its_body_is_read(live_server: str) -> None:
    status, headers = answer_before_the_body(live_server, "/imports/new")
    assert status.startswith("HTTP/1.1 303")
    assert "location: /login?next=%2fimports%2fnew" in headers


@pytest.mark.slow
def test_a_cross_site_page_upload_with_a_session_is_refused_before_its_body_is_read(
    live_server: str, service: Service, alice: model.User
) -> None:
    session = service.accounts.start_session(alice)
    cookie = f"Cookie: jobdeck_session={session.id}\r\nOrigin: https://elsewhere.example\r\n"
    status, _ = answer_before_the_body(live_server, "/imports/new", cookie)
    assert status.startswith("HTTP/1.1 403")


@pytest.mark.slow
def test_an_api_upload_with_a_session_but_no_csrf_header_is_refused_before_its_body_is_read(
    live_server: str, service: Service, alice: model.User
) -> None:
    session = service.accounts.start_session(alice)
    status, _ = answer_before_the_body(live_server, "/api/v1/imports", f"Cookie: jobdeck_session={session.id}\r\n")
    assert status.startswith("HTTP/1.1 403")


def test_a_chunked_upload_over_the_limit_is_413(service: Service, alice: model.User) -> None:
    small = Service(
        Wiring(service.settings.model_copy(update={"max_upload_mb": 1}), db=service.db, registry=service.registry)
    )
    client = TestClient(create_app(small), follow_redirects=False)
    headers = bearer(client, "alice")
    boundary = "b0undary"

    def body() -> Iterator[bytes]:  # no length declared: sent chunked
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="target"\r\n\r\ncontacts\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\nfirst_name,last_name,email\r\n"
        ).encode()
        for _ in range(40):
            yield b"A,B,a@example.com\r\n" * 4000
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/api/v1/imports",
        content=body(),
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "JOBDECK_MAX_UPLOAD_MB" in response.json()["detail"]
