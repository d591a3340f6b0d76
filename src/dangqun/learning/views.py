"""Learning pages: my learning (recommendations with reasons, required items, hours), an item,
search; the secretary's branch page (assign, aggregate progress); the editor's library and
sources → products → pushes with delivery counts; the article, the printable bulletin and the
RSS/Atom feeds.

Thin views (DESIGN.md): scope with queries (404 outside the user's scope), change through actions,
show each broken rule beside its field. Every form works without JavaScript.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dangqun.core import errors

from . import actions, queries, recommend
from . import rules as R
from .choices import Channel, DeliveryStatus, ItemStatus, Kind, ProductKind, ProductStatus, Topic
from .forms import AssignForm, ItemForm, ProductForm, ProfileForm, PushForm, SourceForm, apply_errors
from .models import ContentItem, Delivery, Product, Push, StudyRecord


def _scoped(fn):
    """Our NotFound / PermissionDenied become 404 / 403 pages."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return fn(request, *args, **kwargs)
        except errors.NotFound:
            raise Http404() from None
        except errors.PermissionDenied:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied() from None

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def _roles(user: Any) -> dict[str, bool]:
    return {
        "learner": queries.is_learner(user),
        "assigner": queries.can_assign(user),
        "editor": queries.can_edit(user),
    }


# ---------------------------------------------------------------------------------------------
# Members


@require_safe
@login_required
@_scoped
def index(request: HttpRequest) -> HttpResponse:
    """My learning: the year's hours, required items first, then recommendations with reasons."""
    roles = _roles(request.user)
    if not roles["learner"]:
        if roles["editor"]:
            return redirect("learning:library")
        raise errors.PermissionDenied()
    data = recommend.recommendations(request.user, 10)
    prof = data["profile"]
    year = timezone.localdate().year
    totals = data["year_totals"] if data["year"] == year else None  # None: past midnight, count again
    progress = queries.my_progress(request.user, year, prof, totals)
    recent = StudyRecord.objects.filter(user=request.user).select_related("item").order_by("-updated_at")[:5]
    return render(
        request,
        "learning/index.html",
        {
            "roles": roles,
            "recs": data["items"],
            "profile": prof,
            "progress": progress,
            "recent": recent,
            "profile_form": ProfileForm(initial={"post": prof.post}),
            "hidden": [(t, Topic(t).label) for t in prof.hidden_topics],
        },
    )


@require_POST
@login_required
@_scoped
def set_profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            actions.do_update_profile(request.user, post=form.cleaned_data["post"], actor=request.user)
            messages.success(request, _("已更新岗位/行业，推荐已随之调整。"))
        except errors.RuleViolation as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("请选择有效的岗位/行业。"))
    return redirect("learning:index")


@require_POST
@login_required
@_scoped
def hide_topic(request: HttpRequest) -> HttpResponse:
    topic = request.POST.get("topic", "")
    hidden = request.POST.get("hidden", "1") == "1"
    try:
        actions.do_set_topic_hidden(request.user, topic, hidden, actor=request.user)
        label = Topic(topic).label
        messages.success(
            request,
            (_("不再推荐“%(t)s”主题。") if hidden else _("已恢复推荐“%(t)s”主题。")) % {"t": label},
        )
    except errors.RuleViolation as exc:
        if isinstance(exc, errors.PermissionDenied):
            raise
        messages.error(request, exc.message)
    return redirect("learning:index")


@require_safe
@login_required
@_scoped
def item(request: HttpRequest, pk: int) -> HttpResponse:
    """An item: its content, lessons or quiz; opening it starts the study record."""
    obj = queries.access_item(request.user, pk)
    record = None
    if queries.is_learner(request.user) and obj.status == "published":
        record = actions.do_open_item(obj, actor=request.user)
    return render(
        request,
        "learning/item.html",
        {
            "item": obj,
            "record": record,
            "credited": R.hours(record.credited_seconds) if record else 0,
            "lessons": obj.lessons.all() if obj.kind == Kind.COURSE else [],
            "questions": obj.questions.all() if obj.kind == Kind.QUIZ else [],
            "key": secrets.token_hex(16),
            "roles": _roles(request.user),
        },
    )


