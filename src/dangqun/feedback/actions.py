"""Every state change of 好差评, the fix loop, appeals and window visits (onestop.md §5).

Each action runs in one transaction, checks who may act, writes one audit event and tells the
people concerned after commit. Messages and complaints (§6) are in message_actions.py.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dangqun.accounts.choices import Role
from dangqun.core import workcalendar
from dangqun.core.audit import audit
from dangqun.core.errors import NotFound, PermissionDenied, RuleViolation, raise_if_any
from dangqun.core.notifications import notify
from dangqun.core.permissions import has_perm
from dangqun.core.rulesets import ruleset_for
from dangqun.onestop.actions import next_serial
from dangqun.onestop.choices import State
from dangqun.onestop.models import Application, Event

from . import rules as R
from .choices import AppealState, FixState, Mode, RatingChannel
from .models import Appeal, Fix, Rating, Visit

RATEABLE_STATES = (State.COMPLETED, State.NOT_ACCEPTED)
ELDERLY_AGE = 60


def _today(on: date | None) -> date:
    return on or timezone.localdate()


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _groups(person: Any, app: Application | None, on: date) -> dict[str, bool]:
    """Resident groups the dashboards compare: elderly (60+), enterprises, rural residents."""
    age = _age(getattr(person, "birth_date", None), on) if person is not None else None
    enterprise = bool(app and (app.form_data or {}).get("credit_code"))
    rural = False
    if person is not None and getattr(person, "pk", None):
        home = person.grants.filter(role=Role.RESIDENT).select_related("organization").first()
        rural = bool(
            home and (home.organization.name.endswith("村") or "村民委员会" in home.organization.name)
        )
    return {"elderly": age is not None and age >= ELDERLY_AGE, "enterprise": enterprise, "rural": rural}


def handling_staff(app: Application) -> Any:
    """The staff member the rater is shown: who delivered the result (or refused to accept)."""
    event = (
        Event.objects.filter(application=app, action__in=("deliver", "refuse", "decide", "accept"))
        .exclude(actor=None)
        .select_related("actor")
        .order_by("-at", "-id")
        .first()
    )
    return event.actor if event else None


def _fix_due(unit: Any, start: date) -> date:
    days = ruleset_for(unit, start)["feedback.fix_working_days"]
    return workcalendar.add_working_days(start, days)


def _notify_unit(unit: Any, key: str, title: str, url: str = "") -> None:
    from dangqun.accounts.models import User

    staff = User.objects.filter(
        grants__organization=unit, grants__role__in=(Role.DEPARTMENT_ADMIN, Role.WINDOW_STAFF), is_active=True
    ).distinct()
    ids = list(staff.values_list("pk", flat=True))
    transaction.on_commit(lambda: notify(ids, key, title, url=url))


# ------------------------------------------------------------------ window visits


def do_record_visit(
    *,
    window: Any,
    unit: Any,
    item: Any = None,
    application: Any = None,
    visitor: Any = None,
    actor: Any,
    on: date | None = None,
) -> Visit:
    """A window visit: the receipt shows its number and a QR code to rate it (一次一评)."""
    if not has_perm(actor, "onestop.handle", window):
        raise PermissionDenied()
    today = _today(on)
    with transaction.atomic():
        serial = next_serial("VISIT", today)
        visit = Visit.objects.create(
            number=f"V{today:%Y%m%d}{serial:05d}",
            window=window,
            unit=unit,
            staff=actor,
            item=item,
            application=application,
            visitor=visitor,
            visited_on=today,
        )
        audit(actor, "feedback.visit.record", visit, window=window.pk, unit=unit.pk)
    return visit


# ------------------------------------------------------------------ ratings


def do_rate_case(
    app: Application,
    *,
    level: Any,
    aspects: Any = None,
    reasons: Any = None,
    comment: str = "",
    channel: str = RatingChannel.WEB,
    actor: Any,
    on: date | None = None,
) -> Rating:
    """一事一评 by the applicant (or staff entering a hotline rating for them): real-name, once."""
    today = _today(on)
    hotline = channel == RatingChannel.HOTLINE
    if hotline:
        if not has_perm(actor, "feedback.handle", app.department):
            raise NotFound()
        rater, entered_by = app.applicant, actor
    else:
        if actor.pk != app.applicant_id:
            raise NotFound()
        rater, entered_by = actor, None
    if channel not in RatingChannel.values or channel in (RatingChannel.QR, RatingChannel.KIOSK):
        raise RuleViolation("rating_channel", _("网上办件请通过网页、手机或热线评价。"), field="channel")
    if app.state not in RATEABLE_STATES:
        raise RuleViolation("rating_not_ended", _("办件办结后才能评价。"))
    ended = app.completed_on or (app.updated_at and timezone.localdate(app.updated_at)) or today
    return _create_rating(
        Mode.CASE,
        ended,
        today,
        unit=app.department,
        staff=handling_staff(app),
        item=app.item,
        application=app,
        visit=None,
        level=level,
        aspects=aspects,
        reasons=reasons,
        comment=comment,
        channel=channel,
        rater=rater,
        anonymous=False,
        entered_by=entered_by,
        actor=actor,
    )


def access_visit(token: str) -> Visit:
    visit = (
        Visit.objects.select_related("unit", "staff", "item", "window").filter(token=str(token)[:32]).first()
    )
    if visit is None:
        raise NotFound()
    return visit


def do_rate_visit(
    visit: Visit,
    *,
    level: Any,
    aspects: Any = None,
    reasons: Any = None,
    comment: str = "",
    channel: str = RatingChannel.QR,
    anonymous: bool = False,
    actor: Any = None,
    on: date | None = None,
) -> Rating:
    """一次一评 from the receipt's QR code or the window's rating device; anonymous where the rules allow."""
    today = _today(on)
    if channel not in (RatingChannel.QR, RatingChannel.KIOSK, RatingChannel.MOBILE, RatingChannel.WEB):
        raise RuleViolation(
            "rating_channel", _("窗口评价请扫描回执上的二维码或使用评价器。"), field="channel"
        )
    signed_in = getattr(actor, "is_authenticated", False)
    if not signed_in:
        anonymous = True
    if anonymous and Mode.VISIT not in ruleset_for(visit.unit, today)["feedback.anonymous_modes"]:
        raise RuleViolation("rating_anonymous", _("此处不能匿名评价，请先登录。"))
    return _create_rating(
        Mode.VISIT,
        visit.visited_on,
        today,
        unit=visit.unit,
        staff=visit.staff,
        item=visit.item,
        application=None,
        visit=visit,
        level=level,
        aspects=aspects,
        reasons=reasons,
        comment=comment,
        channel=channel,
        rater=None if anonymous else actor,
        anonymous=anonymous,
        entered_by=None,
        actor=actor if signed_in else "anonymous",
    )


def _create_rating(mode: str, ended: date, today: date, **fields: Any) -> Rating:
    actor = fields.pop("actor")
    unit = fields["unit"]
    rs = ruleset_for(unit, today)
    timing = R.rating_timing(
        ended,
        today,
        reminder_days=rs["feedback.rating_reminder_days"],
        late_days=rs["feedback.late_rating_days"],
    )
    if not timing.allowed:
        raise RuleViolation(
            "rating_window_closed",
            _("评价期限已过（办结后可评价至 %(day)s）。如有意见，请通过“留言”反映。")
            % {"day": timing.last_day},
        )
    level = fields.pop("level")
    problems, aspects, reasons = R.check_rating(
        mode, level, fields.pop("aspects"), fields.pop("reasons"), fields["comment"] or ""
    )
    raise_if_any(problems)
    fields["comment"] = (fields["comment"] or "").strip()
    rater = fields["rater"]
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                mode=mode,
                level=level,
                aspects=aspects,
                reasons=reasons,
                late=timing.late,
                rated_on=today,
                **_groups(rater, fields["application"], today),
                **fields,
            )
            fix = None
            if rating.is_bad and rater is not None:
                fix = Fix.objects.create(rating=rating, unit=unit, due=_fix_due(unit, today))
            audit(actor, "feedback.rating.create", rating, level=level, mode=mode, fix=fix and fix.pk)
    except IntegrityError:
        # One rating per case and per visit (一事一评 / 一次一评): a retry or a second attempt.
        raise RuleViolation("already_rated", _("这件事已经评价过了，感谢您的反馈。")) from None
    if fix is not None:
        _notify_unit(
            unit,
            f"feedback-fix-{fix.pk}",
            _("收到差评，请在期限内回访整改"),
            url=f"/feedback/fixes/{fix.pk}/",
        )
    return rating


# ------------------------------------------------------------------ the fix loop of a 差评


def _lock_fix(fix: Fix) -> Fix:
    return Fix.objects.select_for_update(of=("self",)).select_related("rating", "unit").get(pk=fix.pk)


def can_handle_fix(actor: Any, fix: Fix) -> bool:
    """谁办理、谁负责: the rated unit; the supervising unit too once the fix was escalated."""
    return has_perm(actor, "feedback.handle", fix.unit) or (
        fix.escalated_to_id is not None and has_perm(actor, "feedback.handle", fix.escalated_to)
    )


def _require_fix(actor: Any, fix: Fix, states: tuple[str, ...], message: str) -> None:
    if not can_handle_fix(actor, fix):
        raise NotFound()
    if fix.state not in states:
        raise RuleViolation("fix_state", message)


def _text(value: Any, field: str, message: str, limit: int = 2000) -> str:
    text = str(value or "").strip()
    if not text:
        raise RuleViolation("required", message, field=field)
    if len(text) > limit:
        raise RuleViolation("too_long", _("最多 %(n)s 字。") % {"n": limit}, field=field)
    return text


def do_callback_fix(fix: Fix, *, note: str, verified: bool, actor: Any) -> Fix:
    """回访核实: the unit called the rater back and says whether the complaint holds."""
    note = _text(note, "note", _("请填写回访情况。"))
    with transaction.atomic():
        fix = _lock_fix(fix)
        _require_fix(actor, fix, (FixState.OPEN,), _("这条差评已经回访过了。"))
        fix.state, fix.callback_note, fix.verified = FixState.CALLED_BACK, note, bool(verified)
        fix.callback_at, fix.callback_by = timezone.now(), actor
        fix.save(update_fields=["state", "callback_note", "verified", "callback_at", "callback_by"])
        audit(actor, "feedback.fix.callback", fix, verified=fix.verified)
    return fix


def do_record_fix(fix: Fix, *, note: str, actor: Any, on: date | None = None) -> Fix:
    """整改: what the unit changed, recorded against the deadline in working days."""
    note = _text(note, "note", _("请填写整改措施。"))
    today = _today(on)
    with transaction.atomic():
        fix = _lock_fix(fix)
        _require_fix(actor, fix, (FixState.CALLED_BACK,), _("请先回访核实，再记录整改。"))
        fix.state, fix.fix_note, fix.fixed_at, fix.fixed_by = FixState.FIXED, note, timezone.now(), actor
        fix.on_time = today <= fix.due
        fix.save(update_fields=["state", "fix_note", "fixed_at", "fixed_by", "on_time"])
        audit(actor, "feedback.fix.record", fix, on_time=fix.on_time)
    return fix


def do_reply_fix(fix: Fix, *, reply: str, actor: Any) -> Fix:
    """答复: the rater is told what was found and done, and asked whether it is solved."""
    reply = _text(reply, "reply", _("请填写给评价人的答复。"))
    with transaction.atomic():
        fix = _lock_fix(fix)
        _require_fix(actor, fix, (FixState.FIXED,), _("请先记录整改，再答复评价人。"))
        fix.state, fix.reply, fix.replied_at = FixState.REPLIED, reply, timezone.now()
        fix.save(update_fields=["state", "reply", "replied_at"])
        audit(actor, "feedback.fix.reply", fix)
        rater_id = fix.rating.rater_id
    transaction.on_commit(
        lambda: notify(
            [rater_id],
            f"feedback-reply-{fix.pk}",
            _("您的评价已得到答复，请确认问题是否解决"),
            url=f"/feedback/ratings/{fix.rating_id}/",
        )
    )
    return fix


def do_confirm_fix(fix: Fix, *, solved: bool, note: str = "", actor: Any) -> Fix:
    """The rater says whether it is solved: yes closes the fix; no sends it back to the unit."""
    with transaction.atomic():
        fix = _lock_fix(fix)
        if fix.rating.rater_id != getattr(actor, "pk", None):
            raise NotFound()
        if fix.state != FixState.REPLIED:
            raise RuleViolation("fix_state", _("整改答复后才能确认。"))
        fix.solved, fix.confirmed_at = bool(solved), timezone.now()
        if solved:
            fix.state, fix.closed_at = FixState.CLOSED, timezone.now()
        else:
            # Not solved: back to the unit for another fix, the note goes on the record.
            fix.state = FixState.CALLED_BACK
            fix.callback_note = (
                fix.callback_note + "\n" + _("评价人反馈未解决：") + str(note or "")[:500]
            ).strip()
        fix.save(update_fields=["solved", "confirmed_at", "state", "closed_at", "callback_note"])
        audit(actor, "feedback.fix.confirm", fix, solved=fix.solved)
    if not solved:
        _notify_unit(
            fix.unit,
            f"feedback-unsolved-{fix.pk}-{fix.confirmed_at:%Y%m%d%H%M%S}",
            _("评价人反馈问题未解决，请继续整改"),
            url=f"/feedback/fixes/{fix.pk}/",
        )
    return fix


def escalate_overdue_fixes(today: date | None = None) -> int:
    """Fixes past their deadline go to the supervising unit (the rated unit's parent) once."""
    today = _today(today)
    count = 0
    overdue = Fix.objects.filter(
        state__in=(FixState.OPEN, FixState.CALLED_BACK), due__lt=today, escalated_to__isnull=True
    ).select_related("unit")
    for fix in overdue.iterator():
        parent = fix.unit.parent
        if parent is None:
            continue
        with transaction.atomic():
            # Saved through the model (not a queryset update) so that the statistics see it.
            locked = Fix.objects.select_for_update().get(pk=fix.pk)
            if locked.escalated_to_id is None:
                locked.escalated_to, locked.escalated_at = parent, timezone.now()
                locked.save(update_fields=["escalated_to", "escalated_at"])
                audit("feedback.escalate", "feedback.fix.escalate", locked, to=parent.pk, due=locked.due)
                _notify_unit(
                    parent,
                    f"feedback-escalated-{fix.pk}",
                    _("下级单位差评整改已超期，请督办"),
                    url=f"/feedback/fixes/{fix.pk}/",
                )
                count += 1
    return count


# ------------------------------------------------------------------ 申诉复核


def do_file_appeal(rating: Rating, *, reason: str, actor: Any) -> Appeal:
    """The rated unit contests a mistaken or malicious rating; the rating stays until decided."""
    if not has_perm(actor, "feedback.handle", rating.unit):
        raise NotFound()
    reason = _text(reason, "reason", _("请写明申诉理由（如评价与办件无关、恶意评价）。"))
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(rating=rating, filed_by=actor, reason=reason)
            audit(actor, "feedback.appeal.file", appeal, rating=rating.pk)
    except IntegrityError:
        raise RuleViolation("appeal_exists", _("这条评价已经申诉过，每条评价只能申诉一次。")) from None
    supervisor = rating.unit.parent or rating.unit
    _notify_unit(
        supervisor,
        f"feedback-appeal-{appeal.pk}",
        _("有新的差评申诉待复核"),
        url=f"/feedback/appeals/{appeal.pk}/",
    )
    return appeal


def can_decide_appeal(actor: Any, appeal: Appeal) -> bool:
    """A different person than the one rated or the one appealing, from the supervising level."""
    rating = appeal.rating
    if getattr(actor, "pk", None) in (rating.staff_id, appeal.filed_by_id):
        return False
    supervisor = rating.unit.parent or rating.unit
    return has_perm(actor, "feedback.handle", supervisor)


def do_decide_appeal(appeal: Appeal, *, upheld: bool, note: str, actor: Any) -> Appeal:
    """复核: upheld takes the rating out of the statistics (never deletes it) and voids its fix."""
    note = _text(note, "note", _("请填写复核意见。"))
    with transaction.atomic():
        appeal = (
            Appeal.objects.select_for_update(of=("self",)).select_related("rating__unit").get(pk=appeal.pk)
        )
        if not has_perm(actor, "feedback.view", appeal.rating.unit) and not can_decide_appeal(actor, appeal):
            raise NotFound()
        if not can_decide_appeal(actor, appeal):
            raise PermissionDenied(_("申诉须由被评价人和申诉人以外的上级单位人员复核。"))
        if appeal.state != AppealState.PENDING:
            raise RuleViolation("appeal_decided", _("这条申诉已经复核过了。"))
        appeal.state = AppealState.UPHELD if upheld else AppealState.REJECTED
        appeal.decided_by, appeal.decided_at, appeal.decision_note = actor, timezone.now(), note
        appeal.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
        rating = appeal.rating
        if upheld:
            # Instance saves (not queryset updates): the statistics follow these signals.
            rating.counted = False
            rating.save(update_fields=["counted"])
            for fix in Fix.objects.filter(rating=rating).exclude(state=FixState.CLOSED):
                fix.state = FixState.VOIDED
                fix.save(update_fields=["state"])
        audit(actor, "feedback.appeal.decide", appeal, upheld=upheld, rating=rating.pk)
    return appeal


# ------------------------------------------------------------------ reminders


def remind_unrated(today: date | None = None) -> int:
    """Applicants whose case ended `feedback.rating_reminder_days` ago without a rating: remind once."""
    from datetime import timedelta

    today = _today(today)
    rs = ruleset_for(None, today)
    ended_on = today - timedelta(days=rs["feedback.rating_reminder_days"])
    apps = Application.objects.filter(
        state=State.COMPLETED, completed_on=ended_on, rating__isnull=True
    ).values_list("pk", "applicant_id", "number")
    sent = 0
    for pk, applicant_id, number in apps.iterator():
        sent += notify(
            [applicant_id],
            f"feedback-remind-{pk}",
            _("办件 %(number)s 已办结，请为本次服务评价") % {"number": number},
            url=f"/feedback/rate/{pk}/",
        )
    return sent
