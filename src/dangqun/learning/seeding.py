"""Demo learning data on the demo street (after `dangqun seed`): a library of 48 items over every
topic and post, two required items of the street's party committee, learner profiles with posts
for the demo members, some study history, one source with its channel drafts, and the first
batch of recommendations. Idempotent: items are found by title, records by (user, item).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from dangqun.core.audit import audit
from dangqun.core.seeding import seeded_street
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

from . import actions, recommend
from .choices import Kind, Post, Topic
from .evaluation import TOPIC_POSTS
from .models import ContentItem, LearnerProfile, Requirement, Source, StoredRecommendations, StudyRecord
from .tasks import ensure_profiles


class SeedError(Exception):
    pass


class SeedActor:
    """The seeding process itself, audited as "seed_learning"."""

    pk = None
    is_active = True
    is_superuser = True
    is_authenticated = False
    username = full_name = "seed_learning"

    def __str__(self) -> str:
        return "seed_learning"


T = Topic
P = Post
# (title, topic, kind, posts, keywords)
ITEMS: list[tuple[str, str, str, list[str], str]] = [
    ("习近平新时代中国特色社会主义思想学习纲要（导读）", T.THEORY, Kind.COURSE, [], "理论 思想 纲要"),
    ("党的二十大报告精神解读", T.THEORY, Kind.VIDEO, [], "二十大 报告"),
    ("马克思主义中国化时代化的新飞跃", T.THEORY, Kind.ARTICLE, [P.STUDENT, P.CIVIL_SERVANT], "理论 创新"),
    ("青年党员如何学好用好理论", T.THEORY, Kind.ARTICLE, [P.STUDENT], "青年 理论"),
    ("中国共产党章程逐条学", T.CONSTITUTION, Kind.COURSE, [], "党章 逐条"),
    ("党章知识测验", T.CONSTITUTION, Kind.QUIZ, [], "党章 测验"),
    (
        "中国共产党纪律处分条例要点",
        T.CONSTITUTION,
        Kind.ARTICLE,
        [P.CIVIL_SERVANT, P.VILLAGE_CADRE],
        "纪律 处分",
    ),
    ("党员权利保障条例解读", T.CONSTITUTION, Kind.AUDIO, [], "党员 权利"),
    ("从石库门到天安门：党史百年", T.HISTORY, Kind.VIDEO, [P.RETIRED, P.STUDENT], "党史 百年"),
    ("老党员讲党史：红色记忆", T.HISTORY, Kind.AUDIO, [P.RETIRED], "老党员 红色"),
    ("党史中的重要会议", T.HISTORY, Kind.ARTICLE, [P.TEACHER, P.STUDENT], "党史 会议"),
    ("改革开放史专题", T.HISTORY, Kind.ARTICLE, [P.RETIRED], "改革开放"),
    ("惠企政策一本通", T.POLICY, Kind.DOCUMENT, [P.ENTERPRISE], "惠企 政策"),
    ("稳就业政策解读", T.POLICY, Kind.ARTICLE, [P.ENTERPRISE, P.STUDENT], "就业 政策"),
    ("惠农补贴政策问答", T.POLICY, Kind.ARTICLE, [P.FARMER, P.VILLAGE_CADRE], "惠农 补贴"),
    ("养老服务政策解读", T.POLICY, Kind.ARTICLE, [P.RETIRED], "养老 政策"),
    ("乡村振兴战略与村级集体经济", T.RURAL, Kind.COURSE, [P.VILLAGE_CADRE, P.FARMER], "乡村振兴 集体经济"),
    ("高标准农田建设", T.RURAL, Kind.VIDEO, [P.FARMER, P.VILLAGE_CADRE], "农田 土地"),
    ("农村人居环境整治", T.RURAL, Kind.ARTICLE, [P.VILLAGE_CADRE], "人居环境 整治"),
    ("农民专业合作社规范发展", T.RURAL, Kind.ARTICLE, [P.FARMER], "合作社"),
    ("四议两公开工作法实务", T.GOVERNANCE, Kind.COURSE, [P.VILLAGE_CADRE], "四议两公开 村务"),
    ("社区网格化服务管理", T.GOVERNANCE, Kind.ARTICLE, [P.COMMUNITY_WORKER], "网格 社区"),
    ("居民议事协商怎么开", T.GOVERNANCE, Kind.VIDEO, [P.COMMUNITY_WORKER, P.VILLAGE_CADRE], "议事 协商"),
    ("物业管理与社区党建", T.GOVERNANCE, Kind.ARTICLE, [P.COMMUNITY_WORKER], "物业 党建"),
    ("医德医风建设专题", T.HEALTH, Kind.ARTICLE, [P.MEDICAL], "医德 医风"),
    ("基层公共卫生应急处置", T.HEALTH, Kind.VIDEO, [P.MEDICAL], "公共卫生 应急"),
    ("老年人健康管理", T.HEALTH, Kind.ARTICLE, [P.RETIRED, P.MEDICAL], "健康 老年"),
    ("家庭医生签约服务", T.HEALTH, Kind.AUDIO, [P.MEDICAL], "家庭医生"),
    ("新时代师德师风", T.EDUCATION, Kind.COURSE, [P.TEACHER], "师德 教师"),
    ("立德树人与课程思政", T.EDUCATION, Kind.ARTICLE, [P.TEACHER], "课程思政 育人"),
    ("双减背景下的课堂教学", T.EDUCATION, Kind.VIDEO, [P.TEACHER], "双减 课堂"),
    ("大学生党员的责任与担当", T.EDUCATION, Kind.ARTICLE, [P.STUDENT], "大学生 担当"),
    ("非公企业党建工作指引", T.ENTERPRISE, Kind.DOCUMENT, [P.ENTERPRISE], "非公 党建"),
    ("安全生产责任制", T.ENTERPRISE, Kind.VIDEO, [P.ENTERPRISE], "安全生产"),
    ("创新驱动与高质量发展", T.ENTERPRISE, Kind.ARTICLE, [P.ENTERPRISE], "创新 高质量"),
    ("劳模精神与工匠精神", T.ENTERPRISE, Kind.AUDIO, [P.ENTERPRISE], "劳模 工匠"),
    ("民法典与百姓生活", T.LAW, Kind.COURSE, [], "民法典"),
    ("依法行政十讲", T.LAW, Kind.ARTICLE, [P.CIVIL_SERVANT], "依法行政"),
    ("基层矛盾纠纷调解", T.LAW, Kind.VIDEO, [P.COMMUNITY_WORKER, P.VILLAGE_CADRE], "调解 纠纷"),
    ("宪法学习专题", T.LAW, Kind.QUIZ, [], "宪法"),
    ("中央八项规定精神", T.INTEGRITY, Kind.ARTICLE, [P.CIVIL_SERVANT, P.VILLAGE_CADRE], "八项规定 作风"),
    ("廉洁自律准则", T.INTEGRITY, Kind.ARTICLE, [], "廉洁 自律"),
    ("身边的警示教育案例", T.INTEGRITY, Kind.VIDEO, [P.VILLAGE_CADRE, P.CIVIL_SERVANT], "警示 案例"),
    ("小微权力清单", T.INTEGRITY, Kind.ARTICLE, [P.VILLAGE_CADRE], "小微权力"),
    ("我为群众办实事", T.SERVICE, Kind.ARTICLE, [P.COMMUNITY_WORKER], "办实事 群众"),
    ("党员志愿服务指南", T.SERVICE, Kind.ARTICLE, [P.STUDENT, P.RETIRED], "志愿服务"),
    ("一站式便民服务", T.SERVICE, Kind.VIDEO, [P.COMMUNITY_WORKER], "便民 服务"),
    ("接诉即办工作方法", T.SERVICE, Kind.ARTICLE, [P.COMMUNITY_WORKER, P.CIVIL_SERVANT], "接诉即办"),
]
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SOURCE_TITLE = "和平社区第一党支部开展主题党日活动"


def _extras(kind: str, title: str) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    if kind in (Kind.VIDEO, Kind.AUDIO):
        return {"url": "https://example.org/media/demo"}
    if kind == Kind.DOCUMENT:
        return {"document": SimpleUploadedFile(f"{title}.pdf", PDF, content_type="application/pdf")}
    if kind == Kind.COURSE:
        return {"lessons": [{"title": f"第{i}讲", "minutes": 15} for i in range(1, 4)]}
    if kind == Kind.QUIZ:
        return {
            "questions": [
                {"text": "党的根本宗旨是？", "options": ["全心全意为人民服务", "发展经济"], "answer": 0},
                {"text": "预备党员的预备期为？", "options": ["半年", "一年", "两年"], "answer": 1},
            ]
        }
    return {}


def seed_learning(*, seed: int = 2026, log: Callable[[str], None] = lambda _m: None) -> dict[str, int]:
    street = seeded_street()
    if street is None:
        raise SeedError("还没有演示街道：请先运行 dangqun seed。")
    rng = random.Random(seed)
    actor = SeedActor()
    counts = {"items": 0, "records": 0, "profiles": 0, "requirements": 0}
    with transaction.atomic():
        existing = set(ContentItem.objects.filter(organization=street).values_list("title", flat=True))
        now = timezone.now()
        for i, (title, topic, kind, posts, kw) in enumerate(ITEMS):
            if title in existing:
                continue
            actions.do_create_item(
                actor=actor,
                organization=street,
                kind=kind,
                title=title,
                topic=topic,
                posts=posts,
                keywords=kw,
                summary=f"{title}：{kw}。",
                body=f"{title}。\n\n围绕{kw}展开学习。",
                minutes=rng.choice([20, 30, 45]),
                published_at=now - timedelta(days=(i * 7) % 300),
                **_extras(kind, title),
            )
            counts["items"] += 1
        items = {i.title: i for i in ContentItem.objects.filter(organization=street)}
        committee = Organization.objects.filter(
            path__startswith=street.path, kind=OrgKind.PARTY_COMMITTEE
        ).first()
        year = timezone.localdate().year
        if committee is not None:
            for title in ("党的二十大报告精神解读", "中国共产党章程逐条学"):
                _, created = Requirement.objects.get_or_create(
                    organization=committee,
                    item=items[title],
                    year=year,
                    defaults={"due_on": date(year, 12, 31)},
                )
                counts["requirements"] += int(created)
        counts["profiles"] = ensure_profiles(street)
        # Posts for the demo members (they have no occupation on record): a village branch's
        # members are mostly 村干部 and 农民, the others spread over the urban posts.
        urban = [
            P.TEACHER,
            P.MEDICAL,
            P.ENTERPRISE,
            P.CIVIL_SERVANT,
            P.RETIRED,
            P.STUDENT,
            P.COMMUNITY_WORKER,
        ]
        changed = []
        lo, hi = street.subtree_range()
        for prof in (
            LearnerProfile.objects.filter(branch__path__gte=lo, branch__path__lt=hi, post=P.OTHER)
            .select_related("branch", "user")
            .order_by("pk")
        ):
            if prof.user.username == "member":
                prof.post = P.COMMUNITY_WORKER
            elif prof.branch.is_village_or_community and "村" in prof.branch.name:
                prof.post = rng.choice([P.VILLAGE_CADRE, P.VILLAGE_CADRE, P.FARMER])
            else:
                prof.post = rng.choice(urban)
            changed.append(prof)
        LearnerProfile.objects.bulk_update(changed, ["post"], batch_size=1000)
        # Some history: each learner finished 2–6 items, mostly of their post's topics.
        post_topics: dict[str, list[str]] = {}
        for t, posts in TOPIC_POSTS.items():
            for p in posts:
                post_topics.setdefault(p, []).append(t)
        by_topic: dict[str, list[ContentItem]] = {}
        for it in items.values():
            by_topic.setdefault(it.topic, []).append(it)
        have = set(StudyRecord.objects.filter(item__organization=street).values_list("user_id", "item_id"))
        rows = []
        for prof in LearnerProfile.objects.filter(branch__path__gte=lo, branch__path__lt=hi).order_by("pk"):
            if prof.user_id in {u for u, _ in have}:
                continue
            topics = post_topics.get(prof.post, list(Topic.values))
            for _ in range(rng.randint(2, 6)):
                pool = by_topic.get(
                    rng.choice(topics) if rng.random() < 0.8 else rng.choice(Topic.values), []
                )
                if not pool:
                    continue
                it = rng.choice(pool)
                if (prof.user_id, it.pk) in have:
                    continue
                have.add((prof.user_id, it.pk))
                at = now - timedelta(days=rng.randint(1, 80))
                rows.append(
                    StudyRecord(
                        user_id=prof.user_id,
                        item=it,
                        opened_at=at,
                        finished_at=at,
                        seconds_spent=it.minutes * 60,
                        credited_seconds=it.minutes * 60,
                        year=timezone.localdate(at).year,
                    )
                )
        StudyRecord.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
        counts["records"] = len(rows)
        if not Source.objects.filter(organization=street, title=SOURCE_TITLE).exists():
            actions.do_create_source(
                organization=street,
                title=SOURCE_TITLE,
                topic=T.SERVICE,
                actor=actor,
                body="12月5日，和平社区第一党支部组织全体党员开展主题党日活动。\n"
                "党员们重温入党誓词，集中学习党章，并走进小区开展志愿服务，为老年居民义务理发、测量血压。",
            )
        if any(counts.values()):
            audit(actor, "learning.seed", None, **counts)
    report = recommend.run_batch()
    log(
        f"学习教育：新增内容 {counts['items']} 条、必学 {counts['requirements']} 项、"
        f"学员画像 {counts['profiles']} 个、学习记录 {counts['records']} 条；"
        f"已为 {report['learners']} 名党员计算推荐。"
    )
    return counts


def wipe_learning(*, log: Callable[[str], None] = lambda _m: None) -> None:
    street = seeded_street()
    if street is None:
        return
    lo, hi = street.subtree_range()
    with transaction.atomic():
        users = list(
            LearnerProfile.objects.filter(branch__path__gte=lo, branch__path__lt=hi).values_list(
                "user_id", flat=True
            )
        )
        StoredRecommendations.objects.filter(user_id__in=users).delete()
        Source.objects.filter(organization__path__gte=lo, organization__path__lt=hi).delete()
        n = ContentItem.objects.filter(organization__path__gte=lo, organization__path__lt=hi).delete()[0]
        LearnerProfile.objects.filter(user_id__in=users).delete()
        audit(SeedActor(), "learning.wipe", None, deleted=n)
    recommend.reset()
    log(f"已清除演示街道的学习数据（{n} 行）。")
