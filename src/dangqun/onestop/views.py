"""One-stop service pages: catalog and guides, applying, my applications, tracking, the staff queue.

Thin views (DESIGN.md): scope with queries.access_* (404 outside the user's reach), read
through queries, change through actions; a broken rule is shown beside its field.
Everything works without JavaScript; htmx only adds the draft autosave.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dangqun.accounts.models import User
from dangqun.core import crypto
from dangqun.core.errors import NotFound, RuleViolation
from dangqun.core.permissions import grants_for, has_perm, scope_filter
from dangqun.core.rulesets import ruleset_for
from dangqun.core.validators import mask_id_number
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

from . import actions, queries, search, throttle
from . import rules as R
from .api import search_page, track_out
from .choices import OPEN_STATES, Due, ItemStatus, Outcome, State, TaskState
from .forms import STOP_CHOICES, AssistForm, SearchForm, TrackForm, application_form
from .models import Application, ApplicationMaterial, Material, ReviewTask, ServiceItem
from .schemas import SearchFilters

MAX_UPLOAD = 20 * 1024 * 1024


def _found(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except NotFound:
        raise Http404 from None


def _errors(exc: RuleViolation) -> tuple[dict[str, list[str]], list[str]]:
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for v in exc.violations:
        if v.field:
            by_field.setdefault(v.field, []).append(str(v.message))
        else:
            general.append(str(v.message))
    return by_field, general


# --- catalog -----------------------------------------------------------------------------------


def _departments() -> list[tuple[int, str]]:
    ids = (
        ServiceItem.objects.filter(status=ItemStatus.ACTIVE)
        .values_list("department_id", flat=True)
        .distinct()
    )
    return [
        (o.pk, o.short_name or o.name)
        for o in Organization.objects.filter(pk__in=list(ids))
        .order_by("path")
        .only("pk", "name", "short_name")
    ]


@require_safe
def catalog(request: HttpRequest) -> HttpResponse:
    """事项检索: words, pinyin or initials; filters by department, life event and channel."""
    form = SearchForm(request.GET or None, departments=_departments())
    filters = SearchFilters()
    if form.is_valid():
        cd = form.cleaned_data
        filters = SearchFilters(
            q=cd["q"] or "",
            department=cd["department"],
            life_event=cd["life_event"] or None,
            channel=cd["channel"] or None,
            page=_page(request),
        )
    result = search_page(filters)
    pages = max(1, (result["count"] + filters.page_size - 1) // filters.page_size)
    return render(
        request,
        "onestop/catalog.html",
        {
            "form": form,
            "result": result,
            "query": filters.q,
            "page": filters.page,
            "pages": pages,
            "querystring": request.GET.copy().urlencode() if request.GET else "",
            "prev_url": _page_url(request, filters.page - 1) if filters.page > 1 else "",
            "next_url": _page_url(request, filters.page + 1) if filters.page < pages else "",
        },
    )


def _page(request: HttpRequest) -> int:
    try:
        return max(1, min(1000, int(request.GET.get("page", "1"))))
    except ValueError:
        return 1


def _page_url(request: HttpRequest, page: int) -> str:
    params = request.GET.copy()
    params["page"] = str(page)
    return "?" + params.urlencode()


@require_safe
def guide(request: HttpRequest, code: str) -> HttpResponse:
    """办事指南: everything an applicant needs before coming (or applying online).

    The facts and the materials are the same for every visitor of an item in one language: their
    rendered text is shared through the cache until the catalog changes or the item's version,
    update time or department name differ (search.cached_fragment), which saves the materials
    query and most of the rendering. The rest of the page (the apply button and its CSRF token,
    the header) is rendered for each request.
    """
    item = _found(queries.access_guide_item, code)
    language = get_language() or ""
    stamp = (item.pk, item.version, item.updated_at, item.department_id, item.department.name)

    def facts() -> str:
        full, materials = queries.guide_item(item.pk)
        return render_to_string("onestop/partials/guide_facts.html", {"item": full, "materials": materials})

    return render(
        request,
        "onestop/guide.html",
        {
            "item": item,
            "facts": mark_safe(search.cached_fragment(f"guide:{item.code}:{language}", stamp, facts)),  # noqa: S308 — our own template's output
            "can_apply": item.status == ItemStatus.ACTIVE and has_perm(request.user, "onestop.apply"),
        },
    )


# --- applying ----------------------------------------------------------------------------------


@login_required
@require_POST
def apply(request: HttpRequest, code: str) -> HttpResponse:
    item = _found(queries.access_item, code)
    if not has_perm(request.user, "onestop.apply"):
        raise PermissionDenied
    try:
        app = actions.do_start_application(item, actor=request.user)
    except RuleViolation as exc:
        messages.error(request, exc.message)
        return redirect("onestop:guide", code=item.code)
    return redirect("onestop:application", pk=app.pk)


def _material_rows(app: Application, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    have = {row.material_id: row for row in ApplicationMaterial.objects.filter(application=app)}
    # A draft holding shared data whose consent was withdrawn cannot be submitted with it: the
    # checkbox is offered again. A submitted case is not undone by a withdrawal (第十五条).
    check = app.state == State.DRAFT and any(r.from_shared for r in have.values())
    given = queries.shared_consents(app) if check else set()
    rows = []
    for m in app.item.materials.all():
        row = have.get(m.pk)
        shared_ok = bool(m.shared) and queries.shared_available(app.applicant, m.shared)
        withdrawn = check and row is not None and row.from_shared and m.shared not in given
        rows.append(
            {
                "material": m,
                "row": row,
                "shared_ok": shared_ok,
                "offer_shared": shared_ok and (row is None or not row.from_shared or withdrawn),
                "consent_withdrawn": withdrawn,
                "errors": errors.get(f"material-{m.pk}", []),
            }
        )
    return rows


def _render_application(
    request: HttpRequest,
    app: Application,
    *,
    status: int = 200,
    field_errors: dict[str, list[str]] | None = None,
    general: list[str] | None = None,
    form_data: Any = None,
) -> HttpResponse:
    user = request.user
    applicant_side = queries.is_applicant_side(user, app)
    staff = app.state != State.DRAFT and queries.can_handle(user, app)
    today = timezone.localdate()
    schema = app.item.form_schema
    form = application_form(schema, data=form_data, initial=dict(app.form_data.items()))
    field_errors = field_errors or {}
    for name, errs in field_errors.items():
        if name in form.fields:
            form.errors.setdefault(name, form.error_class()).extend(errs)
    context: dict[str, Any] = {
        "app": app,
        "item": app.item,
        "form": form,
        "editable": applicant_side and app.state in (State.DRAFT, State.CORRECTING),
        "applicant_side": applicant_side,
        "materials": _material_rows(app, field_errors),
        "field_errors": field_errors,
        "general": general or [],
        "events": list(app.events.select_related(None).order_by("at", "id"))
        if (staff or applicant_side)
        else [],
        "notice": app.notices.order_by("-id").first(),
        "stops": list(app.clock_stops.all()),
        "extensions": list(app.extensions.all()),
        "staff": staff,
        "can_decide": staff and queries.can_decide(user, app),
        "tasks": list(app.tasks.select_related("org", "actor")),
        "my_tasks": [
            t
            for t in app.tasks.select_related("org")
            if t.state == TaskState.PENDING and has_perm(user, "onestop.handle", t.org)
        ]
        if staff
        else [],
        "missing": list(actions._missing_materials(app, include_deficient=True)) if app.pk else [],
        "outcomes": Outcome.choices,
        "stop_reasons": STOP_CHOICES,
        "today": today,
        # Shown masked to everyone, the applicant too: a screen may be seen by others.
        "masked_form_id": mask_id_number((app.form_data or {}).get("id_number") or ""),
        "certificate": None,
    }
    if staff and app.state == State.SUBMITTED and context["missing"]:
        # 容缺受理: the consequence to state, prefilled from the rule set (staff may reword it).
        rules = ruleset_for(app.department, today, prefix="onestop.")
        context["deficiency_default"] = R.deficiency_missed_outcome(rules).text
    if app.deficiency_overdue:
        # 容缺逾期: the decision form offers the outcome stated at acceptance; a person decides.
        context["decide_outcome"] = app.deficiency_outcome
        context["decide_reasons"] = app.deficiency_consequence
    cert = queries.application_certificate(app) if app.outcome == Outcome.APPROVED else None
    if cert is not None:
        context["certificate"] = cert
        context["certificate_verify_url"] = reverse("certs:verify", args=[cert.identifier])
    if app.due_date and app.is_open:
        warning = ruleset_for(None, today, prefix="onestop.")["onestop.countdown_warning_working_days"]
        context["countdown"] = queries.countdown(app, today, warning)
    return render(request, "onestop/application.html", context, status=status)


@login_required
@require_safe
def application(request: HttpRequest, pk: int) -> HttpResponse:
    app = _found(queries.access_application, request.user, pk)
    return _render_application(request, app)


@login_required
@require_safe
def certificate_pdf(request: HttpRequest, pk: int) -> FileResponse:
    """The e-certificate of an approved application, as issued: for its applicant and for staff
    who may see the application; 404 for everyone else (and when none was issued)."""
    _app, cert = _found(queries.access_application_certificate, request.user, pk)
    response = FileResponse(
        cert.pdf.open("rb"),
        as_attachment=True,
        filename=f"{cert.identifier}.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def save_draft(request: HttpRequest, pk: int) -> HttpResponse:
    """Autosave (htmx, answers a status line) and the plain 保存 button (redirects back)."""
    app = _found(queries.access_application, request.user, pk)
    if not queries.is_applicant_side(request.user, app):
        raise Http404
    data = {k.removeprefix("f-"): v for k, v in request.POST.items() if k.startswith("f-")}
    for f in app.item.form_schema.get("fields", []):
        if f.get("type") == "checkbox":
            data.setdefault(f["name"], "")
    try:
        app, problems = actions.do_save_draft(app, data, actor=request.user)
    except RuleViolation as exc:
        if request.htmx:
            return render(request, "onestop/partials/autosave.html", {"error": exc.message}, status=422)
        messages.error(request, exc.message)
        return redirect("onestop:application", pk=app.pk)
    if request.htmx:
        return render(
            request,
            "onestop/partials/autosave.html",
            {"saved_at": timezone.localtime(), "problems": problems},
        )
    if problems:
        return _render_application(
            request,
            app,
            status=422,
            field_errors={p.field: [p.message] for p in problems},
            general=[_("草稿已保存，但以下内容需要修改。")],
            form_data=request.POST,
        )
    messages.success(request, _("草稿已保存。"))
    return redirect("onestop:application", pk=app.pk)


@login_required
@require_POST
def material(request: HttpRequest, pk: int, material_id: int) -> HttpResponse:
    """Upload a file, use shared data (免提交), or remove a material from a draft."""
    app = _found(queries.access_application, request.user, pk)
    if not queries.is_applicant_side(request.user, app):
        raise Http404
    mat = Material.objects.filter(pk=material_id, item_id=app.item_id).first()
    if mat is None:
        raise Http404
    op = request.POST.get("op", "upload")
    try:
        if op == "shared":
            consent = request.POST.get("consent") == "1"
            actions.do_use_shared_material(app, mat, actor=request.user, consent=consent)
            messages.success(request, _("“%(m)s”将使用平台已有的数据，无需上传。") % {"m": mat.name})
        elif op == "remove":
            actions.do_remove_material(app, mat, actor=request.user)
            messages.success(request, _("已移除“%(m)s”。") % {"m": mat.name})
        else:
            upload = request.FILES.get("file")
            if upload is None:
                raise RuleViolation("file_missing", _("请选择要上传的文件。"), field="file")
            if upload.size > MAX_UPLOAD:
                raise RuleViolation(
                    "file_too_large",
                    _("“%(m)s”的文件超过了 %(max)s KB 的上限，请压缩后再上传。")
                    % {"m": mat.name, "max": mat.max_size_kb},
                    field="file",
                )
            actions.do_upload_material(app, mat, data=upload.read(), filename=upload.name, actor=request.user)
            messages.success(request, _("已上传“%(m)s”。") % {"m": mat.name})
    except RuleViolation as exc:
        app.refresh_from_db()
        return _render_application(
            request, app, status=422, field_errors={f"material-{mat.pk}": [v.message for v in exc.violations]}
        )
    return redirect(reverse("onestop:application", args=[app.pk]) + f"#material-{mat.pk}")


@login_required
@require_POST
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit with the draft's form token: a second click or a resent form finds it submitted."""
    app = _found(queries.access_application, request.user, pk)
    if not queries.is_applicant_side(request.user, app):
        raise Http404
    if request.POST.get("token") != app.token:
        messages.error(request, _("页面已过期，请刷新后再提交。"))
        return redirect("onestop:application", pk=app.pk)
    undertaking = request.POST.get("undertaking", "") if request.POST.get("undertaking_signed") else ""
    try:
        result = actions.do_submit_application(app, actor=request.user, undertaking=undertaking)
    except RuleViolation as exc:
        by_field, general = _errors(exc)
        app.refresh_from_db()
        return _render_application(request, app, status=422, field_errors=by_field, general=general)
    if result.replayed:
        messages.info(request, _("这份申请此前已提交，未重复提交。"))
    else:
        messages.success(
            request,
            _("已提交。办件编号 %(n)s，查询码 %(c)s，承诺办结日期 %(d)s。")
            % {
                "n": result.application.number,
                "c": result.application.check_code,
                "d": result.application.promised_due,
            },
        )
    return redirect("onestop:application", pk=app.pk)