@require_POST
@login_required
@_scoped
def finish(request: HttpRequest, pk: int) -> HttpResponse:
    """Finish an item (a quiz: submit the answers). The time credited is the time that passed
    since the item was opened (rules.accepted_seconds), never more than its duration."""
    obj = queries.access_item(request.user, pk)
    if not queries.is_learner(request.user):
        raise errors.PermissionDenied()
    answers = None
    if obj.kind == Kind.QUIZ:
        answers = []
        for q in obj.questions.all():
            raw = request.POST.get(f"q{q.order}", "")
            answers.append(int(raw) if raw.isdigit() else -1)
    try:
        rec, applied = actions.do_report_progress(
            obj,
            key=request.POST.get("key", ""),
            seconds=R.MAX_REPORT_SECONDS,
            finished=True,
            answers=answers,
            actor=request.user,
        )
    except errors.RuleViolation as exc:
        if isinstance(exc, errors.PermissionDenied):
            raise
        messages.error(request, exc.message)
        return redirect("learning:item", pk=obj.pk)
    if rec.finished_at is None:
        messages.warning(
            request,
            _("测验得分 %(s)s 分，未达到 %(p)s 分，请再试一次。")
            % {"s": rec.quiz_score, "p": obj.pass_percent},
        )
        return redirect("learning:item", pk=obj.pk)
    if applied:
        messages.success(
            request,
            _("已完成《%(t)s》，计入学时 %(h)s。") % {"t": obj.title, "h": R.hours(rec.credited_seconds)},
        )
    return redirect("learning:index")


@require_safe
@login_required
@_scoped
def search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:50]
    topic = request.GET.get("topic", "")
    topic = topic if topic in Topic.values else ""
    roles = _roles(request.user)
    if not (roles["learner"] or roles["editor"]):
        raise errors.PermissionDenied()
    results = recommend.search(request.user, q, topic=topic) if q else []
    return render(
        request,
        "learning/search.html",
        {"q": q, "topic": topic, "topics": Topic.choices, "results": results, "roles": roles},
    )


# ---------------------------------------------------------------------------------------------
# Secretaries


@require_http_methods(["GET", "POST"])
@login_required
@_scoped
def branch(request: HttpRequest) -> HttpResponse:
    """Assign required content; the branch's progress as aggregates (no names, no ranking)."""
    orgs = queries.assignable_orgs(request.user)
    if not orgs.exists():
        raise errors.PermissionDenied()
    org = (
        queries.access_assign_org(request.user, request.GET.get("org"))
        if request.GET.get("org")
        else orgs.first()
    )
    items = ContentItem.objects.filter(
        Q(organization__isnull=True) | Q(organization_id__in=org.ancestor_ids()), status=ItemStatus.PUBLISHED
    )
    form = AssignForm(request.POST or None, organizations=orgs, items=items, initial={"organization": org})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            actions.do_assign_item(
                organization=d["organization"],
                item=items.get(pk=d["item"]),
                due_on=d["due_on"],
                audience=d["audience"],
                actor=request.user,
            )
            messages.success(request, _("已指定必学内容，已通知相关党员。"))
            return redirect(f"{reverse('learning:branch')}?org={d['organization'].pk}")
        except errors.RuleViolation as exc:
            if isinstance(exc, errors.PermissionDenied):
                raise
            apply_errors(form, exc)
    year = timezone.localdate().year
    return render(
        request,
        "learning/branch.html",
        {
            "form": form,
            "org": org,
            "orgs": orgs,
            "stats": queries.branch_progress(org, year),
            "roles": _roles(request.user),
        },
    )


# ---------------------------------------------------------------------------------------------
# Editors


def _editor(request: HttpRequest) -> None:
    if not queries.can_edit(request.user):
        raise errors.PermissionDenied()


@require_http_methods(["GET", "POST"])
@login_required
@_scoped
def library(request: HttpRequest) -> HttpResponse:
    """The library of the editor's scope, and a form to add an item."""
    _editor(request)
    if request.method == "POST" and request.POST.get("form") == "status":
        return _item_status(request)
    orgs = queries.editable_orgs(request.user)
    form = ItemForm(request.POST or None, request.FILES or None, organizations=orgs)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            new = actions.do_create_item(
                actor=request.user,
                organization=d["organization"],
                kind=d["kind"],
                title=d["title"],
                topic=d["topic"],
                summary=d["summary"],
                body=d["body"],
                url=d["url"] or "",
                document=d["document"],
                posts=d["posts"],
                level=d["level"],
                keywords=d["keywords"],
                minutes=d["minutes"],
                lessons=form.parsed_lessons(),
                questions=form.parsed_questions(),
                status=d["status"],
            )
            messages.success(request, _("已添加《%(t)s》。") % {"t": new.title})
            return redirect("learning:library")
        except errors.RuleViolation as exc:
            if isinstance(exc, errors.PermissionDenied):
                raise
            apply_errors(form, exc)
    items = queries.library(request.user).select_related("organization")[:100]
    return render(
        request, "learning/library.html", {"form": form, "items": items, "roles": _roles(request.user)}
    )


