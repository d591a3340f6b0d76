"""Every change of the learning app: `do_<verb>_<noun>(..., *, actor)` under transaction.atomic,
checked, audited once, with jobs scheduled after commit (DESIGN.md: how data flows)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dangqun.core.audit import audit
from dangqun.core.errors import PermissionDenied, RuleViolation, Violation, raise_if_any
from dangqun.core.notifications import notify
from dangqun.onestop.search import index_texts
from dangqun.orgs.models import Organization

from . import queries
from . import rules as R
from .choices import (
    CHANNEL_PRODUCT,
    AgeGroup,
    Audience,
    Channel,
    ItemStatus,
    Kind,
    Level,
    Post,
    ProductKind,
    ProductStatus,
    Topic,
)
from .models import (
    ContentItem,
    LearnerProfile,
    Lesson,
    Product,
    ProgressReport,
    Push,
    Question,
    Requirement,
    Source,
    StudyRecord,
)

PDF_MAGIC = b"%PDF-"
MAX_PDF_BYTES = 20 * 1024 * 1024


def _user(actor: Any) -> Any:
    """The actor as a user row, or None for a system actor (a seeder, a job)."""
    return actor if getattr(actor, "_meta", None) is not None and actor.pk else None


def _touch(profile_user_id: int) -> None:
    LearnerProfile.objects.filter(user_id=profile_user_id).update(changed_at=timezone.now())


# ---------------------------------------------------------------------------------------------
# Profiles


def ensure_profile(user: Any) -> LearnerProfile:
    """Create the learner's profile from their party record or grant (no audit: derived data)."""
    from dangqun.accounts.choices import Role

    member = getattr(user, "party_member", None)
    branch = queries.learner_branch(user)
    texts = [member.post, member.occupation, member.dues_category] if member is not None else []
    post = R.guess_post(*texts)
    if member is not None and member.dues_category in ("retired", "student", "farmer") and post == Post.OTHER:
        post = {"retired": Post.RETIRED, "student": Post.STUDENT, "farmer": Post.FARMER}[member.dues_category]
    is_cadre = Role.BRANCH_SECRETARY in user.role_set() or bool(
        member is not None and any(w in (member.post or "") for w in ("书记", "委员"))
    )
    try:
        with transaction.atomic():
            prof, _created = LearnerProfile.objects.get_or_create(
                user=user, defaults={"branch": branch, "post": post, "is_cadre": is_cadre}
            )
    except IntegrityError:  # a concurrent first request created it
        prof = LearnerProfile.objects.get(user=user)
    return prof


@transaction.atomic
def do_update_profile(user: Any, *, post: str, actor: Any) -> LearnerProfile:
    """A learner states their post or industry (what the cold start relies on)."""
    if post not in Post.values:
        raise RuleViolation("invalid_post", _("请选择有效的岗位/行业。"), field="post")
    prof = queries.profile(user)
    if actor.pk != user.pk:
        raise PermissionDenied()
    prof.post, prof.changed_at = post, timezone.now()
    prof.save(update_fields=["post", "changed_at"])
    audit(actor, "learning.profile", prof, post=post)
    return prof


@transaction.atomic
def do_set_topic_hidden(user: Any, topic: str, hidden: bool, *, actor: Any) -> LearnerProfile:
    """A learner hides a topic from their recommendations (or shows it again)."""
    if topic not in Topic.values:
        raise RuleViolation("invalid_topic", _("没有这个主题。"), field="topic")
    if actor.pk != user.pk:
        raise PermissionDenied()
    prof = queries.profile(user)
    topics = [t for t in prof.hidden_topics if t != topic] + ([topic] if hidden else [])
    prof.hidden_topics, prof.changed_at = sorted(topics), timezone.now()
    prof.save(update_fields=["hidden_topics", "changed_at"])
    audit(actor, "learning.topic_hidden" if hidden else "learning.topic_shown", prof, topic=topic)
    return prof


# ---------------------------------------------------------------------------------------------
# The library


