"""Allow/deny per persona for every one-stop page and endpoint (404 for what one may not see)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dangqun.onestop import actions
from dangqun.onestop.models import Application

PERSONAS = [
    "anonymous",
    "applicant",
    "other_resident",
    "window_staff",
    "department_admin",
    "street_admin",
    "secretary",
    "outsider",
    "member",
]


@pytest.fixture
def app(applicant, simple_item, calendar_2027):
    draft = actions.do_start_application(simple_item, actor=applicant)
    actions.do_use_shared_material(draft, simple_item.materials.get(), actor=applicant, consent=True)
    return actions.do_submit_application(draft, actor=applicant).application


@pytest.fixture
def draft(applicant, simple_item):
    return actions.do_start_application(simple_item, actor=applicant)


def login(client, request, persona):
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))


def expect(persona, table):
    for key, code in table.items():
        if persona in key.split():
            return code
    return table["*"]


PAGES = {
    # (method, url builder, {personas: status, "*": default})
    "catalog": ("get", lambda a, d, i: "/services/", {"*": 200}),
    "guide": ("get", lambda a, d, i: f"/services/{i.code}/", {"*": 200}),
    "track": ("get", lambda a, d, i: "/services/track/", {"*": 200}),
    "apply": (
        "post",
        lambda a, d, i: f"/services/{i.code}/apply/",
        {"anonymous": 302, "applicant other_resident": 302, "*": 403},
    ),
    "mine": ("get", lambda a, d, i: "/services/applications/", {"anonymous": 302, "*": 200}),
    "application": (
        "get",
        lambda a, d, i: f"/services/applications/{a.pk}/",
        {"anonymous": 302, "applicant window_staff department_admin street_admin": 200, "*": 404},
    ),
    "draft": (
        "get",
        lambda a, d, i: f"/services/applications/{d.pk}/",
        {"anonymous": 302, "applicant": 200, "*": 404},
    ),
    "save": (
        "post",
        lambda a, d, i: f"/services/applications/{d.pk}/save/",
        {"anonymous": 302, "applicant": 302, "*": 404},
    ),
    "material": (
        "post",
        lambda a, d, i: f"/services/applications/{d.pk}/materials/{i.materials.get().pk}/",
        {"anonymous": 302, "applicant": 422, "*": 404},  # in, but no file chosen
    ),
    "submit": (
        "post",
        lambda a, d, i: f"/services/applications/{d.pk}/submit/",
        {"anonymous": 302, "applicant": 302, "*": 404},
    ),
    "correct": (
        "post",
        lambda a, d, i: f"/services/applications/{a.pk}/correct/",
        {"anonymous": 302, "applicant": 422, "*": 404},
    ),
    "withdraw": (
        "post",
        lambda a, d, i: f"/services/applications/{a.pk}/withdraw/",
        {"anonymous": 302, "applicant": 302, "*": 404},
    ),
    "act": (
        "post",
        lambda a, d, i: f"/services/applications/{a.pk}/act/",
        {"anonymous": 302, "window_staff department_admin street_admin": 404, "applicant": 403, "*": 404},
    ),
    "queue": (
        "get",
        lambda a, d, i: "/services/queue/",
        {"anonymous": 302, "window_staff department_admin street_admin": 200, "*": 403},
    ),
    "assist": (
        "get",
        lambda a, d, i: "/services/assist/",
        {"anonymous": 302, "window_staff department_admin street_admin": 200, "*": 403},
    ),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", list(PAGES))
def test_pages_allow_and_deny_by_persona(client, request, persona, page, app, draft, simple_item):
    method, url, table = PAGES[page]
    login(client, request, persona)
    # "act" without an op is an unknown action (404) for staff who may act; the point is who gets in.
    response = getattr(client, method)(url(app, draft, simple_item))
    assert response.status_code == expect(persona, table), (page, persona)


API = {
    "search": ("get", lambda a, i: "/api/v1/services?q=sb", None, {"*": 200}),
    "item": ("get", lambda a, i: f"/api/v1/services/{i.code}", None, {"*": 200}),
    "item_unknown": ("get", lambda a, i: "/api/v1/services/999999999999", None, {"*": 404}),
    "apply": (
        "post",
        lambda a, i: f"/api/v1/services/{i.code}/applications",
        {"form": {"applicant_name": "某人"}, "consent": True},
        {"anonymous": 401, "applicant other_resident": 201, "*": 403},
    ),
    "mine": ("get", lambda a, i: "/api/v1/applications", None, {"anonymous": 401, "*": 200}),
    "application": (
        "get",
        lambda a, i: f"/api/v1/applications/{a.pk}",
        None,
        {"anonymous": 401, "applicant window_staff department_admin street_admin": 200, "*": 404},
    ),
    "action": (
        "post",
        lambda a, i: f"/api/v1/applications/{a.pk}/actions",
        {"action": "accept"},
        {"anonymous": 401, "window_staff department_admin street_admin": 200, "*": 404},
    ),
    "queue": (
        "get",
        lambda a, i: "/api/v1/queue",
        None,
        {"anonymous": 401, "window_staff department_admin street_admin": 200, "*": 403},
    ),
    "track": ("get", lambda a, i: f"/api/v1/track/{a.number}?code={a.check_code}", None, {"*": 200}),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", list(API))
def test_endpoints_allow_and_deny_by_persona(client, request, persona, endpoint, app, simple_item):
    method, url, body, table = API[endpoint]
    login(client, request, persona)
    if method == "get":
        response = client.get(url(app, simple_item))
    else:
        response = client.post(url(app, simple_item), body, content_type="application/json")
    assert response.status_code == expect(persona, table), (endpoint, persona, response.content[:200])


def test_the_applicant_alone_sees_the_check_code(client, app, applicant, window_staff):
    client.force_login(applicant)
    assert client.get(f"/api/v1/applications/{app.pk}").json()["check_code"] == app.check_code
    client.force_login(window_staff)
    assert client.get(f"/api/v1/applications/{app.pk}").json()["check_code"] is None
    assert app.check_code not in client.get(reverse("onestop:application", args=[app.pk])).content.decode()


@pytest.mark.parametrize("viewer", ["window_staff", "applicant"])
def test_the_application_page_masks_the_id_number_for_everyone(client, app, applicant, viewer, request):
    client.force_login(request.getfixturevalue(viewer))
    page = client.get(reverse("onestop:application", args=[app.pk])).content.decode()
    id_number = app.form_data["id_number"]
    assert id_number not in page
    assert id_number[:3] + "*" in page
    assert Application.objects.count() == 1
