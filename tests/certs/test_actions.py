"""Issuing and revoking: the PDF, the serials, encryption at rest, audit, permissions per persona."""

from __future__ import annotations

import io
from datetime import date

import pypdf
import pytest
import zxingcpp
from django.db import connection
from PIL import Image

from dangqun.certs import signing
from dangqun.certs.actions import data_digest, do_issue_certificate, do_revoke_certificate
from dangqun.certs.identifiers import parse_identifier
from dangqun.certs.models import Certificate, CertStatus
from dangqun.certs.pdf import verification_url
from dangqun.core import crypto
from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.core.models import AuditEvent

from .conftest import DATA, DEPT_CREDIT, HOLDER


def _pdf_bytes(cert: Certificate) -> bytes:
    with cert.pdf.open("rb") as fh:
        return fh.read()


def test_issuing_makes_a_signed_pdf_with_a_valid_identifier(cert, street_admin):
    ident = parse_identifier(cert.identifier)
    assert (ident.type_code, ident.credit_code, ident.serial, ident.version) == (
        "ZDSHBZZ",
        DEPT_CREDIT,
        "00000001",
        1,
    )
    assert cert.type_name == "最低生活保障证"
    assert cert.holder_masked == "张*明"
    assert cert.issued_by == street_admin
    assert cert.source == "onestop.application:2026-000123"
    content = _pdf_bytes(cert)
    assert content.startswith(b"%PDF-")
    assert crypto.sm3_hex(content) == cert.pdf_sm3
    assert data_digest(cert) == cert.data_sm3
    key = signing.public_key(cert.key_id)
    assert signing.verify(
        signing.signed_message(cert.identifier, cert.data_sm3, cert.pdf_sm3), cert.signature, key
    )


def test_the_pdf_text_holds_the_identifier_the_data_and_the_issuer(cert):
    text = pypdf.PdfReader(io.BytesIO(_pdf_bytes(cert))).pages[0].extract_text()
    flat = "".join(text.split())
    assert cert.identifier in flat
    for words in (
        "最低生活保障证",
        "张小明",
        "11010519491231002X",
        "社会保障科",
        DEPT_CREDIT,
        "1860.00元",
        "首次申请是",
    ):
        assert words in flat
    assert "2099年12月31日" in flat


def test_the_qr_code_decodes_to_the_public_verification_url(cert):
    page = pypdf.PdfReader(io.BytesIO(_pdf_bytes(cert))).pages[0]
    [image] = page.images
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)).convert("L"))
    assert [d.text for d in decoded] == [f"http://127.0.0.1:8000/certs/verify/{cert.identifier}"]
    assert verification_url(cert.identifier) == decoded[0].text


def test_the_qr_code_follows_site_url(issue, settings):
    settings.SITE_URL = "https://dangqun.example.gov.cn/"
    assert verification_url("X") == "https://dangqun.example.gov.cn/certs/verify/X"


def test_serials_count_per_issuer_and_type(issue, tree, root_admin, street_admin):
    from dangqun.orgs.actions import do_update_organization

    from .conftest import HALL_CREDIT

    first, second = issue(), issue()
    other_type = issue(type_code="LNRYDZ")
    hall = do_update_organization(tree.hall, actor=root_admin, credit_code=HALL_CREDIT)
    other_issuer = issue(issuer=hall)
    assert [c.serial for c in (first, second, other_type, other_issuer)] == [1, 2, 1, 1]
    assert len({c.identifier for c in (first, second, other_type, other_issuer)}) == 4


def test_holder_data_is_encrypted_at_rest_with_a_blind_index(cert):
    with connection.cursor() as cur:
        cur.execute("SELECT holder_name, holder_id_number FROM certs_certificate WHERE id = %s", [cert.pk])
        name, id_number = cur.fetchone()
    assert name.startswith("v1:")
    assert "张" not in name
    assert id_number.startswith("v1:")
    assert "1101" not in id_number
    found = Certificate.objects.get(holder_id_index=crypto.blind_index(HOLDER["id_number"], purpose="id"))
    assert found == cert
    assert found.holder_name == "张小明"