def _item_status(request: HttpRequest) -> HttpResponse:
    """Publish or withdraw an item from the library list (hours already earned stay)."""
    obj = queries.access_item(request.user, request.POST.get("item"), for_edit=True)
    try:
        actions.do_set_item_status(obj, request.POST.get("status", ""), actor=request.user)
        messages.success(request, _("《%(t)s》：%(s)s。") % {"t": obj.title, "s": obj.get_status_display()})
    except errors.RuleViolation as exc:
        if isinstance(exc, errors.PermissionDenied):
            raise
        messages.error(request, exc.message)
    return redirect("learning:library")


@require_http_methods(["GET", "POST"])
@login_required
@_scoped
def sources(request: HttpRequest) -> HttpResponse:
    _editor(request)
    orgs = queries.editable_orgs(request.user)
    form = SourceForm(request.POST or None, request.FILES or None, organizations=orgs)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            source = actions.do_create_source(
                organization=d["organization"],
                title=d["title"],
                body=d["body"],
                topic=d["topic"] or "",
                photos=[d["photo"]] if d.get("photo") else [],
                actor=request.user,
            )
            messages.success(request, _("素材已保存，已为每个渠道生成草稿，请逐一编辑并审核。"))
            return redirect("learning:source", pk=source.pk)
        except errors.RuleViolation as exc:
            if isinstance(exc, errors.PermissionDenied):
                raise
            apply_errors(form, exc)
    from .models import Source

    rows = Source.objects.filter(queries.edit_scope(request.user, "organization__")).select_related(
        "organization"
    )[:100]
    return render(
        request, "learning/sources.html", {"form": form, "sources": rows, "roles": _roles(request.user)}
    )


@require_http_methods(["GET", "POST"])
@login_required
@_scoped
def source(request: HttpRequest, pk: int) -> HttpResponse:
    """One source: its products (edit, approve each), its pushes with delivery counts per channel."""
    src = queries.access_source(request.user, pk)
    orgs = queries.editable_orgs(request.user)
    push_form = PushForm(
        request.POST if request.POST.get("form") == "push" else None,
        organizations=orgs,
        initial={"org1": src.organization},
    )
    if request.method == "POST" and request.POST.get("form") == "push" and push_form.is_valid():
        try:
            actions.do_create_push(
                src,
                audience=push_form.segments(),
                channels=push_form.cleaned_data["channels"],
                actor=request.user,
            )
            messages.success(request, _("推送已提交，正在发送。"))
            return redirect("learning:source", pk=src.pk)
        except errors.RuleViolation as exc:
            if isinstance(exc, errors.PermissionDenied):
                raise
            apply_errors(push_form, exc)
    order = {k: i for i, k in enumerate(ProductKind.values)}
    products = sorted(src.products.all(), key=lambda p: order.get(p.kind, 9))
    product_forms = [
        (p, ProductForm(initial={"title": p.title, "body": p.body}, prefix=f"p{p.pk}")) for p in products
    ]
    pushes = list(src.pushes.all())
    counts = queries.delivery_counts([p.pk for p in pushes])
    push_rows = []
    for p in pushes:
        per = counts.get(p.pk, {})
        push_rows.append(
            {
                "push": p,
                "channels": [
                    {
                        "label": Channel(c).label,
                        "sent": per.get(c, {}).get(DeliveryStatus.SENT, 0),
                        "pending": per.get(c, {}).get(DeliveryStatus.PENDING, 0),
                        "failed": per.get(c, {}).get(DeliveryStatus.FAILED, 0),
                        "skipped": per.get(c, {}).get(DeliveryStatus.SKIPPED, 0),
                        "code": c,
                    }
                    for c in p.channels
                ],
                "segments": _segments_text(p, orgs),
            }
        )
    return render(
        request,
        "learning/source.html",
        {
            "source": src,
            "product_forms": product_forms,
            "push_form": push_form,
            "pushes": push_rows,
            "approved": ProductStatus.APPROVED,
            "roles": _roles(request.user),
            "bulletin_ready": any(
                p.kind == ProductKind.BULLETIN and p.status == ProductStatus.APPROVED for p in products
            ),
        },
    )


def _segments_text(push: Push, orgs: Any) -> list[str]:
    from .choices import AgeGroup, Post

    names = {o.pk: o.name for o in orgs}
    out = []
    for seg in push.audience:
        parts = [names.get(seg["org"], f"#{seg['org']}")]
        if seg.get("posts"):
            parts.append("、".join(str(Post(p).label) for p in seg["posts"]))
        if seg.get("ages"):
            parts.append("、".join(str(AgeGroup(a).label) for a in seg["ages"]))
        out.append(" · ".join(parts))
    return out


