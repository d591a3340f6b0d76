"""Pages of 好差评 and messages. Thin views (DESIGN.md): access_* (404 outside reach), one
action, render; a broken rule is shown beside its field. Everything works without JavaScript."""

from __future__ import annotations

from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from dangqun.core.errors import NotFound, RuleViolation
from dangqun.core.permissions import has_perm
from dangqun.onestop.models import Application
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

from . import actions, message_actions, queries
from .choices import BAD_REASONS, FixState, MessageState, Mode, RatingChannel
from .forms import (
    AppealForm,
    CallbackForm,
    ConfirmForm,
    DecisionForm,
    DispatchForm,
    DisputeForm,
    FixNoteForm,
    HotlineForm,
    MessageCallbackForm,
    MessageForm,
    MessageRatingForm,
    RatingForm,
    ReplyForm,
)
from .models import Visit


def _found(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except NotFound:
        raise Http404 from None


def _apply(form: Any, exc: RuleViolation) -> None:
    """Put each violation beside its field (or on top when the field is not in the form)."""
    for v in exc.violations:
        field = v.field if v.field in form.fields else None
        form.add_error(field, str(v.message))


def _run(request: HttpRequest, form: Any, fn: Any, done: str, success: str) -> HttpResponse | None:
    """Run one action for a valid form; a redirect on success, None to re-render with errors."""
    if not form.is_valid():
        return None
    try:
        fn(form.cleaned_data)
    except NotFound:
        raise Http404 from None
    except RuleViolation as exc:
        _apply(form, exc)
        return None
    messages.success(request, success)
    return redirect(done)


def _page_channel(request: HttpRequest) -> str:
    """Web or phone, as the statistics count channels (phone browsers say "Mobile")."""
    return RatingChannel.MOBILE if "Mobile" in request.headers.get("User-Agent", "") else RatingChannel.WEB


# --- rating a case or a visit ------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def rate_case(request: HttpRequest, pk: int) -> HttpResponse:
    """一事一评: the applicant sees which office and which staff member they rate."""
    app = _found(queries.access_rated_case, request.user, pk)
    if hasattr(app, "rating"):
        return redirect("feedback:rating", app.rating.pk)
    staff = actions.handling_staff(app)
    form = RatingForm(request.POST or None, online=True)
    if request.method == "POST" and form.is_valid():
        try:
            rating = actions.do_rate_case(
                app,
                level=form.cleaned_data["level"],
                aspects=form.aspects(),
                reasons=form.cleaned_data["reasons"],
                comment=form.cleaned_data["comment"],
                channel=RatingChannel.MOBILE
                if "Mobile" in request.headers.get("User-Agent", "")
                else RatingChannel.WEB,
                actor=request.user,
            )
        except RuleViolation as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("感谢您的评价！"))
            return redirect("feedback:rating", rating.pk)
    context = {"form": form, "app": app, "unit": app.department, "staff": staff, "item": app.item}
    return render(request, "feedback/rate.html", context, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def rate_visit(request: HttpRequest, token: str) -> HttpResponse:
    """一次一评 from the QR code on the window receipt; no login needed (anonymous where allowed)."""
    visit = _found(actions.access_visit, token)
    if hasattr(visit, "rating"):
        return render(request, "feedback/rated.html", {"visit": visit})
    form = RatingForm(request.POST or None, online=False)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_rate_visit(
                visit,
                level=form.cleaned_data["level"],
                aspects=form.aspects(),
                reasons=form.cleaned_data["reasons"],
                comment=form.cleaned_data["comment"],
                channel=RatingChannel.QR,
                anonymous=request.POST.get("anonymous") == "1" or not request.user.is_authenticated,
                actor=request.user,
            )
        except RuleViolation as exc:
            _apply(form, exc)
        else:
            return render(request, "feedback/rated.html", {"visit": visit, "thanks": True})
    context = {"form": form, "visit": visit, "unit": visit.unit, "staff": visit.staff, "item": visit.item}
    return render(request, "feedback/rate.html", context, status=422 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def rating_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The rater follows the fix of their 差评 and says whether it is solved; staff see the same."""
    rating = _found(queries.access_rating, request.user, pk)
    fix = getattr(rating, "fix", None)
    is_rater = rating.rater_id == request.user.pk
    form = ConfirmForm(request.POST or None)
    if request.method == "POST":
        if not (is_rater and fix):
            raise Http404
        done = _run(
            request,
            form,
            lambda d: actions.do_confirm_fix(fix, solved=d["solved"], note=d["note"], actor=request.user),
            reverse("feedback:rating", args=[rating.pk]),
            _("已收到您的确认。"),
        )
        if done:
            return done
    context = {
        "rating": rating,
        "fix": fix,
        "is_rater": is_rater,
        "form": form,
        "reasons": [BAD_REASONS.get(r, r) for r in rating.reasons],
        "can_confirm": is_rater and fix is not None and fix.state == FixState.REPLIED,
    }
    return render(request, "feedback/rating.html", context)


# --- staff: the fix loop and appeals -----------------------------------------------------------


@login_required
@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """评价工作台: open fixes (overdue first), appeals to decide, recent ratings, open messages."""
    if not has_perm(request.user, "feedback.view"):
        raise PermissionDenied
    today = timezone.localdate()
    fixes = list(queries.fixes_in_scope(request.user)[:100])
    context = {
        "fixes": fixes,
        "today": today,
        "appeals": queries.appeals_to_decide(request.user),
        "ratings": list(queries.recent_ratings(request.user)),
        "open_messages": queries.messages_in_scope(request.user, open_only=True).count(),
    }
    return render(request, "feedback/index.html", context)


FIX_STEPS = {
    "callback": (
        CallbackForm,
        lambda fix, d, u: actions.do_callback_fix(fix, note=d["note"], verified=d["verified"], actor=u),
        _("已记录回访。"),
    ),
    "fix": (
        FixNoteForm,
        lambda fix, d, u: actions.do_record_fix(fix, note=d["note"], actor=u),
        _("已记录整改。"),
    ),
    "reply": (
        ReplyForm,
        lambda fix, d, u: actions.do_reply_fix(fix, reply=d["reply"], actor=u),
        _("已答复评价人。"),
    ),
    "appeal": (
        AppealForm,
        lambda fix, d, u: actions.do_file_appeal(fix.rating, reason=d["note"], actor=u),
        _("已提交申诉，等待上级复核。"),
    ),
}


@login_required
@require_http_methods(["GET", "POST"])
def fix_detail(request: HttpRequest, pk: int) -> HttpResponse:
    fix = _found(queries.access_fix, request.user, pk)
    if fix.rating.rater_id == request.user.pk and not has_perm(request.user, "feedback.view", fix.unit):
        return redirect("feedback:rating", fix.rating_id)
    step = request.POST.get("step", "")
    forms_ = {
        key: spec[0](request.POST if step == key else None, prefix=key) for key, spec in FIX_STEPS.items()
    }
    if request.method == "POST":
        if step not in FIX_STEPS:
            raise Http404
        _form_cls, fn, success = FIX_STEPS[step]
        done = _run(
            request,
            forms_[step],
            lambda d: fn(fix, d, request.user),
            reverse("feedback:fix", args=[fix.pk]),
            success,
        )
        if done:
            return done
    context = {
        "fix": fix,
        "rating": fix.rating,
        "forms": forms_,
        "today": timezone.localdate(),
        "can_handle": actions.can_handle_fix(request.user, fix),
        "appeal": getattr(fix.rating, "appeal", None),
        "reasons": [BAD_REASONS.get(r, r) for r in fix.rating.reasons],
    }
    return render(request, "feedback/fix.html", context, status=422 if step and forms_[step].errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def appeal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    appeal = _found(queries.access_appeal, request.user, pk)
    form = DecisionForm(request.POST or None)
    if request.method == "POST":
        done = _run(
            request,
            form,
            lambda d: actions.do_decide_appeal(
                appeal, upheld=d["upheld"], note=d["note"], actor=request.user
            ),
            reverse("feedback:appeal", args=[appeal.pk]),
            _("已作出复核结论。"),
        )
        if done:
            return done
    context = {
        "appeal": appeal,
        "rating": appeal.rating,
        "form": form,
        "can_decide": actions.can_decide_appeal(request.user, appeal),
    }
    return render(request, "feedback/appeal.html", context, status=422 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def hotline(request: HttpRequest) -> HttpResponse:
    """热线评价: staff enter the rating a caller gives by phone, against the case number (real-name)."""
    if not has_perm(request.user, "feedback.handle"):
        raise PermissionDenied
    form = HotlineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        app = (
            Application.objects.select_related("department", "item")
            .filter(number=form.cleaned_data["number"])
            .first()
        )
        try:
            if app is None:
                raise RuleViolation("case_unknown", _("没有这个办件编号，请核对。"), field="number")
            rating = actions.do_rate_case(
                app,
                level=form.cleaned_data["level"],
                reasons=form.cleaned_data["reasons"],
                comment=form.cleaned_data["comment"],
                channel=RatingChannel.HOTLINE,
                actor=request.user,
            )
        except NotFound:
            form.add_error("number", _("这个办件不在您的办理范围内。"))
        except RuleViolation as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("已录入热线评价。"))
            return redirect("feedback:rating", rating.pk)
    return render(request, "feedback/hotline.html", {"form": form}, status=422 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def record_visit(request: HttpRequest) -> HttpResponse:
    """Window staff print a receipt whose QR code leads to the visit's rating page."""
    windows = [
        g.organization
        for g in request.user.grants.select_related("organization")
        if g.organization.kind == OrgKind.WINDOW
    ]
    if not windows:
        raise PermissionDenied
    if request.method == "POST":
        window = windows[0]
        unit = Organization.objects.filter(kind=OrgKind.DEPARTMENT, pk=request.POST.get("unit") or 0).first()
        try:
            visit = actions.do_record_visit(window=window, unit=unit or window, actor=request.user)
        except RuleViolation as exc:
            messages.error(request, exc.message)
        else:
            return redirect("feedback:receipt", visit.pk)
    units = Organization.objects.filter(kind=OrgKind.DEPARTMENT).order_by("path")
    return render(request, "feedback/visit_new.html", {"windows": windows, "units": units})


@login_required
@require_safe
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    visit = Visit.objects.select_related("window", "unit", "staff").filter(pk=pk).first()
    if visit is None or not has_perm(request.user, "onestop.handle", visit.window):
        raise Http404
    url = request.build_absolute_uri(reverse("feedback:rate_visit", args=[visit.token]))
    qr = segno.make(url, error="m").svg_inline(scale=5, title=_("扫码评价"))
    return render(request, "feedback/receipt.html", {"visit": visit, "qr": qr, "url": url})


# --- messages ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def message_list(request: HttpRequest) -> HttpResponse:
    """Residents: my messages and a new one. Staff: the messages of their units (the desk: all)."""
    staff = has_perm(request.user, "feedback.view")
    form = MessageForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        files = [message_actions.Upload(f.name, f.read()) for f in d["files"][:6]]
        try:
            message = message_actions.do_leave_message(
                kind=d["kind"],
                title=d["title"],
                body=d["body"],
                location=d["location"],
                enterprise_name=d["enterprise_name"],
                credit_code=d["credit_code"],
                files=files,
                idempotency_key=request.POST.get("idempotency_key"),
                actor=request.user,
            )
        except RuleViolation as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("留言已提交，编号 %(n)s。") % {"n": message.number})
            return redirect("feedback:message", message.pk)
    mine = list(queries.my_messages(request.user)[:50])
    handling = list(queries.messages_in_scope(request.user)[:100]) if staff else []
    context = {
        "form": form,
        "mine": mine,
        "handling": handling,
        "staff": staff,
        "now": timezone.now(),
        "key": timezone.now().strftime("%Y%m%d%H%M%S%f"),
    }
    return render(request, "feedback/messages.html", context, status=422 if form.errors else 200)


DISPATCH_KINDS = (OrgKind.DEPARTMENT, OrgKind.COMMUNITY, OrgKind.STREET)


def _dispatch_units() -> list[tuple[int, str]]:
    return list(
        Organization.objects.filter(kind__in=DISPATCH_KINDS).order_by("path").values_list("pk", "name")
    )


def _message_steps(request: HttpRequest, message: Any) -> dict[str, tuple[Any, Any, str]]:
    u = request.user

    def dispatch(d: dict) -> Any:
        # The form offers only existing units; one deleted meanwhile is a clear error, not a 500.
        unit = Organization.objects.filter(pk=d["unit"], kind__in=DISPATCH_KINDS).first()
        if unit is None:
            raise RuleViolation("unit_unknown", _("请选择承办单位。"), field="unit")
        return message_actions.do_dispatch_message(
            message, unit=unit, urgency=d["urgency"], category=d["category"], actor=u
        )

    return {
        "dispatch": (DispatchForm, dispatch, _("已派单。")),
        "dispute": (
            DisputeForm,
            lambda d: message_actions.do_dispute_message(message, reason=d["note"], actor=u),
            _("已退回派单人。"),
        ),
        "accept": (None, lambda d: message_actions.do_accept_message(message, actor=u), _("已签收。")),
        "reply": (
            ReplyForm,
            lambda d: message_actions.do_reply_message(message, reply=d["reply"], actor=u),
            _("已答复。"),
        ),
        "callback": (
            MessageCallbackForm,
            lambda d: message_actions.do_callback_message(message, note=d["note"], actor=u),
            _("已回访办结。"),
        ),
        "rate": (
            MessageRatingForm,
            lambda d: message_actions.do_rate_message(message, level=d["level"], actor=u),
            _("感谢您的评价！"),
        ),
    }


@login_required
@require_http_methods(["GET", "POST"])
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = _found(queries.access_message, request.user, pk)
    steps = _message_steps(request, message)
    step = request.POST.get("step", "")
    units = _dispatch_units()
    forms_ = {}
    for key, (cls, _fn, _msg) in steps.items():
        if cls is None:
            continue
        data = request.POST if step == key else None
        forms_[key] = cls(data, prefix=key, units=units) if cls is DispatchForm else cls(data, prefix=key)
    if request.method == "POST":
        if step not in steps:
            raise Http404
        cls, fn, success = steps[step]
        form = forms_.get(step)
        if form is None:
            try:
                fn({})
            except RuleViolation as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, success)
            return redirect("feedback:message", message.pk)
        done = _run(request, form, fn, reverse("feedback:message", args=[message.pk]), success)
        if done:
            return done
    is_author = message.author_id == request.user.pk
    context = {
        "message": message,
        "forms": forms_,
        "is_author": is_author,
        "can_dispatch": message_actions.can_dispatch(request.user),
        "can_handle": message_actions.can_handle_message(request.user, message),
        "events": list(message.events.select_related("unit")),
        "attachments": list(message.attachments.all()),
        "duplicates": message_actions.duplicate_candidates(message)
        if not is_author
        and message.state in (MessageState.RECEIVED, MessageState.DISPATCHED, MessageState.DISPUTED)
        else [],
        "overdue": queries.is_overdue(message.due_at)
        and message.state in (MessageState.DISPATCHED, MessageState.HANDLING),
        "Mode": Mode,
    }
    return render(
        request,
        "feedback/message.html",
        context,
        status=422 if step and step in forms_ and forms_[step].errors else 200,
    )


@login_required
@require_http_methods(["POST"])
def message_merge(request: HttpRequest, pk: int) -> HttpResponse:
    message = _found(queries.access_message, request.user, pk)
    into = _found(queries.access_message, request.user, request.POST.get("into"))
    try:
        message_actions.do_merge_message(message, into=into, actor=request.user)
    except NotFound:
        raise Http404 from None
    except RuleViolation as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已合并到 %(n)s。") % {"n": into.number})
    return redirect("feedback:message", message.pk)
