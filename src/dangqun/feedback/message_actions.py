"""Messages and complaints (线上留言 / 12345-style, onestop.md §6): every state change.

受理 → 派单 → 承办 → 答复 → 办结 → 回访 → 评价, with the time limit of the message's class,
duplicate merging and disputed dispatch (the unit sends it back with reasons; the dispatcher
re-dispatches).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import rjieba
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dangqun.core.audit import audit
from dangqun.core.errors import NotFound, PermissionDenied, RuleViolation, Violation, raise_if_any
from dangqun.core.notifications import notify
from dangqun.core.permissions import has_perm
from dangqun.core.rulesets import ruleset_for
from dangqun.core.validators import validate_credit_code
from dangqun.onestop.actions import next_serial
from dangqun.onestop.uploads import check_file

from . import rules as R
from .actions import _notify_unit, _text
from .choices import ENTERPRISE_KINDS, Level, MessageKind, MessageState, Urgency
from .models import ClassificationRule, Message, MessageAttachment, MessageEvent

MAX_FILES = 5
MAX_FILE_KB = 5 * 1024
STOPWORDS = frozenset(
    "的 了 是 在 我 我们 有 和 就 不 也 都 请 您 你 这 那 一个 没有 什么 怎么 问题 希望".split()  # noqa: SIM905
)


def tokens_of(text: str) -> list[str]:
    """rjieba words worth matching: two characters or more, no stop words."""
    return [w for w in rjieba.cut(text) if len(w.strip()) >= 2 and w not in STOPWORDS]


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


def _event(message: Message, actor: Any, action: str, note: str = "", unit: Any = None) -> None:
    MessageEvent.objects.create(
        message=message,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        note=note,
        unit=unit,
    )


def _lock(message: Message) -> Message:
    return Message.objects.select_for_update(of=("self",)).select_related("unit").get(pk=message.pk)


def _limits(unit: Any) -> dict[str, int]:
    return ruleset_for(unit)["feedback.message_limits"]


def do_leave_message(
    *,
    kind: str,
    title: str,
    body: str,
    location: str = "",
    enterprise_name: str = "",
    credit_code: str = "",
    files: list[Upload] | None = None,
    idempotency_key: str | None = None,
    actor: Any,
) -> Message:
    """A resident or an enterprise leaves a message; it is classified and, when a rule matches,
    dispatched at once to the unit with its deadline. A retried submission returns the first."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_("请先登录再留言，以便答复您。"))
    key = (idempotency_key or "").strip()[:80] or None
    if key:
        existing = Message.objects.filter(author=actor, idempotency_key=key).first()
        if existing is not None:
            return existing
    problems: list[Violation] = []
    if kind not in MessageKind.values:
        problems.append(Violation("message_kind", _("请选择留言类型。"), field="kind"))
    title, body = str(title or "").strip(), str(body or "").strip()
    if not 4 <= len(title) <= 100:
        problems.append(Violation("message_title", _("标题请写 4 到 100 个字。"), field="title"))
    if not 10 <= len(body) <= 3000:
        problems.append(
            Violation("message_body", _("内容请写 10 到 3000 个字，说明时间、地点和诉求。"), field="body")
        )
    location = str(location or "").strip()[:200]
    if kind in ENTERPRISE_KINDS:
        if not str(enterprise_name or "").strip():
            problems.append(Violation("enterprise_name", _("请填写企业名称。"), field="enterprise_name"))
        try:
            credit_code = validate_credit_code(credit_code)
        except ValidationError as exc:
            problems.append(Violation("credit_code", exc.messages[0], field="credit_code"))
    else:
        enterprise_name, credit_code = "", ""
    files = files or []
    if len(files) > MAX_FILES:
        problems.append(
            Violation("too_many_files", _("最多上传 %(n)s 个附件。") % {"n": MAX_FILES}, field="files")
        )
    raise_if_any(problems)
    checked = [
        (
            f,
            check_file(
                f.data,
                allowed=["pdf", "jpg", "png"],
                max_size_kb=MAX_FILE_KB,
                max_pages=50,
                material=f.name[:40] or _("附件"),
            ),
        )
        for f in files
    ]
    text = f"{title} {body} {location}"
    rules = list(ClassificationRule.objects.filter(active=True).order_by("priority", "id"))
    hit = R.classify(tokens_of(text), text, kind, rules)
    now = timezone.now()
    try:
        with transaction.atomic():
            serial = next_serial("MSG", timezone.localdate())
            message = Message.objects.create(
                number=f"L{timezone.localdate():%Y%m%d}{serial:05d}",
                author=actor,
                idempotency_key=key,
                kind=kind,
                title=title,
                body=body,
                location=location,
                enterprise_name=str(enterprise_name or "").strip()[:100],
                credit_code=credit_code,
            )
            # Files are written inside the transaction: a failure leaves neither row nor file behind.
            for upload, facts in checked:
                attachment = MessageAttachment(
                    message=message,
                    original_name=upload.name[:200],
                    kind=facts.kind,
                    size=facts.size,
                    sha256=facts.sha256,
                )
                attachment.file.save(
                    f"{facts.sha256[:16]}.{facts.kind}", ContentFile(upload.data), save=False
                )
                attachment.save()
            _event(message, actor, "receive")
            if hit is not None:
                from dangqun.orgs.models import Organization

                unit = Organization.objects.get(pk=hit.unit_id)
                message.category, message.urgency = hit.category, hit.urgency
                _dispatch(
                    message,
                    unit,
                    actor="dangqun 自动分类",
                    note=_("关键词“%(w)s”") % {"w": hit.matched},
                    now=now,
                )
            message.save()
            audit(
                actor,
                "feedback.message.create",
                message,
                kind=kind,
                category=message.category,
                files=len(checked),
            )
    except IntegrityError:
        existing = Message.objects.filter(author=actor, idempotency_key=key).first() if key else None
        if existing is None:
            raise
        return existing
    return message


