"""Public verification by identifier and by PDF, pages and API, tampering, rate limits, staff API."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dangqun.certs.actions import do_revoke_certificate
from dangqun.certs.models import Certificate

from .conftest import HOLDER


def _pdf(cert: Certificate) -> bytes:
    with cert.pdf.open("rb") as fh:
        return fh.read()


def _changed(identifier: str, index: int) -> str:
    index %= len(identifier)
    c = identifier[index]
    return identifier[:index] + ("8" if c != "8" else "9") + identifier[index + 1 :]


def _upload(client, content: bytes, identifier: str = ""):
    data = {"pdf": SimpleUploadedFile("c.pdf", content, content_type="application/pdf")}
    if identifier:
        data["identifier"] = identifier
    return client.post("/api/v1/certs/verify", data)


def test_a_valid_certificate_shows_only_what_the_holder_shows(client, cert):
    response = client.get(f"/api/v1/certs/verify/{cert.identifier}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "valid"
    assert body["type"] == "最低生活保障证"
    assert body["issuer"] == "社会保障科"
    assert body["holder_masked"] == "张*明"
    assert body["issued_at"]
    assert body["valid_until"] == "2099-12-31"
    assert len(body["signature"]) == 128
    assert body["pdf_sm3"] == cert.pdf_sm3
    text = response.content.decode()
    assert HOLDER["id_number"] not in text
    assert "张小明" not in text
    assert "1860" not in text


def test_a_revoked_certificate_says_so_with_the_date(client, cert, street_admin):
    do_revoke_certificate(cert, "信息有误", actor=street_admin)
    body = client.get(f"/api/v1/certs/verify/{cert.identifier}").json()
    assert body["status"] == "revoked"
    assert body["revoked_at"]
    assert "注销" in body["message"]
    assert "信息有误" not in str(body)  # the reason is for staff


def test_an_expired_certificate_is_not_valid(client, issue):
    cert = issue(valid_until=date(2030, 1, 1))
    Certificate.objects.filter(pk=cert.pk).update(valid_until=date(2020, 1, 1))  # time passing
    body = client.get(f"/api/v1/certs/verify/{cert.identifier}").json()
    assert body["status"] == "tampered"  # the date is signed: changing it breaks the signature


def test_past_its_validity_the_certificate_is_expired(client, issue, monkeypatch):
    cert = issue(valid_until=date(2030, 1, 1))
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: date(2031, 1, 1))
    body = client.get(f"/api/v1/certs/verify/{cert.identifier}").json()
    assert body["status"] == "expired"
    assert "过期" in body["message"]


def test_an_unknown_identifier_is_unknown(client, cert):
    from dangqun.certs.identifiers import build_identifier

    other = str(build_identifier("ZDSHBZZ", cert.issuer_credit_code, 99))
    body = client.get(f"/api/v1/certs/verify/{other}").json()
    assert body["status"] == "unknown"
    assert "未找到" in body["message"]
    assert body.get("type") is None


def test_an_identifier_with_one_changed_character_is_refused_by_its_check_character(client, cert):
    serial_digit = cert.identifier.rindex(".001.") - 1
    body = client.get(f"/api/v1/certs/verify/{_changed(cert.identifier, serial_digit)}").json()
    assert body["status"] == "unknown"
    assert "校验位" in body["message"]
    assert body.get("holder_masked") is None


def test_garbage_is_unknown_with_a_reason(client, db):
    body = client.get("/api/v1/certs/verify/hello").json()
    assert body["status"] == "unknown"
    assert "1.2.156.3005.2" in body["message"]


def test_a_changed_record_in_the_database_fails_the_signature(client, cert):
    Certificate.objects.filter(pk=cert.pk).update(data={"保障人数": "9 人"})
    body = client.get(f"/api/v1/certs/verify/{cert.identifier}").json()
    assert body["status"] == "tampered"


def test_the_pdf_as_issued_verifies(client, cert):
    body = _upload(client, _pdf(cert)).json()
    assert body["status"] == "valid"
    assert body["identifier"] == cert.identifier
    assert _upload(client, _pdf(cert), cert.identifier).json()["status"] == "valid"


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9, -1])
def test_one_changed_byte_of_the_pdf_fails(client, cert, where):
    content = bytearray(_pdf(cert))
    i = int(len(content) * where) if where >= 0 else len(content) - 1
    content[i] ^= 0x01
    tampered = bytes(content)
    if not tampered.startswith(b"%PDF-"):
        pytest.fail("the test must not break the magic")
    by_digest = _upload(client, tampered).json()
    assert by_digest["status"] == "unknown"
    assert "修改" in by_digest["message"]
    with_id = _upload(client, tampered, cert.identifier).json()
    assert with_id["status"] == "tampered"
    assert "不一致" in with_id["message"]


def test_a_pdf_presented_with_a_changed_identifier_fails(client, cert):
    body = _upload(client, _pdf(cert), _changed(cert.identifier, len("1.2.156.3005.2.") + 1)).json()
    assert body["status"] == "unknown"


def test_a_pdf_of_a_revoked_certificate_is_revoked(client, cert, street_admin):
    do_revoke_certificate(cert, "信息有误", actor=street_admin)
    assert _upload(client, _pdf(cert)).json()["status"] == "revoked"


def test_only_pdfs_within_the_size_limit_are_accepted(client, cert, settings):
    response = _upload(client, b"GIF89a not a pdf")
    assert response.status_code == 422
    assert response.json()["code"] == "cert_pdf_format"
    settings.CERT_VERIFY_MAX_BYTES = 1000
    response = _upload(client, _pdf(cert))
    assert response.status_code == 422
    assert response.json()["code"] == "cert_pdf_too_large"
    assert client.post("/api/v1/certs/verify", {}).status_code == 422


def test_the_public_api_is_rate_limited_per_address(client, cert, settings):
    settings.CERT_VERIFY_RATE = "3/60"
    url = f"/api/v1/certs/verify/{cert.identifier}"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get(url)
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert "频繁" in limited.json()["message"]
    assert limited["Retry-After"] == "60"
    assert client.get(url, REMOTE_ADDR="10.0.0.2").status_code == 200  # another address


def test_uploads_have_their_own_tighter_limit(client, cert, settings):
    settings.CERT_VERIFY_UPLOAD_RATE = "2/60"
    assert [_upload(client, _pdf(cert)).status_code for _ in range(3)] == [200, 200, 429]


def test_the_public_keys_are_published(client, cert):
    keys = client.get("/api/v1/certs/keys").json()
    assert cert.key_id in [k["key_id"] for k in keys]
    assert all(len(k["public_key"]) == 130 and k["public_key"].startswith("04") for k in keys)


# --- pages ----------------------------------------------------------------------------------


def test_the_page_the_qr_code_opens_says_valid(client, cert):
    response = client.get(f"/certs/verify/{cert.identifier}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "有效" in html
    assert "证照真实有效" in html
    assert "张*明" in html
    assert "最低生活保障证" in html
    assert HOLDER["id_number"] not in html
    assert "张小明" not in html


def test_the_page_says_revoked(client, cert, street_admin):
    do_revoke_certificate(cert, "信息有误", actor=street_admin)
    html = client.get(f"/certs/verify/{cert.identifier}").content.decode()
    assert "已注销" in html
    assert "注销日期" in html


def test_the_page_says_unknown(client, cert):
    html = client.get(f"/certs/verify/{_changed(cert.identifier, -1)}").content.decode()
    assert "查无此证" in html
    assert "校验位" in html
    assert "张*明" not in html


def test_the_form_sends_a_typed_identifier_to_its_page(client, cert):
    response = client.get("/certs/verify/", {"identifier": cert.identifier})
    assert response.status_code == 302
    assert response["Location"] == f"/certs/verify/{cert.identifier}"
    assert client.get("/certs/verify/").status_code == 200


def test_the_page_checks_an_uploaded_pdf(client, cert):
    ok = client.post("/certs/verify/", {"pdf": SimpleUploadedFile("c.pdf", _pdf(cert))})
    assert ok.status_code == 200
    assert "证照真实有效" in ok.content.decode()
    bad = client.post("/certs/verify/", {"pdf": SimpleUploadedFile("c.pdf", _pdf(cert)[:-3] + b"xyz")})
    assert "查无此证" in bad.content.decode()
    not_pdf = client.post("/certs/verify/", {"pdf": SimpleUploadedFile("c.txt", b"hello")})
    assert not_pdf.status_code == 422
    assert "不是 PDF" in not_pdf.content.decode()


def test_the_page_is_rate_limited(client, cert, settings):
    settings.CERT_VERIFY_RATE = "1/60"
    assert client.get(f"/certs/verify/{cert.identifier}").status_code == 200
    limited = client.get(f"/certs/verify/{cert.identifier}")
    assert limited.status_code == 429
    assert "频繁" in limited.content.decode()


# --- staff ----------------------------------------------------------------------------------

PERSONAS = [
    ("street_admin", 200, 200),
    ("department_admin", 200, 200),
    ("window_staff", 404, 404),
    ("secretary", 404, 404),
    ("outsider", 404, 404),
    ("member", 404, 404),
    ("resident", 404, 404),
]


@pytest.mark.parametrize(("persona", "read", "revoke"), PERSONAS)
def test_staff_api_per_persona(client, cert, request, persona, read, revoke):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(f"/api/v1/certs/issued/{cert.identifier}").status_code == read
    response = client.post(
        f"/api/v1/certs/issued/{cert.identifier}/revoke",
        {"reason": "信息有误"},
        content_type="application/json",
    )
    assert response.status_code == revoke
    cert.refresh_from_db()
    assert cert.status == ("revoked" if revoke == 200 else "valid")


def test_staff_api_needs_a_login(client, cert):
    assert client.get(f"/api/v1/certs/issued/{cert.identifier}").status_code == 401


@pytest.mark.parametrize(
    ("persona", "status"),
    [("street_admin", 200), ("department_admin", 200), ("resident", 404), ("outsider", 404)],
)
def test_the_issued_pdf_downloads_for_staff_only(client, cert, request, persona, status):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(f"/certs/issued/{cert.identifier}/pdf")
    assert response.status_code == status
    if status == 200:
        assert b"".join(response.streaming_content) == _pdf(cert)


def test_the_pdf_download_needs_a_login(client, cert):
    assert client.get(f"/certs/issued/{cert.identifier}/pdf").status_code == 302
