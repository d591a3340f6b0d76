"""Fuzz the insights operations of the OpenAPI spec (tests/test_api_fuzz.py covers the whole API;
this keeps a quick, focused run for this app): no server error, responses match the spec."""

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
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex="/insights/")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_insights_api_never_fails_and_matches_its_spec(
    case, tree, street_admin, department_admin, resident
):
    for user in (None, street_admin, department_admin, resident):
        headers = {}
        if user is not None:
            token, _ = issue_token(user, name="fuzz")
            headers = {"Authorization": f"Bearer {token}"}
        case.call_and_validate(
            headers=headers, excluded_checks=[positive_data_acceptance, negative_data_rejection, ignored_auth]
        )