def test_issuing_and_revoking_are_audited(cert, street_admin):
    do_revoke_certificate(cert, "信息有误，已重新签发", actor=street_admin)
    events = AuditEvent.objects.filter(object_type="certs.certificate", object_id=str(cert.pk)).order_by("id")
    assert [e.action for e in events] == ["cert.issue", "cert.revoke"]
    assert events[0].payload["identifier"] == cert.identifier
    assert "张小明" not in str(events[0].payload)


def test_revoking_records_who_when_and_why_and_happens_once(cert, street_admin):
    do_revoke_certificate(cert, "信息有误", actor=street_admin)
    cert.refresh_from_db()
    assert cert.status == CertStatus.REVOKED
    assert cert.revoked_by == street_admin
    assert cert.revoke_reason == "信息有误"
    assert cert.revoked_at
    with pytest.raises(RuleViolation) as err:
        do_revoke_certificate(cert, "再次注销", actor=street_admin)
    assert err.value.code == "cert_already_revoked"


def test_a_revocation_needs_a_reason(cert, street_admin):
    with pytest.raises(RuleViolation) as err:
        do_revoke_certificate(cert, " ", actor=street_admin)
    assert err.value.code == "cert_revoke_reason"


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("street_admin", True),
        ("department_admin", True),
        ("window_staff", False),  # onestop.handle only inside the window's own subtree
        ("secretary", False),
        ("outsider", False),
        ("member", False),
        ("resident", False),
    ],
)
def test_who_may_issue(issue, request, persona, allowed):
    actor = request.getfixturevalue(persona)
    if allowed:
        assert issue(actor=actor).issued_by == actor
    else:
        with pytest.raises(PermissionDenied):
            issue(actor=actor)
        assert not Certificate.objects.exists()


def test_window_staff_may_issue_for_their_own_window(tree, root_admin, window_staff):
    from dangqun.orgs.actions import do_update_organization

    code = "11110105MB000003" + "0"
    from dangqun.core.validators import credit_check_char

    window = do_update_organization(tree.window, actor=root_admin, credit_code=code + credit_check_char(code))
    cert = do_issue_certificate(window, "SBKSLHZ", HOLDER, {"卡号": "1234"}, actor=window_staff)
    assert cert.type_name == "社会保障卡申领回执"


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("street_admin", True),
        ("department_admin", True),
        ("window_staff", False),
        ("secretary", False),
        ("outsider", False),
        ("member", False),
        ("resident", False),
    ],
)
def test_who_may_revoke(cert, request, persona, allowed):
    actor = request.getfixturevalue(persona)
    if allowed:
        assert do_revoke_certificate(cert, "测试注销", actor=actor).status == CertStatus.REVOKED
    else:
        with pytest.raises(PermissionDenied):
            do_revoke_certificate(cert, "测试注销", actor=actor)
        cert.refresh_from_db()
        assert cert.status == CertStatus.VALID


def test_an_issuer_without_a_valid_credit_code_cannot_issue(tree, street_admin):
    with pytest.raises(RuleViolation) as err:
        do_issue_certificate(tree.department, "ZDSHBZZ", HOLDER, DATA, actor=street_admin)
    assert err.value.code == "cert_issuer_credit_code"
    assert "统一社会信用代码" in err.value.message


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"type_code": "NOSUCHTYPE"}, "cert_type_name"),
        ({"type_code": "bad-code!"}, "cert_type_code"),
        ({"data": {"金额": 12.5}}, "cert_data"),
        ({"data": {"": "x"}}, "cert_data"),
        ({"data": {"说明": "长" * 501}}, "cert_data"),
        ({"data": {f"项{i}": "x" for i in range(41)}}, "cert_data"),
        ({"holder": {"name": ""}}, "cert_holder_name"),
        ({"holder": {"name": "张三", "id_number": "110105194912310021"}}, "id_checksum"),
        ({"valid_until": date(2000, 1, 1)}, "cert_valid_until"),
        ({"source": "x" * 121}, "cert_source"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_burns_no_serial(issue, kwargs, code):
    with pytest.raises(RuleViolation) as err:
        issue(**kwargs)
    assert err.value.code == code
    assert issue().serial == 1


def test_an_unlisted_type_may_be_issued_with_its_name(issue):
    cert = issue(type_code="11100000MB0143028K001", type_name="临时救助审批通知书")
    assert cert.type_name == "临时救助审批通知书"
    assert ".11100000MB0143028K001." in cert.identifier