@login_required
@require_POST
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    app = _found(queries.access_application, request.user, pk)
    if not queries.is_applicant_side(request.user, app):
        raise Http404
    try:
        actions.do_correct(app, actor=request.user)
    except RuleViolation as exc:
        by_field, general = _errors(exc)
        return _render_application(request, app, status=422, field_errors=by_field, general=general)
    messages.success(request, _("补正材料已提交。"))
    return redirect("onestop:application", pk=app.pk)


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    app = _found(queries.access_application, request.user, pk)
    if not queries.is_applicant_side(request.user, app):
        raise Http404
    was_draft = app.state == State.DRAFT
    try:
        actions.do_withdraw(app, actor=request.user, reason=request.POST.get("reason", "")[:300])
    except RuleViolation as exc:
        messages.error(request, exc.message)
        return redirect("onestop:application", pk=app.pk)
    messages.success(request, _("草稿已删除。") if was_draft else _("申请已撤回。"))
    return redirect("onestop:mine")


@login_required
@require_safe
def mine(request: HttpRequest) -> HttpResponse:
    """我的办件, and the authorizations given for assisted handling (帮办代办), revocable here."""
    page = Paginator(queries.my_applications(request.user), 20).get_page(request.GET.get("page"))
    return render(
        request,
        "onestop/mine.html",
        {
            "page": page,
            "authorizations": list(queries.my_authorizations(request.user)),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    auth = _found(queries.access_authorization, request.user, pk)
    actions.do_revoke_authorization(auth, actor=request.user)
    messages.success(
        request, _("已撤销对 %(n)s 的帮办授权。") % {"n": auth.agent.full_name or auth.agent.username}
    )
    return redirect("onestop:mine")


# --- tracking ----------------------------------------------------------------------------------


@require_safe
def track(request: HttpRequest) -> HttpResponse:
    """办件进度查询 without login: the number and its check code; the same answer for both misses."""
    form = TrackForm(request.GET or None)
    context: dict[str, Any] = {"form": form}
    status = 200
    if form.is_valid():
        try:
            throttle.check(request, "track")
            app = queries.track(form.cleaned_data["number"], form.cleaned_data["code"])
            context["result"] = track_out(app)
        except throttle.Throttled as exc:
            context["error"], status = exc.message, 429
        except NotFound as exc:
            context["error"], status = exc.message, 404
    return render(request, "onestop/track.html", context, status=status)


# --- staff -------------------------------------------------------------------------------------


@login_required
@require_safe
def queue(request: HttpRequest) -> HttpResponse:
    """待办队列: open applications in scope, nearest deadline first, with working days left."""
    if not has_perm(request.user, "onestop.view"):
        raise PermissionDenied
    today = timezone.localdate()
    try:
        department = int(request.GET.get("department") or 0) or None
    except ValueError:
        department = None
    filters = queries.QueueFilters(
        state=request.GET.get("state", ""),
        due=request.GET.get("due", ""),
        department=department,
        item=request.GET.get("item", "")[:12],
        number=request.GET.get("number", "")[:48],
    )
    qs = queries.queue(request.user, filters, today)
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        number = 1
    page = queries.queue_page(qs, number)
    warning = ruleset_for(None, today, prefix="onestop.")["onestop.countdown_warning_working_days"]
    rows = [(app, queries.countdown(app, today, warning)) for app in page.rows]
    scope_departments = list(
        Organization.objects.filter(scope_filter(request.user, "onestop.view"), kind=OrgKind.DEPARTMENT)
        .order_by("path")
        .values_list("pk", "name")[:200]
    )
    return render(
        request,
        "onestop/queue.html",
        {
            "page": page,
            "rows": rows,
            "filters": filters,
            "states": [(s, State(s).label) for s in OPEN_STATES],
            "dues": [
                (Due.OVERDUE, Due.OVERDUE.label),
                (Due.WARNING, Due.WARNING.label),
                (Due.STOPPED, Due.STOPPED.label),
                (Due.DEFICIENCY_MISSED, Due.DEFICIENCY_MISSED.label),
            ],
            "departments": scope_departments,
            "warning": warning,
            "today": today,
            "can_assist": has_perm(request.user, "onestop.handle"),
            "querystring": _without_page(request),
        },
    )


def _without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


@login_required
@require_POST
def act(request: HttpRequest, pk: int) -> HttpResponse:
    """One staff action from the application page (the same actions as the API)."""
    app = _found(queries.access_application, request.user, pk)
    if not queries.can_handle(request.user, app):
        raise PermissionDenied
    user, post = request.user, request.POST
    op = post.get("op", "")
    try:
        if op == "accept":
            actions.do_accept(
                app,
                actor=user,
                note=post.get("note", ""),
                deficiency_due=_parse_date(post.get("deficiency_due", "")),
                deficiency_consequence=post.get("deficiency_consequence", ""),
            )
        elif op == "refuse":
            actions.do_refuse(app, actor=user, reasons=post.get("reasons", ""))
        elif op == "notice":
            items = []
            for m in app.item.materials.all():
                if post.get(f"notice-{m.pk}"):
                    items.append(
                        {
                            "material_id": m.pk,
                            "problem": post.get(f"problem-{m.pk}", "") or _("未提交或不符合要求"),
                        }
                    )
            if post.get("other", "").strip():
                items.append({"material_id": None, "problem": post["other"]})
            actions.do_issue_notice(app, items, actor=user)
        elif op == "review":
            task = ReviewTask.objects.filter(pk=post.get("task") or 0, application=app).first()
            if task is None:
                raise Http404
            actions.do_review_task(
                task, passed=post.get("passed") == "1", opinion=post.get("opinion", ""), actor=user
            )
        elif op == "decide":
            actions.do_decide(app, post.get("outcome", ""), actor=user, reasons=post.get("reasons", ""))
        elif op == "deliver":
            actions.do_deliver(app, actor=user, note=post.get("note", ""))
        elif op == "extend":
            try:
                days = int(post.get("days", "0"))
            except ValueError:
                days = 0
            actions.do_extend(app, days, post.get("reasons", ""), actor=user)
        elif op == "stop":
            actions.do_stop_clock(app, post.get("reason", ""), actor=user, note=post.get("note", ""))
        elif op == "resume":
            actions.do_resume_clock(app, actor=user)
        else:
            raise Http404
    except RuleViolation as exc:
        if exc.status == 403:
            raise PermissionDenied from None
        by_field, general = _errors(exc)
        app.refresh_from_db()
        general = general + [m for msgs in by_field.values() for m in msgs]
        return _render_application(request, app, status=422, general=general)
    messages.success(request, _("已办理。"))
    return redirect("onestop:application", pk=app.pk)


@login_required
@require_http_methods(["GET", "POST"])
def assist(request: HttpRequest) -> HttpResponse:
    """帮办代办: record the resident's authorization, then fill in the application for them."""
    windows = [g.organization for g in grants_for(request.user, "onestop.handle")]
    if not windows:
        raise PermissionDenied
    form = AssistForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        principal = User.objects.filter(
            id_number_index=crypto.blind_index(cd["principal"].strip().upper(), purpose="id")
        ).first()
        item = ServiceItem.objects.filter(code=cd["item"].strip(), status=ItemStatus.ACTIVE).first()
        if principal is None:
            form.add_error("principal", _("没有找到这个身份证号的实名用户，请先协助其注册。"))
        if item is None:
            form.add_error("item", _("没有这个在用的事项编码。"))
        if principal is not None and item is not None:
            try:
                auth = actions.do_authorize_agent(
                    principal=principal,
                    item=item,
                    org=windows[0],
                    valid_until=cd["valid_until"],
                    basis=cd["basis"],
                    actor=request.user,
                )
                app = actions.do_start_application(item, actor=request.user, authorization=auth)
            except RuleViolation as exc:
                for v in exc.violations:
                    form.add_error(v.field if v.field in form.fields else None, v.message)
            else:
                messages.success(request, _("授权已记录，请代为填写申请。委托人可在“我的办件”中查看或撤销。"))
                return redirect("onestop:application", pk=app.pk)
    return render(request, "onestop/assist.html", {"form": form})
