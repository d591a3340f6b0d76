"""Learning fixtures: a small library built through actions, learners with posts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dangqun.accounts.choices import Role
from dangqun.learning import actions, recommend
from dangqun.learning.choices import Kind, Post, Topic
from dangqun.learning.models import LearnerProfile
from tests.conftest import make_user

# (title, topic, posts, keywords)
LIBRARY = [
    ("乡村振兴战略与村级集体经济发展", Topic.RURAL, [Post.VILLAGE_CADRE, Post.FARMER], "集体经济 村务"),
    ("村务公开与四议两公开工作法", Topic.GOVERNANCE, [Post.VILLAGE_CADRE], "村务 四议两公开"),
    ("高标准农田建设政策解读", Topic.RURAL, [Post.FARMER, Post.VILLAGE_CADRE], "农田 土地"),
    ("农村土地承包经营权确权", Topic.RURAL, [Post.VILLAGE_CADRE], "土地 农村"),
    ("宅基地管理与乡村规划", Topic.RURAL, [Post.VILLAGE_CADRE], "宅基地 乡村"),
    ("新时代师德师风建设", Topic.EDUCATION, [Post.TEACHER], "师德 教师"),
    ("立德树人与课堂思政", Topic.EDUCATION, [Post.TEACHER], "课堂 育人"),
    ("双减政策下的学校教育", Topic.EDUCATION, [Post.TEACHER], "学校 教学"),
    ("医德医风与患者服务", Topic.HEALTH, [Post.MEDICAL], "医德 医院"),
    ("公共卫生应急与防疫", Topic.HEALTH, [Post.MEDICAL], "防疫 公共卫生"),
    ("中国共产党章程导读", Topic.CONSTITUTION, [], "党章"),
    ("党史上的重要会议", Topic.HISTORY, [Post.RETIRED], "党史"),
    ("廉洁自律准则学习", Topic.INTEGRITY, [], "廉洁"),
    ("社区网格化治理实践", Topic.GOVERNANCE, [Post.COMMUNITY_WORKER], "社区 网格"),
]


@pytest.fixture(autouse=True)
def _fresh_index():
    recommend.reset()
    yield
    recommend.reset()


def build_library(actor) -> dict:
    items = {}
    now = timezone.now()
    for i, (title, topic, posts, kw) in enumerate(LIBRARY):
        items[title] = actions.do_create_item(
            actor=actor,
            organization=None,
            kind=Kind.ARTICLE,
            title=title,
            topic=topic,
            posts=posts,
            keywords=kw,
            summary=title,
            body=f"{title}。{kw}。",
            minutes=30,
            published_at=now - timedelta(days=i * 10),
        )
    return items


@pytest.fixture
def library(root_admin):
    return build_library(root_admin)


def learner(username: str, org, post: str, role: str = Role.MEMBER, **fields):
    user = make_user(username, role, org, **fields)
    prof = LearnerProfile.objects.create(
        user=user, branch=org, post=post, is_cadre=role == Role.BRANCH_SECRETARY
    )
    return user, prof


@pytest.fixture
def cadre(tree):
    """A 村干部 of branch A (a village branch)."""
    return learner("cadre_a", tree.branch_a, Post.VILLAGE_CADRE, full_name="刘村干")[0]


@pytest.fixture
def teacher(tree):
    """A teacher of branch B."""
    return learner("teacher_b", tree.branch_b, Post.TEACHER, full_name="孙老师")[0]


def finish(user, item, key: str, seconds: int = 3600):
    """Open then finish with the clock moved on (the accepted time is what has passed)."""
    from dangqun.learning.models import StudyRecord

    actions.do_open_item(item, actor=user)
    StudyRecord.objects.filter(user=user, item=item).update(
        opened_at=timezone.now() - timedelta(seconds=seconds)
    )
    return actions.do_report_progress(item, key=key, seconds=seconds, finished=True, actor=user)
