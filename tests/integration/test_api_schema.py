"""The intake API keeps the promises of its own OpenAPI document: schemathesis loads the document
the app serves and sends generated requests — valid reports and invalid ones — through the WSGI
app, checking that no answer is a server error and that every status, content type and body is
one the document declares. Deterministic (derandomised, no example database) and bounded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from triage import create_app
from triage.config import Settings
from triage.intake import api_clients
from triage.web.deps import uow_of

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 40


@pytest.fixture
def api_app(settings: Settings) -> Iterator[Flask]:
    # Generous per-token limit: the run checks conformance, not the limiter.
    app = create_app(replace(settings, api_rate_limit="100000 per minute"))
    yield app
    uow_of(app).engine.dispose()


@pytest.fixture
def token(api_app: Flask) -> str:
    with api_app.app_context(), uow_of(api_app).begin() as session:
        _, token = api_clients.create_client(
            session, name="schemathesis", scopes=["direct", "media", "online"], actor="system"
        )
    return token


@pytest.mark.parametrize(
    "mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)
def test_the_api_conforms_to_its_openapi_document(
    api_app: Flask, token: str, mode: schemathesis.GenerationMode
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    auth = {"Authorization": f"Bearer {token}"}
    seen: set[int] = set()

    @given(case=schema.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers=auth, checks=CHECKS)
        seen.add(response.status_code)

    run()
    # The run reached the code, not only the gate: reports were judged on their merits.
    assert seen & {201, 200, 409, 422, 400, 404}, seen
    if mode is schemathesis.GenerationMode.POSITIVE:  # negative runs also drop the token
        assert not seen & {401, 403}, seen


def test_the_documented_examples_are_filed_and_conform(api_app: Flask, token: str) -> None:
    """Generated reports rarely pass every rule (a URL must be http(s), a date not in the
    future), so the 201 and 200 bodies are checked with the document's own examples."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    auth = {"Authorization": f"Bearer {token}"}
    create = schema["/api/v1/reports"]["POST"]
    status = schema["/api/v1/reports/{report_id}"]["GET"]
    examples = create.definition.raw["requestBody"]["content"]["application/json"]["examples"]
    assert set(examples) == {"direct", "media", "online"}
    for name, example in examples.items():
        case = create.Case(body=example["value"], media_type="application/json", headers=auth)
        filed = case.call_and_validate(checks=CHECKS)
        assert filed.status_code == 201, (name, filed.text)
        report_id = filed.json()["id"]
        shown = status.Case(path_parameters={"report_id": report_id}, headers=auth)
        assert shown.call_and_validate(checks=CHECKS).status_code == 200
        if name != "direct":  # the same source again is a documented conflict
            again = create.Case(body=example["value"], media_type="application/json", headers=auth)
            assert again.call_and_validate(checks=CHECKS).status_code == 409


def test_the_document_is_a_valid_openapi_3_1_schema(api_app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} == {
        ("POST", "/api/v1/reports"),
        ("GET", "/api/v1/reports/{report_id}"),
    }