@require_POST
@login_required
@_scoped
def product(request: HttpRequest, pk: int) -> HttpResponse:
    """Save (and, with approve=1, approve) one product."""
    prod = queries.access_product(request.user, pk)
    form = ProductForm(request.POST, prefix=f"p{prod.pk}")
    try:
        if request.POST.get("action") == "approve":
            actions.do_approve_product(prod, actor=request.user)
            messages.success(request, _("“%(k)s”已审核通过。") % {"k": ProductKind(prod.kind).label})
        elif form.is_valid():
            actions.do_update_product(
                prod, title=form.cleaned_data["title"], body=form.cleaned_data["body"], actor=request.user
            )
            messages.success(request, _("“%(k)s”已保存，待审核。") % {"k": ProductKind(prod.kind).label})
        else:
            messages.error(request, _("请填写标题和内容。"))
    except errors.RuleViolation as exc:
        if isinstance(exc, errors.PermissionDenied):
            raise
        messages.error(request, exc.message)
    return redirect("learning:source", pk=prod.source_id)


@require_POST
@login_required
@_scoped
def rerun(request: HttpRequest, pk: int) -> HttpResponse:
    push = queries.access_push(request.user, pk)
    before = Delivery.objects.filter(push=push).count()
    actions.do_rerun_push(push, actor=request.user)
    added = Delivery.objects.filter(push=push).count() - before
    messages.success(request, _("已重新执行推送：新增 %(n)s 条投递，已送达的不会重复发送。") % {"n": added})
    return redirect("learning:source", pk=push.source_id)


# ---------------------------------------------------------------------------------------------
# The products as people receive them


def _public(push: Push) -> bool:
    return Channel.RSS in push.channels


def _access_article(request: HttpRequest, pk: int) -> Push:
    push = Push.objects.select_related("source__organization").filter(pk=queries.int_pk(pk)).first()
    if push is None:
        raise Http404()
    if _public(push):
        return push
    user = request.user
    if user.is_authenticated and (
        queries.can_edit(user, push.source.organization)
        or Delivery.objects.filter(push=push, recipient=user).exists()
    ):
        return push
    raise Http404()


def _web(push: Push) -> Product:
    web = push.source.products.filter(kind=ProductKind.WEB, status=ProductStatus.APPROVED).first()
    if web is None:
        raise Http404()
    return web


@require_safe
def article(request: HttpRequest, pk: int) -> HttpResponse:
    """The web article of a push: public when it went to the feed, else to its recipients."""
    push = _access_article(request, pk)
    web = _web(push)
    bulletin = push.source.products.filter(kind=ProductKind.BULLETIN, status=ProductStatus.APPROVED).first()
    return render(
        request,
        "learning/article.html",
        {"push": push, "web": web, "bulletin": bulletin, "photos": push.source.photos.all()},
    )


@require_safe
def bulletin(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable bulletin (PDF, WeasyPrint) of a push's source."""
    push = _access_article(request, pk)
    prod = push.source.products.filter(kind=ProductKind.BULLETIN, status=ProductStatus.APPROVED).first()
    if prod is None:
        raise Http404()
    from .pdf import bulletin_pdf

    pdf = bulletin_pdf(prod, push.source.organization)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="bulletin-{push.pk}.pdf"'
    return response


class RssFeed(Feed):
    title = gettext_lazy("党群服务平台 · 学习推送")
    description = gettext_lazy("经审核发布的学习与工作动态")

    def link(self) -> str:
        return reverse("learning:rss")

    def items(self):
        return (
            Push.objects.filter(deliveries__channel=Channel.RSS, deliveries__status=DeliveryStatus.SENT)
            .select_related("source")
            .distinct()
            .order_by("-created_at")[:50]
        )

    def item_title(self, item: Push) -> str:
        web = item.source.products.filter(kind=ProductKind.WEB).first()
        return web.title if web else item.source.title

    def item_description(self, item: Push) -> str:
        card = item.source.products.filter(kind=ProductKind.CARD).first()
        return card.body if card else ""

    def item_link(self, item: Push) -> str:
        return reverse("learning:article", args=[item.pk])

    def item_pubdate(self, item: Push):
        return item.last_run_at or item.created_at


class AtomFeed(RssFeed):
    feed_type = Atom1Feed
    subtitle = RssFeed.description
