"""One source, many channels: drafts per channel, separate approval, pushes to the union of
audience segments over in-app / e-mail digest / RSS / signed webhook, tracked per channel and
recipient, never sent twice."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.core import mail

from dangqun.accounts.tokens import issue_token
from dangqun.core.crypto import webhook_signature as sign
from dangqun.core.errors import RuleViolation
from dangqun.core.models import Notification
from dangqun.learning import actions
from dangqun.learning.choices import Channel, DeliveryStatus, Post, ProductKind
from dangqun.learning.models import Delivery

from .conftest import learner

pytestmark = pytest.mark.django_db


def auth(user):
    raw, _ = issue_token(user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def people(tree):
    """Branch A: three members (one 村干部); branch B: a 村干部 and a teacher."""
    return {
        "a1": learner("a1", tree.branch_a, Post.OTHER, email="a1@example.org")[0],
        "a2": learner("a2", tree.branch_a, Post.TEACHER)[0],
        "a_cadre": learner("a_cadre", tree.branch_a, Post.VILLAGE_CADRE, email="ac@example.org")[0],
        "b_cadre": learner("b_cadre", tree.branch_b, Post.VILLAGE_CADRE, email="bc@example.org")[0],
        "b_teacher": learner("b_teacher", tree.branch_b, Post.TEACHER)[0],
    }


@pytest.fixture
def source(street_admin, tree):
    return actions.do_create_source(
        organization=tree.street,
        title="和平社区第一党支部召开主题党日活动",
        body="12月5日，第一党支部组织党员学习党章，开展志愿服务。\n活动中，党员们围绕乡村振兴交流了心得。",
        actor=street_admin,
    )


def approve(source, user, kinds=(ProductKind.WEB, ProductKind.CARD, ProductKind.SMS)):
    for p in source.products.filter(kind__in=kinds):
        actions.do_approve_product(p, actor=user)


def test_a_source_gets_a_draft_for_every_channel(source):
    products = {p.kind: p for p in source.products.all()}
    assert set(products) == set(ProductKind.values)
    assert all(p.status == "draft" for p in products.values())
    assert len(products[ProductKind.SMS].body) <= 70
    assert products[ProductKind.SMS].body.startswith("【")


def test_a_push_needs_approved_products(source, street_admin, tree):
    with pytest.raises(RuleViolation) as err:
        actions.do_create_push(
            source, audience=[{"org": tree.branch_a.pk}], channels=[Channel.IN_APP], actor=street_admin
        )
    assert err.value.code == "product_not_approved"


def test_editing_after_approval_sends_a_product_back_to_review(source, street_admin):
    sms = source.products.get(kind=ProductKind.SMS)
    actions.do_approve_product(sms, actor=street_admin)
    actions.do_update_product(sms, title=sms.title, body="【通知】主题党日活动圆满举行。", actor=street_admin)
    sms.refresh_from_db()
    assert sms.status == "draft"
    with pytest.raises(RuleViolation) as err:
        actions.do_update_product(sms, title="t", body="长" * 71, actor=street_admin)
    assert err.value.code == "body_too_long"


def test_push_to_a_branch_and_every_village_cadre_of_the_street(
    source, street_admin, tree, people, django_capture_on_commit_callbacks
):
    approve(source, street_admin)
    audience = [{"org": tree.branch_a.pk}, {"org": tree.street.pk, "posts": [Post.VILLAGE_CADRE]}]
    with django_capture_on_commit_callbacks(execute=True):
        push = actions.do_create_push(
            source,
            audience=audience,
            channels=[Channel.IN_APP, Channel.EMAIL, Channel.RSS],
            actor=street_admin,
        )
    expected = {people[k].pk for k in ("a1", "a2", "a_cadre", "b_cadre")}
    in_app = Delivery.objects.filter(push=push, channel=Channel.IN_APP)
    assert set(in_app.values_list("recipient_id", flat=True)) == expected
    assert set(in_app.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert Notification.objects.filter(key=f"learning:push:{push.pk}").count() == 4
    email = Delivery.objects.filter(push=push, channel=Channel.EMAIL)
    assert email.filter(status=DeliveryStatus.SENT).count() == 3  # a2 has no address
    assert email.filter(status=DeliveryStatus.SKIPPED).count() == 1
    assert len(mail.outbox) == 3
    assert Delivery.objects.get(push=push, channel=Channel.RSS).status == DeliveryStatus.SENT
    push.refresh_from_db()
    assert push.recipients == 4

    # re-running sends nothing twice
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_rerun_push(push, actor=street_admin)
    assert Delivery.objects.filter(push=push).count() == 4 + 4 + 1
    assert Notification.objects.filter(key=f"learning:push:{push.pk}").count() == 4
    assert len(mail.outbox) == 3

    # a new 村干部 joining later gets it on the next run, and only they do
    newcomer = learner("new_cadre", tree.branch_b, Post.VILLAGE_CADRE, email="n@example.org")[0]
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_rerun_push(push, actor=street_admin)
    assert Notification.objects.filter(key=f"learning:push:{push.pk}").count() == 5
    assert len(mail.outbox) == 4
    assert mail.outbox[-1].to == [newcomer.email]


def test_the_email_digest_bundles_pending_articles(
    source, street_admin, tree, people, django_capture_on_commit_callbacks
):
    approve(source, street_admin)
    second = actions.do_create_source(
        organization=tree.street, title="第二条动态", body="正文。", actor=street_admin
    )
    approve(second, street_admin)
    from dangqun.learning import tasks

    no_digest = mock.patch.object(tasks, "email_digest", return_value=0)
    with no_digest, django_capture_on_commit_callbacks(execute=True):
        actions.do_create_push(
            source, audience=[{"org": tree.branch_a.pk}], channels=[Channel.EMAIL], actor=street_admin
        )
        actions.do_create_push(
            second, audience=[{"org": tree.branch_a.pk}], channels=[Channel.EMAIL], actor=street_admin
        )
    assert [m.subject for m in mail.outbox] == []
    assert tasks.send_email_digest.call_local() == 4
    assert len(mail.outbox) == 2  # a1 and a_cadre: one mail each with both articles
    assert "（2 篇）" in mail.outbox[0].subject


def test_webhook_is_signed_and_retried_until_delivered(
    source, street_admin, tree, people, settings, django_capture_on_commit_callbacks
):
    settings.LEARNING_WEBHOOK_URL = "https://hooks.example.org/learning"
    settings.LEARNING_WEBHOOK_SECRET = "s3cret"
    approve(source, street_admin)
    calls = []

    class Ok:
        status = 200

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    def fake(request, timeout):
        calls.append(request)
        if len(calls) == 1:
            raise OSError("connection refused")
        return Ok()

    from dangqun.learning import tasks

    with mock.patch("urllib.request.urlopen", side_effect=fake):
        with django_capture_on_commit_callbacks(execute=True):
            push = actions.do_create_push(
                source, audience=[{"org": tree.branch_a.pk}], channels=[Channel.WEBHOOK], actor=street_admin
            )
        d = Delivery.objects.get(push=push, channel=Channel.WEBHOOK)
        assert d.status == DeliveryStatus.PENDING  # first attempt failed; huey retries later
        assert d.attempts == 1
        assert tasks.send_webhook_once(d.pk) is True
        assert tasks.send_webhook_once(d.pk) is True  # already sent: no third call
    assert len(calls) == 2
    body = calls[1].data
    assert calls[1].headers["X-dangqun-signature"] == "sm3=" + sign(body, "s3cret")
    assert json.loads(body)["push"] == push.pk
    d.refresh_from_db()
    assert d.status == DeliveryStatus.SENT


def test_push_audience_is_scoped_and_validated(source, secretary, street_admin, tree):
    approve(source, street_admin)
    with pytest.raises(RuleViolation) as err:
        actions.do_create_push(
            source, audience=[{"org": tree.branch_a.pk}], channels=[Channel.IN_APP], actor=secretary
        )
    assert err.value.code == "forbidden"
    with pytest.raises(RuleViolation) as err:
        actions.do_create_push(
            source,
            audience=[{"org": tree.branch_a.pk, "posts": ["pilot"]}],
            channels=["fax"],
            actor=street_admin,
        )
    codes = {v.code for v in err.value.violations}
    assert {"audience_post", "invalid_channel"} <= codes


def test_rss_and_atom_list_pushed_articles(
    client, source, street_admin, tree, people, django_capture_on_commit_callbacks
):
    approve(source, street_admin)
    with django_capture_on_commit_callbacks(execute=True):
        push = actions.do_create_push(
            source, audience=[{"org": tree.branch_a.pk}], channels=[Channel.RSS], actor=street_admin
        )
    rss = client.get("/learning/feed/rss/")
    assert rss.status_code == 200
    assert source.title in rss.content.decode()
    atom = client.get("/learning/feed/atom/")
    assert b"<feed" in atom.content
    assert client.get(f"/learning/articles/{push.pk}/").status_code == 200


def test_a_private_article_is_for_its_recipients(
    client, source, street_admin, tree, people, outsider, django_capture_on_commit_callbacks
):
    approve(source, street_admin)
    with django_capture_on_commit_callbacks(execute=True):
        push = actions.do_create_push(
            source, audience=[{"org": tree.branch_a.pk}], channels=[Channel.IN_APP], actor=street_admin
        )
    assert client.get(f"/learning/articles/{push.pk}/").status_code == 404
    client.force_login(outsider)
    assert client.get(f"/learning/articles/{push.pk}/").status_code == 404
    client.force_login(people["a1"])
    assert client.get(f"/learning/articles/{push.pk}/").status_code == 200


def test_the_bulletin_is_a_pdf(client, source, street_admin, tree, django_capture_on_commit_callbacks):
    approve(source, street_admin, kinds=list(ProductKind.values))
    with django_capture_on_commit_callbacks(execute=True):
        push = actions.do_create_push(
            source, audience=[{"org": tree.branch_a.pk}], channels=[Channel.RSS], actor=street_admin
        )
    response = client.get(f"/learning/articles/{push.pk}/bulletin.pdf")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")


def test_the_push_api(
    client, source, street_admin, secretary, tree, people, django_capture_on_commit_callbacks
):
    h = auth(street_admin)
    products = client.get(f"/api/v1/learning/sources/{source.pk}", **h).json()["products"]
    for p in products:
        if p["kind"] in ("web", "card", "sms"):
            assert client.post(f"/api/v1/learning/products/{p['id']}/approve", **h).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/learning/sources/{source.pk}/pushes",
            {"audience": [{"org": tree.branch_b.pk, "posts": ["village_cadre"]}], "channels": ["in_app"]},
            content_type="application/json",
            **h,
        )
    assert response.status_code == 201, response.content
    push_id = response.json()["id"]
    data = client.get(f"/api/v1/learning/pushes/{push_id}", **h).json()
    assert data["deliveries"] == {"in_app": {"sent": 1}}
    assert client.get(f"/api/v1/learning/pushes/{push_id}", **auth(secretary)).status_code == 404
    assert client.get(f"/api/v1/learning/sources/{source.pk}", **auth(secretary)).status_code == 404
