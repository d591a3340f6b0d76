"""Tracking without login (404 alike for every miss, rate-limited) and uploads that leave nothing
behind when refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dangqun.core.errors import RuleViolation
from dangqun.onestop import actions, throttle
from dangqun.onestop.models import ApplicationMaterial

from .conftest import JPEG, pdf_bytes


@pytest.fixture
def app(applicant, simple_item, calendar_2027):
    draft = actions.do_start_application(simple_item, actor=applicant)
    actions.do_use_shared_material(draft, simple_item.materials.get(), actor=applicant, consent=True)
    return actions.do_submit_application(draft, actor=applicant).application


def test_tracking_shows_state_and_history_without_personal_data(client, app, applicant):
    r = client.get(f"/api/v1/track/{app.number}", {"code": app.check_code.lower()})
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "submitted"
    assert [h["state"] for h in body["history"]] == ["submitted"]
    text = r.content.decode()
    for secret in (applicant.full_name, applicant.id_number, applicant.phone, applicant.username):
        assert secret not in text


def test_a_wrong_code_and_an_unknown_number_answer_the_same_404(client, app):
    wrong = client.get(f"/api/v1/track/{app.number}", {"code": "AAAAAA"})
    unknown = client.get(
        "/api/v1/track/00000000000000000000000000000000000000000000", {"code": app.check_code}
    )
    no_code = client.get(f"/api/v1/track/{app.number}")
    assert wrong.status_code == unknown.status_code == no_code.status_code == 404
    assert wrong.content == unknown.content == no_code.content


def test_tracking_is_rate_limited_per_address_with_a_chinese_message(client, app, settings):
    settings.ONESTOP_TRACK_LIMIT = 3
    for _ in range(3):
        assert client.get(f"/api/v1/track/{app.number}", {"code": "AAAAAA"}).status_code == 404
    limited = client.get(f"/api/v1/track/{app.number}", {"code": app.check_code})
    assert limited.status_code == 429
    assert "查询过于频繁" in limited.json()["message"]
    other = client.get(f"/api/v1/track/{app.number}", {"code": app.check_code}, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


def test_the_tracking_page_works_and_hides_which_part_was_wrong(client, app, settings):
    ok = client.get(reverse("onestop:track"), {"number": app.number, "code": app.check_code})
    assert ok.status_code == 200
    assert "已提交" in ok.content.decode()
    wrong = client.get(reverse("onestop:track"), {"number": app.number, "code": "ZZZZZZ"})
    unknown = client.get(reverse("onestop:track"), {"number": "123", "code": app.check_code})
    assert wrong.status_code == unknown.status_code == 404
    assert "未找到该办件" in wrong.content.decode()
    settings.ONESTOP_TRACK_LIMIT = 1
    assert client.get(reverse("onestop:track"), {"number": "1", "code": "1"}).status_code == 429


def test_the_throttle_window_counts_per_scope(rf):
    request = rf.get("/", REMOTE_ADDR="10.1.1.1")
    for _ in range(2):
        throttle.check(request, "x", limit=2)
    with pytest.raises(throttle.Throttled):
        throttle.check(request, "x", limit=2)
    throttle.check(request, "y", limit=2)


# --- uploads ----------------------------------------------------------------------------------


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("photo.jpg", b"GIF89a not a jpeg", "只接受"),
        ("photo.jpg", JPEG[:-2], "不完整"),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 80 * 1024, "上限"),
        ("scan.pdf", pdf_bytes(1), "只接受"),  # the photo accepts images only
    ],
)
def test_bad_photos_are_refused_and_nothing_is_stored(client, applicant, item, name, data, message):
    app = actions.do_start_application(item, actor=applicant)
    photo = item.materials.get(name="近期免冠照片")
    client.force_login(applicant)
    r = client.post(
        reverse("onestop:material", args=[app.pk, photo.pk]),
        {"op": "upload", "file": SimpleUploadedFile(name, data)},
    )
    assert r.status_code == 422
    assert message in r.content.decode()
    assert not ApplicationMaterial.objects.filter(application=app).exists()
    assert stored_files() == []


def test_a_pdf_with_too_many_pages_is_refused_by_its_real_page_count(applicant, item):
    app = actions.do_start_application(item, actor=applicant)
    form = item.materials.get(name="申请书")
    with pytest.raises(RuleViolation) as err:
        actions.do_upload_material(app, form, data=pdf_bytes(4), filename="ok.pdf", actor=applicant)
    assert err.value.code == "file_too_many_pages"
    assert stored_files() == []


def test_a_failed_database_write_removes_the_written_file(applicant, item, monkeypatch):
    app = actions.do_start_application(item, actor=applicant)
    form = item.materials.get(name="申请书")

    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ApplicationMaterial, "save", boom)
    with pytest.raises(RuntimeError):
        actions.do_upload_material(app, form, data=pdf_bytes(1), filename="ok.pdf", actor=applicant)
    assert stored_files() == []


def test_a_replaced_file_is_deleted_after_commit(applicant, item, django_capture_on_commit_callbacks):
    app = actions.do_start_application(item, actor=applicant)
    form = item.materials.get(name="申请书")
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_upload_material(app, form, data=pdf_bytes(1), filename="a.pdf", actor=applicant)
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_upload_material(app, form, data=pdf_bytes(2), filename="b.pdf", actor=applicant)
    files = stored_files()
    assert len(files) == 1
    assert ApplicationMaterial.objects.get(application=app).pages == 2


def test_shared_data_replaces_an_upload_only_when_the_platform_holds_it(applicant, item, resident_without_id):
    app = actions.do_start_application(item, actor=applicant)
    id_card = item.materials.get(name="居民身份证")
    row = actions.do_use_shared_material(app, id_card, actor=applicant, consent=True)
    assert row.from_shared
    photo = item.materials.get(name="近期免冠照片")
    with pytest.raises(RuleViolation):
        actions.do_use_shared_material(app, photo, actor=applicant, consent=True)
    other = actions.do_start_application(item, actor=resident_without_id)
    with pytest.raises(RuleViolation) as err:
        actions.do_use_shared_material(other, id_card, actor=resident_without_id, consent=True)
    assert err.value.code == "shared_unavailable"


@pytest.fixture
def resident_without_id(tree):
    from tests.conftest import make_user

    return make_user("resident3", "resident", tree.community)
