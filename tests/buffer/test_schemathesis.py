"""Schemathesis against a live buffer (SQLite and PostgreSQL): answers to generated requests,
valid and invalid, are never server errors and always match contracts/openapi.yaml (status
code documented, media type, body schema, headers), and the read endpoints enforce their auth.

Operations are parametrized by hand (schemathesis' ``from_fixture`` plugin does not run under
pytest 9); each runs a bounded Hypothesis search inside the test. Not checked: whether every
schema-valid request is accepted — the buffer also rejects, with a documented 400, what the
document cannot express (a window needs both ends, ends after it starts, spans at most a year).
"""

from __future__ import annotations

import dataclasses
import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks

from smsbounce.buffer.app import create_app
from smsbounce.contracts.openapi import openapi
from smsbounce.plumbing.local_server import LocalServer

MAX_EXAMPLES = 40
CHECKS = [
    not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.ignored_auth,
]
SCHEMA = schemathesis.openapi.from_dict(openapi()).include(tag="buffer")
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CASES = [
    pytest.param(operation, mode, id=f"{operation.label}-{mode.value}")
    for operation in OPERATIONS
    for mode in schemathesis.GenerationMode
    # Without parameters there is nothing to make invalid.
    if mode is schemathesis.GenerationMode.POSITIVE or operation.query or operation.path_parameters
]


@pytest.fixture
def buffer_server(start_buffer, buffer_settings):
    # The auth check sends wrong credentials in every example: throttled, the right ones would
    # get 429 too and the routes behind auth go untested (tests/buffer/abuse tests the throttle).
    return start_buffer(dataclasses.replace(buffer_settings, auth_failure_burst=10**9))


@pytest.mark.parametrize("operation, mode", CASES)
def test_the_buffer_honours_its_openapi_document(operation, mode, buffer_server):
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exchange(case):
        case.call_and_validate(base_url=buffer_server.url, auth=buffer_server.auth, checks=CHECKS)

    exchange()


def test_every_buffer_route_is_documented_and_served(buffer_settings):
    settings = dataclasses.replace(buffer_settings, enable_clear=True, environment="test")
    app = create_app(settings)
    routes = {f"{route.method} " + re.sub(r"<(\w+)>", r"{\1}", route.rule) for route in app.routes}
    documented = {operation.label for operation in OPERATIONS}
    assert routes == documented
    with LocalServer(app) as server:
        served = requests.get(server.url + "/openapi.json").json()
    assert served["openapi"] == "3.1.0"
    assert {f"GET {p}" for p, ops in served["paths"].items() if "get" in ops} == {
        label for label in documented if label.startswith("GET ")
    }