def _check_item(
    *,
    kind: str,
    title: str,
    topic: str,
    posts: Sequence[str],
    level: str,
    minutes: int,
    url: str,
    document: Any,
    lessons: Sequence[dict],
    questions: Sequence[dict],
    pass_percent: int,
    summary: str,
) -> None:
    v: list[Violation | None] = []
    if kind not in Kind.values:
        v.append(Violation("invalid_kind", _("请选择内容类型。"), field="kind"))
    if not title.strip():
        v.append(Violation("title_required", _("请填写标题。"), field="title"))
    elif len(title) > 200:
        v.append(Violation("title_too_long", _("标题最多 200 字。"), field="title"))
    if len(summary) > 500:
        v.append(Violation("summary_too_long", _("摘要最多 500 字。"), field="summary"))
    if topic not in Topic.values:
        v.append(Violation("invalid_topic", _("请选择主题。"), field="topic"))
    bad_posts = [p for p in posts if p not in Post.values]
    if bad_posts:
        v.append(
            Violation("invalid_post", _("适用岗位无效：%(p)s。") % {"p": "、".join(bad_posts)}, field="posts")
        )
    if level not in Level.values:
        v.append(Violation("invalid_level", _("请选择难度。"), field="level"))
    if not 1 <= minutes <= 600:
        v.append(Violation("invalid_minutes", _("学习时长须在 1 至 600 分钟之间。"), field="minutes"))
    if not 1 <= pass_percent <= 100:
        v.append(Violation("invalid_pass", _("及格分须在 1 至 100 之间。"), field="pass_percent"))
    if kind in (Kind.VIDEO, Kind.AUDIO) and not url.startswith(("https://", "http://")):
        v.append(Violation("url_required", _("音视频内容须填写以 http(s):// 开头的链接。"), field="url"))
    if kind == Kind.DOCUMENT:
        if document is None:
            v.append(Violation("document_required", _("文件类内容须上传 PDF 文件。"), field="document"))
        else:
            head = document.read(5)
            document.seek(0)
            if head != PDF_MAGIC or document.size > MAX_PDF_BYTES:
                v.append(Violation("document_invalid", _("请上传 20 MB 以内的 PDF 文件。"), field="document"))
    if kind == Kind.COURSE and not lessons:
        v.append(Violation("lessons_required", _("课程至少要有一节课。"), field="lessons"))
    for i, lesson in enumerate(lessons, 1):
        if not str(lesson.get("title", "")).strip():
            v.append(Violation("lesson_title", _("第 %(n)s 节课缺少标题。") % {"n": i}, field="lessons"))
    if kind == Kind.QUIZ and not questions:
        v.append(Violation("questions_required", _("测验至少要有一道题。"), field="questions"))
    for i, q in enumerate(questions, 1):
        options = q.get("options") or []
        if not str(q.get("text", "")).strip() or len(options) < 2:
            v.append(
                Violation(
                    "question_invalid", _("第 %(n)s 题须有题目和至少两个选项。") % {"n": i}, field="questions"
                )
            )
        elif not isinstance(q.get("answer"), int) or not 0 <= q["answer"] < len(options):
            v.append(
                Violation(
                    "answer_invalid", _("第 %(n)s 题的正确选项不在选项之中。") % {"n": i}, field="questions"
                )
            )
    raise_if_any(v)


def _index(item: ContentItem) -> None:
    extras = [item.summary, item.body[:4000], Topic(item.topic).label, Kind(item.kind).label]
    extras += [str(Post(p).label) for p in item.posts]
    item.search_name, item.search_text = index_texts(item.title, item.keywords, [str(e) for e in extras])