def _dispatch(message: Message, unit: Any, *, actor: Any, note: str, now: Any) -> None:
    message.unit, message.state = unit, MessageState.DISPATCHED
    message.due_at = R.message_due(now, message.urgency, _limits(unit))
    message.dispute_reason = ""
    _event(message, actor if getattr(actor, "pk", None) else None, "dispatch", note, unit)
    _notify_unit(
        unit,
        f"feedback-message-{message.pk}-{unit.pk}",
        _("新派单：%(t)s") % {"t": message.title[:40]},
        url=f"/feedback/messages/{message.pk}/",
    )


def can_dispatch(actor: Any) -> bool:
    """The street's dispatch desk: feedback.handle at the root of the tree."""
    from dangqun.orgs.models import Organization

    roots = Organization.objects.filter(parent__isnull=True)
    return any(has_perm(actor, "feedback.handle", root) for root in roots)


def can_handle_message(actor: Any, message: Message) -> bool:
    return message.unit_id is not None and has_perm(actor, "feedback.handle", message.unit)


def do_dispatch_message(message: Message, *, unit: Any, urgency: str, category: str, actor: Any) -> Message:
    """派单 (or re-dispatch after a dispute) to a unit, with the time limit of its class."""
    if urgency not in Urgency.values:
        raise RuleViolation("urgency", _("请选择时限类别。"), field="urgency")
    with transaction.atomic():
        message = _lock(message)
        if not can_dispatch(actor):
            raise NotFound()
        if message.state not in (MessageState.RECEIVED, MessageState.DISPUTED, MessageState.DISPATCHED):
            raise RuleViolation("message_state", _("已在办理中的留言不能再派单。"))
        if message.state == MessageState.DISPUTED and message.unit_id == unit.pk:
            raise RuleViolation("same_unit", _("承办单位已退回此件，请改派其他单位。"), field="unit")
        message.urgency = urgency
        message.category = str(category or message.category).strip()[:40]
        _dispatch(message, unit, actor=actor, note="", now=timezone.now())
        message.save()
        audit(actor, "feedback.message.dispatch", message, unit=unit.pk, urgency=urgency)
    return message


def do_dispute_message(message: Message, *, reason: str, actor: Any) -> Message:
    """争议派单: the unit says it is not theirs, with reasons; the dispatcher decides again."""
    reason = _text(reason, "reason", _("请写明退回理由（如不属于本单位职责）。"))
    with transaction.atomic():
        message = _lock(message)
        if not can_handle_message(actor, message):
            raise NotFound()
        if message.state != MessageState.DISPATCHED:
            raise RuleViolation("message_state", _("只能退回刚派来、尚未签收的留言。"))
        message.state, message.dispute_reason = MessageState.DISPUTED, reason
        message.save(update_fields=["state", "dispute_reason"])
        _event(message, actor, "dispute", reason, message.unit)
        audit(actor, "feedback.message.dispute", message, unit=message.unit_id)
    return message


def do_accept_message(message: Message, *, actor: Any) -> Message:
    with transaction.atomic():
        message = _lock(message)
        if not can_handle_message(actor, message):
            raise NotFound()
        if message.state != MessageState.DISPATCHED:
            raise RuleViolation("message_state", _("只有已派单的留言可以签收。"))
        message.state = MessageState.HANDLING
        message.save(update_fields=["state"])
        _event(message, actor, "accept", unit=message.unit)
        audit(actor, "feedback.message.accept", message)
    return message


