"""Fuzz the learning part of the OpenAPI spec: no server error, responses match the spec
(the whole-API fuzz in tests/test_api_fuzz.py covers it too; this one runs in seconds)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import ignored_auth, negative_data_rejection, positive_data_acceptance

from dangqun.accounts.tokens import issue_token


@pytest.fixture
def api_schema(db):
    from dangqun.config.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application).include(
        path_regex="^/api/v1/learning"
    )
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def persona_headers(request, tree, library) -> dict[str, dict[str, str]]:
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for name in ("member", "secretary", "street_admin", "resident"):
        token, _ = issue_token(request.getfixturevalue(name), name="fuzz")
        headers[name] = {"Authorization": f"Bearer {token}"}
    return headers


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_learning_api_never_fails_and_matches_its_spec(case, persona_headers):
    for headers in persona_headers.values():
        case.call_and_validate(
            headers=headers, excluded_checks=[positive_data_acceptance, negative_data_rejection, ignored_auth]
        )