@transaction.atomic
def do_create_item(
    *,
    actor: Any,
    organization: Organization | None,
    kind: str,
    title: str,
    topic: str,
    summary: str = "",
    body: str = "",
    url: str = "",
    document: Any = None,
    posts: Sequence[str] = (),
    level: str = Level.BASIC,
    keywords: str = "",
    minutes: int = 20,
    pass_percent: int = 60,
    lessons: Sequence[dict] = (),
    questions: Sequence[dict] = (),
    status: str = ItemStatus.PUBLISHED,
    published_at: Any = None,
) -> ContentItem:
    """Add an item to the library of `organization` (None: national, superusers only)."""
    if organization is None:
        if not getattr(actor, "is_superuser", False):
            raise PermissionDenied()
    elif not queries.can_edit(actor, organization):
        raise PermissionDenied()
    title, summary, keywords = title.strip(), summary.strip(), keywords.strip()[:200]
    posts = list(dict.fromkeys(posts))
    _check_item(
        kind=kind,
        title=title,
        topic=topic,
        posts=posts,
        level=level,
        minutes=minutes,
        url=url,
        document=document,
        lessons=lessons,
        questions=questions,
        pass_percent=pass_percent,
        summary=summary,
    )
    if kind == Kind.COURSE:
        minutes = max(minutes, sum(int(lsn.get("minutes") or 10) for lsn in lessons))
    item = ContentItem(
        kind=kind,
        title=title,
        summary=summary,
        body=body,
        url=url,
        topic=topic,
        posts=posts,
        level=level,
        keywords=keywords,
        minutes=minutes,
        pass_percent=pass_percent,
        organization=organization,
        status=status if status in ItemStatus.values else ItemStatus.DRAFT,
        created_by=_user(actor),
        published_at=published_at or timezone.now(),
    )
    if document is not None:
        item.document = document
    _index(item)
    item.save()
    Lesson.objects.bulk_create(
        Lesson(
            course=item,
            order=i,
            title=str(lsn["title"]).strip()[:200],
            body=lsn.get("body", ""),
            url=lsn.get("url", ""),
            minutes=int(lsn.get("minutes") or 10),
        )
        for i, lsn in enumerate(lessons, 1)
    )
    Question.objects.bulk_create(
        Question(
            quiz=item,
            order=i,
            text=str(q["text"]).strip()[:300],
            options=list(q["options"]),
            answer=q["answer"],
        )
        for i, q in enumerate(questions, 1)
    )
    audit(actor, "learning.item_create", item, kind=kind, title=title, topic=topic)
    _content_changed()
    return item


@transaction.atomic
def do_set_item_status(item: ContentItem, status: str, *, actor: Any) -> ContentItem:
    """Publish, withdraw or return an item to draft. Records and hours already earned stay."""
    if status not in ItemStatus.values:
        raise RuleViolation("invalid_status", _("状态无效。"), field="status")
    if not (queries.can_edit(actor, item.organization) if item.organization else actor.is_superuser):
        raise PermissionDenied()
    item.status = status
    item.save(update_fields=["status", "updated_at"])
    audit(actor, "learning.item_status", item, status=status)
    _content_changed()
    return item


def _content_changed() -> None:
    from .recommend import content_changed

    content_changed()


# ---------------------------------------------------------------------------------------------
# Requirements


@transaction.atomic
def do_assign_item(
    *, organization: Organization, item: ContentItem, due_on: date, audience: str = Audience.ALL, actor: Any
) -> Requirement:
    """An organization requires its learners (the subtree) to finish an item by a date."""
    if not queries.can_assign(actor, organization):
        raise PermissionDenied()
    v = [R.due_violation(due_on, timezone.localdate())]
    if audience not in Audience.values:
        v.append(Violation("invalid_audience", _("请选择对象。"), field="audience"))
    if item.status != ItemStatus.PUBLISHED:
        v.append(Violation("item_not_published", _("只能指定已发布的内容。"), field="item"))
    elif item.organization_id and item.organization_id not in organization.ancestor_ids():
        v.append(Violation("item_out_of_scope", _("该内容不在本组织的学习范围内。"), field="item"))
    raise_if_any(v)
    if Requirement.objects.filter(organization=organization, item=item, year=due_on.year).exists():
        raise RuleViolation("already_assigned", _("本年度已指定过这项必学内容。"), field="item")
    req = Requirement.objects.create(
        organization=organization,
        item=item,
        audience=audience,
        year=due_on.year,
        due_on=due_on,
        assigned_by=_user(actor),
    )
    audit(actor, "learning.assign", req, organization=organization.pk, item=item.pk, due_on=due_on)
    learners = list(queries.learners_of(organization).values_list("user_id", flat=True))
    _touch_many(learners)
    transaction.on_commit(lambda: _notify_requirement(req.pk))
    return req


def _touch_many(user_ids: list[int]) -> None:
    now = timezone.now()
    for i in range(0, len(user_ids), 2000):
        LearnerProfile.objects.filter(user_id__in=user_ids[i : i + 2000]).update(changed_at=now)