def do_reply_message(message: Message, *, reply: str, actor: Any) -> Message:
    reply = _text(reply, "reply", _("请填写答复内容。"), limit=3000)
    with transaction.atomic():
        message = _lock(message)
        if not can_handle_message(actor, message):
            raise NotFound()
        if message.state != MessageState.HANDLING:
            raise RuleViolation("message_state", _("请先签收，再答复。"))
        now = timezone.now()
        message.state, message.reply, message.replied_at = MessageState.REPLIED, reply, now
        message.on_time = message.due_at is None or now <= message.due_at
        message.save(update_fields=["state", "reply", "replied_at", "on_time"])
        _event(message, actor, "reply", unit=message.unit)
        audit(actor, "feedback.message.reply", message, on_time=message.on_time)
        author_id, pk = message.author_id, message.pk
    transaction.on_commit(
        lambda: notify(
            [author_id],
            f"feedback-message-reply-{pk}",
            _("您的留言已答复，请查看并评价"),
            url=f"/feedback/messages/{pk}/",
        )
    )
    return message


def do_callback_message(message: Message, *, note: str, actor: Any) -> Message:
    """回访 by the dispatch desk after the reply; closes the message."""
    note = _text(note, "note", _("请填写回访情况。"))
    with transaction.atomic():
        message = _lock(message)
        if not can_dispatch(actor):
            raise NotFound()
        if message.state != MessageState.REPLIED:
            raise RuleViolation("message_state", _("答复后才能回访办结。"))
        now = timezone.now()
        message.state, message.callback_note, message.callback_at, message.closed_at = (
            MessageState.CLOSED,
            note,
            now,
            now,
        )
        message.save(update_fields=["state", "callback_note", "callback_at", "closed_at"])
        _event(message, actor, "callback", note)
        audit(actor, "feedback.message.callback", message)
    return message


def do_rate_message(message: Message, *, level: Any, actor: Any) -> Message:
    """The author rates the handling once, after the reply."""
    if not isinstance(level, int) or isinstance(level, bool) or level not in Level.values:
        raise RuleViolation("rating_level", _("请选择 1 到 5 星的评价等级。"), field="level")
    with transaction.atomic():
        message = _lock(message)
        if message.author_id != getattr(actor, "pk", None):
            raise NotFound()
        if message.state not in (MessageState.REPLIED, MessageState.CLOSED):
            raise RuleViolation("message_state", _("答复后才能评价。"))
        if message.level is not None:
            raise RuleViolation("already_rated", _("这条留言已经评价过了。"))
        message.level, message.rated_at = level, timezone.now()
        message.save(update_fields=["level", "rated_at"])
        _event(message, actor, "rate", str(level))
        audit(actor, "feedback.message.rate", message, level=level)
    return message


def duplicate_candidates(message: Message, limit: int = 5) -> list[tuple[Message, float]]:
    """Open messages of the last weeks that look like this one (same category, similar words)."""
    window = ruleset_for(message.unit)["feedback.duplicate_window_days"]
    since = message.created_at - timedelta(days=window)
    mine = set(tokens_of(f"{message.title} {message.body} {message.location}"))
    others = (
        Message.objects.filter(created_at__gte=since, duplicate_of__isnull=True)
        .exclude(pk=message.pk)
        .exclude(state=MessageState.MERGED)
        .order_by("-created_at")[:200]
    )
    scored = [(m, R.similar(mine, set(tokens_of(f"{m.title} {m.body} {m.location}")))) for m in others]
    return sorted([s for s in scored if s[1] >= 0.3], key=lambda s: -s[1])[:limit]


def do_merge_message(message: Message, *, into: Message, actor: Any) -> Message:
    """合并重复件: the duplicate follows the main one (its author is told the main one's reply)."""
    if into.pk == message.pk or into.duplicate_of_id is not None:
        raise RuleViolation("merge_target", _("请选择另一条未被合并的留言作为主件。"), field="into")
    with transaction.atomic():
        message = _lock(message)
        if not can_dispatch(actor):
            raise NotFound()
        if message.state not in (MessageState.RECEIVED, MessageState.DISPATCHED, MessageState.DISPUTED):
            raise RuleViolation("message_state", _("已在办理中的留言不能合并。"))
        message.state, message.duplicate_of = MessageState.MERGED, into
        message.save(update_fields=["state", "duplicate_of"])
        _event(message, actor, "merge", into.number)
        audit(actor, "feedback.message.merge", message, into=into.pk)
    return message
