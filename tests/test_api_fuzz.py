"""Fuzz the whole OpenAPI spec with schemathesis: no server error, responses match the spec.

Runs as an anonymous client and as a street administrator with a bearer token, in-process
through the WSGI app (the same code path as gunicorn, minus the socket).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import ignored_auth, negative_data_rejection, positive_data_acceptance

from dangqun.accounts.tokens import issue_token

# 25 per operation in CI; a deeper run: FUZZ_EXAMPLES=200 uv run pytest tests/test_api_fuzz.py -n 2
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


@pytest.fixture
def api_schema(db):
    from dangqun.config.wsgi import application

    # Like Django's test client: keep the test's transaction open across WSGI calls, which
    # would otherwise close the database connection at the end of every request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


PERSONAS = ["street_admin", "secretary", "outsider", "member", "resident", "department_admin", "window_staff"]


class Personas(dict):
    """persona → its headers; a persona whose token a generated logout revoked gets a new one."""

    def __init__(self, users: dict):
        super().__init__(anonymous={})
        self.users = users
        for name in users:
            self.renew(name)

    def renew(self, name: str) -> None:
        token, _ = issue_token(self.users[name], name="fuzz")
        self[name] = {"Authorization": f"Bearer {token}"}


@pytest.fixture
def persona_headers(request, tree) -> Personas:
    """Each generated request is sent once per persona (lazy schemas cannot parametrize fixtures)."""
    return Personas({name: request.getfixturevalue(name) for name in PERSONAS})


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_api_never_fails_and_matches_its_spec(case, persona_headers):
    for persona, headers in list(persona_headers.items()):
        # Excluded checks, and why: a schema-valid value can still break a business rule (a day
        # outside the known calendar) and answer a declared 422; unknown query parameters are
        # ignored, not refused; and each persona's Authorization header is added back on purpose.
        response = case.call_and_validate(
            headers=headers, excluded_checks=[positive_data_acceptance, negative_data_rejection, ignored_auth]
        )
        _report(persona, case, response.status_code)
        if case.method.upper() == "DELETE" and case.path == "/api/v1/auth/token" and persona != "anonymous":
            persona_headers.renew(persona)  # that was a logout: every later operation would be a 401


def _report(persona: str, case, status: int) -> None:
    """With FUZZ_REPORT=path (ops/prove.py fuzz) one line per call, for the figures."""
    path = os.environ.get("FUZZ_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{persona}\t{case.method} {case.path}\t{status}\n")