def _notify_requirement(req_id: int) -> None:
    from django.urls import reverse

    req = Requirement.objects.select_related("item", "organization").filter(pk=req_id).first()
    if req is None:
        return
    users = queries.learners_of(req.organization)
    if req.audience == Audience.CADRES:
        users = users.filter(is_cadre=True)
    ids = list(users.values_list("user_id", flat=True))
    title = _("必学：《%(t)s》") % {"t": req.item.title}
    body = _("%(org)s要求 %(d)s 前完成。") % {"org": req.organization.name, "d": req.due_on}
    url = reverse("learning:item", args=[req.item_id])
    for i in range(0, len(ids), 5000):  # a street has 100,000 learners: stay under SQL parameter limits
        notify(ids[i : i + 5000], f"learning:req:{req.pk}", title, body, url)


# ---------------------------------------------------------------------------------------------
# Study records


@transaction.atomic
def do_open_item(item: ContentItem, *, actor: Any) -> StudyRecord:
    """The learner opens an item: the record starts (opening again changes nothing)."""
    queries.profile(actor)
    rec, created = StudyRecord.objects.get_or_create(
        user=actor, item=item, defaults={"opened_at": timezone.now()}
    )
    if created:
        audit(actor, "learning.open", rec, item=item.pk)
    return rec


@transaction.atomic
def do_report_progress(
    item: ContentItem,
    *,
    key: str,
    seconds: int,
    finished: bool = False,
    answers: Sequence[int] | None = None,
    actor: Any,
) -> tuple[StudyRecord, bool]:
    """Add study time (and possibly finish) under an idempotency key: a retried report with the
    same key changes nothing and answers the record as it is (False: not applied again).

    Time is accepted up to what has passed since the previous report (rules.accepted_seconds);
    a quiz is finished only with a passing score; a finished item credits its hours once.
    """
    v: list[Violation | None] = []
    key = (key or "").strip()
    if not 8 <= len(key) <= 64:
        v.append(Violation("invalid_key", _("请求标识须为 8 至 64 个字符。"), field="key"))
    if not 0 <= seconds <= R.MAX_REPORT_SECONDS:
        v.append(Violation("invalid_seconds", _("学习时长须在 0 至 3600 秒之间。"), field="seconds"))
    if item.kind == Kind.QUIZ and finished and answers is None:
        v.append(Violation("answers_required", _("请作答后再提交测验。"), field="answers"))
    raise_if_any(v)
    queries.profile(actor)
    rec = StudyRecord.objects.select_for_update().filter(user=actor, item=item).first()
    now = timezone.now()
    if rec is None:
        rec = StudyRecord.objects.create(user=actor, item=item, opened_at=now)
    if ProgressReport.objects.filter(user=actor, key=key).exists():
        return rec, False
    last = ProgressReport.objects.filter(record=rec).order_by("-at").values_list("at", flat=True).first()
    accepted = R.accepted_seconds(seconds, last or rec.opened_at, now)
    ProgressReport.objects.create(user=actor, key=key, record=rec, seconds=accepted)
    rec.seconds_spent += accepted
    fields = ["seconds_spent", "updated_at"]
    score = None
    if item.kind == Kind.QUIZ and answers is not None:
        keys = list(item.questions.order_by("order").values_list("answer", flat=True))
        if len(answers) != len(keys):
            raise RuleViolation(
                "answers_count", _("请回答全部 %(n)s 道题。") % {"n": len(keys)}, field="answers"
            )
        score = R.quiz_score(list(answers), keys)
        rec.quiz_score = max(score, rec.quiz_score or 0)
        fields.append("quiz_score")
        if score < item.pass_percent:
            finished = False
    if finished and rec.finished_at is None:
        rec.finished_at = now
        rec.year = timezone.localdate(now).year
        fields += ["finished_at", "year"]
    if rec.finished_at is not None:
        credited = R.credited_seconds(rec.seconds_spent, item.minutes)
        if credited != rec.credited_seconds:
            rec.credited_seconds = credited
            fields.append("credited_seconds")
    rec.save(update_fields=fields)
    _touch(actor.pk)
    audit(
        actor,
        "learning.progress",
        rec,
        item=item.pk,
        seconds=accepted,
        finished=rec.finished_at is not None,
        score=score,
    )
    return rec, True


# ---------------------------------------------------------------------------------------------
# One source, many channels


