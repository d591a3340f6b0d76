"""Study records: idempotent progress, time accepted only as it passes, hours credited once and
capped at the item's duration, quizzes pass or not, annual targets 32 / 56 from the rule set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dangqun.accounts.tokens import issue_token
from dangqun.core.errors import RuleViolation
from dangqun.core.models import AuditEvent
from dangqun.learning import actions, queries
from dangqun.learning.choices import Kind, Topic
from dangqun.learning.models import ProgressReport, StudyRecord

from .conftest import finish

pytestmark = pytest.mark.django_db


def auth(user):
    raw, _ = issue_token(user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def back_date(user, item, seconds):
    StudyRecord.objects.filter(user=user, item=item).update(
        opened_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_a_retried_report_counts_once(client, library, cadre):
    item = library["宅基地管理与乡村规划"]
    actions.do_open_item(item, actor=cadre)
    back_date(cadre, item, 900)
    url = f"/api/v1/learning/items/{item.pk}/progress"
    body = {"key": "retry-key-0001", "seconds": 600}
    first = client.post(url, body, content_type="application/json", **auth(cadre)).json()
    again = client.post(url, body, content_type="application/json", **auth(cadre)).json()
    assert first["applied"] is True
    assert again["applied"] is False
    assert again["seconds_spent"] == first["seconds_spent"] == 600
    assert ProgressReport.objects.filter(user=cadre).count() == 1


def test_time_is_accepted_only_as_it_passes(library, cadre):
    item = library["宅基地管理与乡村规划"]
    actions.do_open_item(item, actor=cadre)
    back_date(cadre, item, 100)
    rec, _ = actions.do_report_progress(item, key="fast-forward-1", seconds=3000, actor=cadre)
    assert 100 <= rec.seconds_spent <= 100 + 30 + 2  # elapsed plus the allowed skew


def test_hours_are_credited_once_and_capped_at_the_duration(client, library, cadre):
    item = library["宅基地管理与乡村规划"]  # 30 minutes
    rec, _ = finish(cadre, item, "finish-cap-01", seconds=3600)
    assert rec.credited_seconds == 30 * 60
    progress = queries.my_progress(cadre, timezone.localdate().year)
    assert progress["hours"] == round(1800 / 2700, 1)
    assert progress["target"] == 32
    assert "第二十条" in progress["source"]
    rec2, _applied = actions.do_report_progress(
        item, key="after-finish-1", seconds=0, finished=True, actor=cadre
    )
    assert rec2.credited_seconds == 30 * 60
    assert StudyRecord.objects.get(user=cadre, item=item).year == timezone.localdate().year


def test_secretaries_need_56_hours(secretary, library):
    prof = queries.profile(secretary)
    assert prof.is_cadre
    assert queries.annual_target(prof)[0] == 56


def test_a_quiz_finishes_only_with_a_passing_score(root_admin, member, tree):
    quiz = actions.do_create_item(
        actor=root_admin,
        organization=None,
        kind=Kind.QUIZ,
        title="党章知识测验",
        topic=Topic.CONSTITUTION,
        questions=[
            {
                "text": "党的最高领导机关是？",
                "options": ["党的全国代表大会和它所产生的中央委员会", "国务院"],
                "answer": 0,
            },
            {"text": "预备期为几年？", "options": ["半年", "一年"], "answer": 1},
        ],
    )
    actions.do_open_item(quiz, actor=member)
    back_date(member, quiz, 600)
    rec, _ = actions.do_report_progress(
        quiz, key="quiz-try-0001", seconds=300, finished=True, answers=[1, 0], actor=member
    )
    assert rec.quiz_score == 0
    assert rec.finished_at is None
    rec, _ = actions.do_report_progress(
        quiz, key="quiz-try-0002", seconds=60, finished=True, answers=[0, 1], actor=member
    )
    assert rec.quiz_score == 100
    assert rec.finished_at is not None
    with pytest.raises(RuleViolation) as err:
        actions.do_report_progress(
            quiz, key="quiz-try-0003", seconds=0, finished=True, answers=[0], actor=member
        )
    assert err.value.code == "answers_count"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"key": "short", "seconds": 10}, "invalid_input"),
        ({"key": "valid-key-123", "seconds": 99999}, "invalid_input"),
    ],
)
def test_bad_reports_are_refused(client, library, member, body, code):
    item = library["中国共产党章程导读"]
    response = client.post(
        f"/api/v1/learning/items/{item.pk}/progress", body, content_type="application/json", **auth(member)
    )
    assert response.status_code == 422
    assert response.json()["code"] == code


def test_items_of_another_street_answer_404(client, root_admin, member, tree):
    from dangqun.orgs.actions import do_create_organization
    from dangqun.orgs.choices import OrgKind

    other = do_create_organization(name="别的街道", kind=OrgKind.STREET, parent=None, actor=root_admin)
    foreign = actions.do_create_item(
        actor=root_admin, organization=other, kind=Kind.ARTICLE, title="外街道内容", topic=Topic.POLICY
    )
    response = client.get(f"/api/v1/learning/items/{foreign.pk}", **auth(member))
    assert response.status_code == 404
    response = client.post(
        f"/api/v1/learning/items/{foreign.pk}/progress",
        {"key": "foreign-key-1"},
        content_type="application/json",
        **auth(member),
    )
    assert response.status_code == 404


def test_every_change_is_audited(library, cadre, secretary, tree):
    item = library["宅基地管理与乡村规划"]
    finish(cadre, item, "audit-key-001")
    actions.do_set_topic_hidden(cadre, Topic.HEALTH, True, actor=cadre)
    actions.do_assign_item(
        organization=tree.branch_a,
        item=item,
        due_on=timezone.localdate() + timedelta(days=3),
        actor=secretary,
    )
    actions_seen = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "learning.item_create",
        "learning.open",
        "learning.progress",
        "learning.topic_hidden",
        "learning.assign",
    } <= actions_seen


def test_assignment_rules(library, secretary, outsider, tree):
    item = library["中国共产党章程导读"]
    today = timezone.localdate()
    with pytest.raises(RuleViolation) as err:
        actions.do_assign_item(
            organization=tree.branch_a, item=item, due_on=today - timedelta(days=1), actor=secretary
        )
    assert err.value.code == "due_in_past"
    with pytest.raises(RuleViolation) as err:
        actions.do_assign_item(
            organization=tree.branch_a, item=item, due_on=today + timedelta(days=3), actor=outsider
        )
    assert err.value.code == "forbidden"
    actions.do_assign_item(
        organization=tree.branch_a, item=item, due_on=today + timedelta(days=3), actor=secretary
    )
    with pytest.raises(RuleViolation) as err:
        actions.do_assign_item(
            organization=tree.branch_a, item=item, due_on=today + timedelta(days=5), actor=secretary
        )
    assert err.value.code == "already_assigned"


def test_branch_progress_is_aggregate_only(client, library, cadre, secretary, outsider, tree):
    finish(cadre, library["宅基地管理与乡村规划"], "agg-key-0001")
    response = client.get(f"/api/v1/learning/organizations/{tree.branch_a.pk}/progress", **auth(secretary))
    assert response.status_code == 200
    data = response.json()
    assert data["learners"] >= 1
    assert "刘村干" not in response.content.decode()
    assert data["average_hours"] > 0
    assert (
        client.get(
            f"/api/v1/learning/organizations/{tree.branch_a.pk}/progress", **auth(outsider)
        ).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/learning/organizations/{tree.branch_a.pk}/progress", **auth(cadre)).status_code
        == 404
    )


def test_item_creation_reports_every_broken_rule(root_admin):
    with pytest.raises(RuleViolation) as err:
        actions.do_create_item(
            actor=root_admin, organization=None, kind=Kind.VIDEO, title="", topic="nope", minutes=0
        )
    codes = {v.code for v in err.value.violations}
    assert {"title_required", "invalid_topic", "invalid_minutes", "url_required"} <= codes


def test_pinyin_and_initials_find_items(client, library, cadre):
    h = auth(cadre)
    for q in ("乡村振兴", "xiangcun", "xczx", "师德"):
        titles = [i["title"] for i in client.get(f"/api/v1/learning/items?q={q}", **h).json()]
        assert titles, q
    assert (
        client.get("/api/v1/learning/items?q=xczx", **h).json()[0]["title"]
        == "乡村振兴战略与村级集体经济发展"
    )


def test_an_assignment_notifies_the_learners_after_commit(
    library, cadre, teacher, secretary, tree, django_capture_on_commit_callbacks
):
    from dangqun.core.models import Notification

    with django_capture_on_commit_callbacks(execute=True):
        req = actions.do_assign_item(
            organization=tree.branch_a,
            item=library["中国共产党章程导读"],
            due_on=timezone.localdate() + timedelta(days=9),
            actor=secretary,
        )
    notified = set(
        Notification.objects.filter(key=f"learning:req:{req.pk}").values_list("recipient_id", flat=True)
    )
    assert cadre.pk in notified
    assert teacher.pk not in notified  # branch B
