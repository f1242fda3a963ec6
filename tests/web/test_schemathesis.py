"""Schemathesis against the API's own OpenAPI document: generated requests on every operation, no server error."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.checks import not_a_server_error

from jobdeck import model
from tests.web.conftest import bearer

EXAMPLES_PER_OPERATION = 25
#: Valid requests, and requests that break the schema on purpose (which must be 4xx, never 5xx).
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


@pytest.fixture
def admin_headers(
    app: FastAPI, admin: model.User, alice: model.User, make_job: Callable[..., model.Job], run_jobs: Callable[[], None]
) -> dict[str, str]:
    """An admin's token, over a ledger holding finished, failed and queued jobs with files."""
    make_job(alice, "t_steps")
    make_job(alice, "t_fail_always")
    run_jobs()
    make_job(admin, "t_echo")
    return bearer(TestClient(app), "ada")


SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,  # the same requests on every run; a failure names the operation and the request
    database=None,
)


def test_no_operation_answers_a_server_error(app: FastAPI, admin_headers: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    calls = 0

    for operation, mode in itertools.product(operations, MODES):

        @SETTINGS
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        def exercise(case: schemathesis.Case) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(headers=admin_headers, checks=[not_a_server_error])

        try:
            exercise()
        except hypothesis.errors.Unsatisfiable:
            # An operation with no parameters cannot be called with schema-breaking ones.
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
    print(
        f"schemathesis: {len(operations)} operations x {len(MODES)} modes, {calls} generated requests, no server error"
    )