def _drafts(title: str, body: str) -> dict[str, tuple[str, str]]:
    plain = " ".join(body.split())
    return {
        ProductKind.WEB: (title, body),
        ProductKind.CARD: (title[:60], plain[: R.CARD_MAX - 1] + ("…" if len(plain) >= R.CARD_MAX else "")),
        ProductKind.SMS: (
            title[:60],
            (f"【{title}】{plain}")[: R.SMS_MAX - 1] + "…"
            if len(f"【{title}】{plain}") > R.SMS_MAX
            else f"【{title}】{plain}",
        ),
        ProductKind.BULLETIN: (title, body),
    }


@transaction.atomic
def do_create_source(
    *,
    organization: Organization,
    title: str,
    body: str,
    topic: str = "",
    photos: Sequence[Any] = (),
    actor: Any,
) -> Source:
    """Collect a source once; a draft product for every channel is made from it for editing."""
    if not queries.can_edit(actor, organization):
        raise PermissionDenied()
    title, body = title.strip(), body.strip()
    v: list[Violation | None] = []
    if not title or len(title) > 200:
        v.append(Violation("title_required", _("请填写标题（最多 200 字）。"), field="title"))
    if not body:
        v.append(Violation("body_required", _("请填写素材正文。"), field="body"))
    if topic and topic not in Topic.values:
        v.append(Violation("invalid_topic", _("请选择主题。"), field="topic"))
    for photo in photos:
        if (
            not (getattr(photo, "content_type", "") or "").startswith("image/")
            or photo.size > 10 * 1024 * 1024
        ):
            v.append(Violation("photo_invalid", _("照片须为 10 MB 以内的图片。"), field="photos"))
            break
    raise_if_any(v)
    source = Source.objects.create(
        organization=organization, title=title, body=body, topic=topic, created_by=_user(actor)
    )
    for photo in photos:
        source.photos.create(image=photo)
    Product.objects.bulk_create(
        Product(source=source, kind=kind, title=t, body=b) for kind, (t, b) in _drafts(title, body).items()
    )
    audit(actor, "learning.source_create", source, title=title, organization=organization.pk)
    return source


@transaction.atomic
def do_update_product(product: Product, *, title: str, body: str, actor: Any) -> Product:
    """Edit one product; an approved product goes back to review."""
    if not queries.can_edit(actor, product.source.organization):
        raise PermissionDenied()
    title, body = title.strip(), body.strip()
    v: list[Violation | None] = []
    if not title or len(title) > 200:
        v.append(Violation("title_required", _("请填写标题（最多 200 字）。"), field="title"))
    if not body:
        v.append(Violation("body_required", _("请填写内容。"), field="body"))
    limit = {ProductKind.SMS: R.SMS_MAX, ProductKind.CARD: R.CARD_MAX}.get(product.kind)
    if limit and len(body) > limit:
        v.append(
            Violation(
                "body_too_long",
                _("%(kind)s最多 %(n)s 字，现在 %(m)s 字。")
                % {"kind": ProductKind(product.kind).label, "n": limit, "m": len(body)},
                field="body",
            )
        )
    raise_if_any(v)
    product.title, product.body = title, body
    product.status, product.approved_by, product.approved_at = ProductStatus.DRAFT, None, None
    product.save(update_fields=["title", "body", "status", "approved_by", "approved_at", "updated_at"])
    audit(actor, "learning.product_edit", product, kind=product.kind)
    return product


@transaction.atomic
def do_approve_product(product: Product, *, actor: Any) -> Product:
    """Approve one product for its channels (审核)."""
    if not queries.can_edit(actor, product.source.organization):
        raise PermissionDenied()
    if product.status == ProductStatus.APPROVED:
        raise RuleViolation("already_approved", _("该产品已审核通过。"))
    limit = {ProductKind.SMS: R.SMS_MAX, ProductKind.CARD: R.CARD_MAX}.get(product.kind)
    if limit and len(product.body) > limit:
        raise RuleViolation("body_too_long", _("内容超过 %(n)s 字，请先修改。") % {"n": limit})
    product.status, product.approved_by, product.approved_at = (
        ProductStatus.APPROVED,
        _user(actor),
        timezone.now(),
    )
    product.save(update_fields=["status", "approved_by", "approved_at"])
    audit(actor, "learning.product_approve", product, kind=product.kind)
    return product


