"""E-certificates from one-stop results: an approval of an item with a certificate type issues
one certificate to the applicant, signed by the department; the applicant (and staff in scope)
download it; anyone verifies it by the QR code's address."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dangqun.accounts.choices import Role
from dangqun.certs.models import Certificate
from dangqun.certs.queries import verify_pdf
from dangqun.core.crypto import sm3_hex
from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.core.validators import credit_check_char
from dangqun.onestop import actions
from dangqun.onestop.choices import Outcome, State, TaskState
from dangqun.onestop.models import Application
from dangqun.orgs.actions import do_update_organization
from tests.conftest import make_user

from .conftest import save_item

DEPT_CODE = "11330106MB0000009"
DEPT_CREDIT = DEPT_CODE + credit_check_char(DEPT_CODE)


@pytest.fixture(autouse=True)
def _keys(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"  # demo signing keys are generated here


@pytest.fixture
def issuer(tree, root_admin):
    return do_update_organization(tree.department, actor=root_admin, credit_code=DEPT_CREDIT)


@pytest.fixture
def cert_item(tree, street_admin, issuer):
    return save_item(
        tree,
        street_admin,
        code="200010003000",
        name="最低生活保障审核确认",
        keywords="低保",
        materials=[{"name": "居民身份证", "shared": "id_card"}],
        certificate_type="ZDSHBZZ",
    )


def reviewing(item, applicant, window_staff, department_admin) -> Application:
    """Submitted, accepted by the window, every review task passed by the department."""
    app = actions.do_start_application(item, actor=applicant)
    actions.do_use_shared_material(app, item.materials.get(), actor=applicant, consent=True)
    app = actions.do_submit_application(app, actor=applicant).application
    actions.do_accept(app, actor=window_staff)
    while task := app.tasks.filter(state=TaskState.PENDING).first():
        actions.do_review_task(task, passed=True, opinion="同意", actor=department_admin)
    app.refresh_from_db()
    return app


def approved(item, applicant, window_staff, department_admin) -> Application:
    app = reviewing(item, applicant, window_staff, department_admin)
    actions.do_decide(app, Outcome.APPROVED, actor=department_admin)
    app.refresh_from_db()
    return app


def certificates_of(app: Application):
    return Certificate.objects.filter(source=f"onestop.application:{app.number}")


def test_an_approval_issues_one_certificate_that_verifies_as_valid(
    client, applicant, cert_item, window_staff, department_admin, calendar_2027
):
    app = approved(cert_item, applicant, window_staff, department_admin)
    assert app.state == State.DECIDED
    [cert] = certificates_of(app)
    assert (cert.type_code, cert.type_name) == ("ZDSHBZZ", "最低生活保障证")
    assert cert.issuer_id == cert_item.department_id
    assert cert.issuer_credit_code == DEPT_CREDIT
    assert cert.holder_name == applicant.full_name
    assert cert.holder_masked == "陈*民"
    assert cert.data == {
        "持证人姓名": applicant.full_name,
        "身份证号": "110***********002X",
        "办理事项": "最低生活保障审核确认",
        "办件编号": app.number,
        "决定日期": app.decided_on.isoformat(),
    }
    assert cert.issued_by == department_admin

    page = client.get(reverse("certs:verify", args=[cert.identifier]))
    assert page.status_code == 200
    assert "证照真实有效" in page.content.decode()
    body = client.get(f"/api/v1/certs/verify/{cert.identifier}").json()
    assert body["status"] == "valid"
    assert body["type"] == "最低生活保障证"


def test_the_applicant_sees_and_downloads_the_certificate(
    client, applicant, cert_item, window_staff, department_admin, calendar_2027
):
    app = approved(cert_item, applicant, window_staff, department_admin)
    cert = certificates_of(app).get()
    client.force_login(applicant)
    page = client.get(reverse("onestop:application", args=[app.pk])).content.decode()
    download = reverse("onestop:certificate", args=[app.pk])
    assert f'href="{download}"' in page
    assert cert.identifier in page
    assert reverse("certs:verify", args=[cert.identifier]) in page

    response = client.get(download)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    assert content.startswith(b"%PDF-")
    assert sm3_hex(content) == cert.pdf_sm3
    assert verify_pdf(content, cert.identifier).status == "valid"

    detail = client.get(f"/api/v1/applications/{app.pk}").json()
    assert detail["certificate"]["id"] == cert.pk
    assert detail["certificate"]["identifier"] == cert.identifier
    assert detail["certificate"]["status"] == "valid"
    assert detail["certificate"]["verify_url"].endswith(f"/certs/verify/{cert.identifier}")
    listed = client.get("/api/v1/applications").json()["items"]
    assert [a["certificate"]["identifier"] for a in listed] == [cert.identifier]
    api_pdf = client.get(detail["certificate"]["download_url"])
    assert api_pdf.status_code == 200
    assert sm3_hex(b"".join(api_pdf.streaming_content)) == cert.pdf_sm3


def test_a_denial_or_an_item_without_a_type_issues_nothing(
    client, applicant, cert_item, simple_item, window_staff, department_admin, calendar_2027
):
    app = reviewing(cert_item, applicant, window_staff, department_admin)
    actions.do_decide(app, Outcome.DENIED, actor=department_admin, reasons="家庭收入高于保障标准")
    app.refresh_from_db()
    assert app.outcome == Outcome.DENIED
    assert not certificates_of(app).exists()
    with pytest.raises(RuleViolation) as err:
        actions.do_issue_result_certificate(app, actor=department_admin)
    assert err.value.code == "certificate_state"

    plain = approved(simple_item, applicant, window_staff, department_admin)
    assert plain.outcome == Outcome.APPROVED
    assert actions.do_issue_result_certificate(plain, actor=department_admin) is None
    assert Certificate.objects.count() == 0

    client.force_login(applicant)
    assert client.get(reverse("onestop:certificate", args=[plain.pk])).status_code == 404
    assert client.get(f"/api/v1/applications/{plain.pk}").json()["certificate"] is None
    assert "下载电子证照" not in client.get(reverse("onestop:application", args=[plain.pk])).content.decode()


def test_deciding_again_or_retrying_never_issues_a_second_certificate(
    client, applicant, cert_item, window_staff, department_admin, calendar_2027
):
    app = approved(cert_item, applicant, window_staff, department_admin)
    first = certificates_of(app).get()
    with pytest.raises(RuleViolation) as err:
        actions.do_decide(app, Outcome.APPROVED, actor=department_admin)
    assert err.value.code == "decide_state"
    again = actions.do_issue_result_certificate(app, actor=department_admin)
    assert again.pk == first.pk
    actions.do_deliver(app, actor=window_staff)
    app.refresh_from_db()
    assert actions.do_issue_result_certificate(app, actor=department_admin).pk == first.pk
    # the same decision posted twice through the page: the second one is refused, nothing new
    client.force_login(department_admin)
    response = client.post(
        reverse("onestop:act", args=[app.pk]), {"op": "decide", "outcome": Outcome.APPROVED}
    )
    assert response.status_code == 422
    assert Certificate.objects.count() == 1
    # only the deciding department may ask for it
    with pytest.raises(PermissionDenied):
        actions.do_issue_result_certificate(app, actor=window_staff)


def test_a_failed_issuance_leaves_the_decision_unmade(
    applicant, cert_item, window_staff, department_admin, root_admin, calendar_2027
):
    app = reviewing(cert_item, applicant, window_staff, department_admin)
    do_update_organization(cert_item.department, actor=root_admin, credit_code="")
    with pytest.raises(RuleViolation) as err:
        actions.do_decide(app, Outcome.APPROVED, actor=department_admin)
    assert err.value.code == "cert_issuer_credit_code"
    app.refresh_from_db()
    assert (app.state, app.outcome) == (State.REVIEWING, "")
    assert Certificate.objects.count() == 0
    # fixed, the same decision goes through and issues exactly one
    do_update_organization(cert_item.department, actor=root_admin, credit_code=DEPT_CREDIT)
    actions.do_decide(app, Outcome.APPROVED, actor=department_admin)
    assert certificates_of(app).count() == 1


def test_a_certificate_type_needs_a_known_code_and_an_issuer_credit_code(tree, street_admin):
    with pytest.raises(RuleViolation) as err:
        save_item(tree, street_admin, code="200010004000", certificate_type="ZDSHBZZ")
    assert err.value.code == "certificate_issuer"
    with pytest.raises(RuleViolation) as err:
        save_item(tree, street_admin, code="200010005000", certificate_type="NOSUCHTYPE")
    assert err.value.code == "certificate_type"


def test_only_the_applicant_and_staff_in_scope_may_download(
    client, applicant, other_resident, outsider, cert_item, window_staff, department_admin, calendar_2027
):
    app = approved(cert_item, applicant, window_staff, department_admin)
    url = reverse("onestop:certificate", args=[app.pk])
    api = f"/api/v1/applications/{app.pk}/certificate.pdf"
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert "/login" in anonymous.url or "accounts" in anonymous.url
    assert client.get(api).status_code == 401
    stranger = make_user("resident3", Role.RESIDENT, cert_item.department.parent, full_name="赵居民")
    for user in (other_resident, outsider, stranger):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.get(api).status_code == 404
        assert client.get(f"/api/v1/applications/{app.pk}").status_code == 404
    for staff in (window_staff, department_admin):
        client.force_login(staff)
        response = client.get(url)
        assert response.status_code == 200
        # Reading to the end closes the file (the test client then closes the response).
        assert b"".join(response.streaming_content).startswith(b"%PDF-")
        page = client.get(reverse("onestop:application", args=[app.pk])).content.decode()
        assert "下载电子证照" in page


def test_a_tampered_identifier_or_file_fails_verification(
    client, applicant, cert_item, window_staff, department_admin, calendar_2027
):
    app = approved(cert_item, applicant, window_staff, department_admin)
    cert = certificates_of(app).get()
    body, check = cert.identifier.rsplit(".", 1)
    wrong_check = body + "." + ("0" if check != "0" else "1")
    response = client.get(f"/api/v1/certs/verify/{wrong_check}").json()
    assert response["status"] == "unknown"
    serial = cert.identifier.split(".")[7]
    other_serial = cert.identifier.replace(f".{serial}.", f".{int(serial) + 1:0{len(serial)}d}.")
    assert client.get(f"/api/v1/certs/verify/{other_serial}").json()["status"] == "unknown"
    page = client.get(reverse("certs:verify", args=[wrong_check])).content.decode()
    assert "证照真实有效" not in page

    with cert.pdf.open("rb") as fh:
        content = fh.read()
    assert verify_pdf(content, cert.identifier).status == "valid"
    assert verify_pdf(content + b"\n%tampered", cert.identifier).status == "tampered"
    # a changed record (the printed data) no longer matches its signature
    Certificate.objects.filter(pk=cert.pk).update(data={**cert.data, "办理事项": "特困人员救助供养审核确认"})
    assert client.get(f"/api/v1/certs/verify/{cert.identifier}").json()["status"] == "tampered"