def _check_segments(audience: Sequence[dict], actor: Any) -> tuple[list[dict], list[Violation]]:
    v: list[Violation] = []
    clean: list[dict] = []
    if not audience:
        v.append(Violation("audience_required", _("请至少选择一个推送对象。"), field="audience"))
    if len(audience) > R.MAX_SEGMENTS:
        v.append(Violation("audience_too_many", _("推送对象最多 10 组。"), field="audience"))
    orgs = {
        o.pk: o
        for o in queries.editable_orgs(actor).filter(
            pk__in=[s.get("org") for s in audience if isinstance(s.get("org"), int)]
        )
    }
    for i, seg in enumerate(audience[: R.MAX_SEGMENTS], 1):
        org = orgs.get(seg.get("org")) if isinstance(seg.get("org"), int) else None
        posts = list(dict.fromkeys(seg.get("posts") or []))
        ages = list(dict.fromkeys(seg.get("ages") or []))
        if org is None:
            v.append(
                Violation(
                    "audience_org",
                    _("第 %(n)s 组推送对象的组织无效或不在您的管理范围内。") % {"n": i},
                    field="audience",
                )
            )
        if any(p not in Post.values for p in posts):
            v.append(
                Violation("audience_post", _("第 %(n)s 组推送对象的岗位无效。") % {"n": i}, field="audience")
            )
        if any(a not in AgeGroup.values for a in ages):
            v.append(
                Violation("audience_age", _("第 %(n)s 组推送对象的年龄段无效。") % {"n": i}, field="audience")
            )
        if org is not None:
            clean.append({"org": org.pk, "posts": posts, "ages": ages})
    return clean, v


@transaction.atomic
def do_create_push(
    source: Source, *, audience: Sequence[dict], channels: Sequence[str], topic: str = "", actor: Any
) -> Push:
    """Push a source's approved products to audiences over channels; sent after commit."""
    from .tasks import webhook_url

    if not queries.can_edit(actor, source.organization):
        raise PermissionDenied()
    channels = list(dict.fromkeys(channels))
    segments, v = _check_segments(list(audience), actor)
    if not channels:
        v.append(Violation("channels_required", _("请至少选择一个渠道。"), field="channels"))
    bad = [c for c in channels if c not in Channel.values]
    if bad:
        v.append(
            Violation("invalid_channel", _("渠道无效：%(c)s。") % {"c": "、".join(bad)}, field="channels")
        )
    approved = set(source.products.filter(status=ProductStatus.APPROVED).values_list("kind", flat=True))
    for ch in channels:
        if ch in CHANNEL_PRODUCT and CHANNEL_PRODUCT[ch] not in approved:
            v.append(
                Violation(
                    "product_not_approved",
                    _("“%(ch)s”需要已审核的%(p)s。")
                    % {"ch": Channel(ch).label, "p": ProductKind(CHANNEL_PRODUCT[ch]).label},
                    field="channels",
                )
            )
    if Channel.IN_APP in channels and ProductKind.SMS not in approved:
        v.append(Violation("product_not_approved", _("“站内消息”需要已审核的短消息摘要。"), field="channels"))
    if Channel.WEBHOOK in channels and not webhook_url():
        v.append(
            Violation(
                "webhook_unset", _("未配置外部应用回调地址（LEARNING_WEBHOOK_URL）。"), field="channels"
            )
        )
    if topic and topic not in Topic.values:
        v.append(Violation("invalid_topic", _("请选择主题。"), field="topic"))
    raise_if_any(v)
    push = Push.objects.create(
        source=source,
        audience=segments,
        channels=channels,
        topic=topic or source.topic,
        created_by=_user(actor),
    )
    audit(actor, "learning.push", push, source=source.pk, audience=segments, channels=channels)
    _schedule(push.pk)
    return push


@transaction.atomic
def do_rerun_push(push: Push, *, actor: Any) -> Push:
    """Run a push again: recipients who joined since get it; nobody gets anything twice."""
    if not queries.can_edit(actor, push.source.organization):
        raise PermissionDenied()
    audit(actor, "learning.push_rerun", push)
    _schedule(push.pk)
    return push


def _schedule(push_id: int) -> None:
    from .tasks import run_push

    transaction.on_commit(lambda: run_push(push_id))
