"""Every change to party members, their development record and their dues.

Each action: checks the actor's right on the member's branch, applies the rules (every broken
rule reported at once), saves with update_fields, keeps the branch's member counters right
with F() updates, and writes one audit event — all inside one transaction, so nothing is
half-saved when a rule is broken.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from dangqun.core import crypto, workcalendar
from dangqun.core.audit import audit
from dangqun.core.errors import RuleViolation, Violation, raise_if_any
from dangqun.core.permissions import require
from dangqun.core.rulesets import RuleSet, ruleset_for
from dangqun.core.validators import birth_date_from_id, gender_from_id, validate_id_number, validate_phone
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization
from dangqun.orgs.queries import ancestors

from . import rules as R
from .choices import COUNTER_FIELD, MEMBER_STATUSES, DuesCategory, PaymentMethod, Status
from .models import (
    ContactPerson,
    DevelopmentStep,
    DuesPayment,
    DuesRate,
    Introducer,
    PartyMember,
    ProbationCancellation,
    ProbationExtension,
    StepEvidence,
    sniff_evidence,
    validate_evidence_file,
)
from .queries import member_state, visible_members


def _rules(org: Organization, on: date) -> RuleSet:
    return ruleset_for(org, on, prefix="party.")


def _recount(branch_id: int, old: str | None, new: str | None) -> None:
    """Move one person between the branch's full/probationary counters (F(): no lost update)."""
    changes: dict[str, Any] = {}
    if old in COUNTER_FIELD:
        changes[COUNTER_FIELD[old]] = F(COUNTER_FIELD[old]) - 1
    if new in COUNTER_FIELD:
        changes[COUNTER_FIELD[new]] = F(COUNTER_FIELD[new]) + 1
    if old != new and changes:
        Organization.objects.filter(pk=branch_id).update(**changes)


def _locked(member: PartyMember) -> PartyMember:
    """The member row again, locked until commit: two clerks recording at once are serialized."""
    return PartyMember.objects.select_for_update().select_related("branch").filter(pk=member.pk).get()


def _person_facts(
    *,
    branch: Organization,
    name: str,
    id_number: str,
    phone: str,
    group: Organization | None,
    exclude_pk: int | None = None,
) -> tuple[dict[str, Any], list[Violation]]:
    """Validate a person's identity fields; return the cleaned values and every problem."""
    found: list[Violation] = []
    clean: dict[str, Any] = {"name": (name or "").strip()}
    if not clean["name"]:
        found.append(Violation("name_required", _("请填写姓名。"), field="name"))
    elif len(clean["name"]) > 60:
        found.append(Violation("name_too_long", _("姓名不能超过 60 个字。"), field="name"))
    if branch.kind != OrgKind.BRANCH:
        found.append(
            Violation(
                "not_a_branch",
                _("“%(o)s”不是党支部，党员须编入党支部。") % {"o": branch.name},
                field="branch",
            )
        )
    if group is not None and (group.kind != OrgKind.GROUP or group.parent_id != branch.pk):
        found.append(
            Violation(
                "group_outside_branch",
                _("“%(g)s”不是“%(b)s”下的党小组。") % {"g": group.name, "b": branch.name},
                field="group",
            )
        )
    try:
        clean["id_number"] = validate_id_number(id_number)
        clean["birth_date"] = birth_date_from_id(clean["id_number"])
        clean["gender"] = gender_from_id(clean["id_number"])
    except ValidationError as exc:
        found.append(Violation(exc.code or "id_number", exc.messages[0], field="id_number"))
    else:
        index = crypto.blind_index(clean["id_number"], purpose="id")
        dup = PartyMember.objects.filter(id_number_index=index)
        if exclude_pk is not None:
            dup = dup.exclude(pk=exclude_pk)
        if dup.exists():
            found.append(
                Violation("duplicate_member", _("该身份证号已登记，请勿重复登记。"), field="id_number")
            )
    clean["phone"] = ""
    if phone:
        try:
            clean["phone"] = validate_phone(phone)
        except ValidationError as exc:
            found.append(Violation(exc.code or "phone", exc.messages[0], field="phone"))
    return clean, found


@transaction.atomic
def do_register_applicant(
    *,
    branch: Organization,
    name: str,
    id_number: str,
    applied_on: date,
    actor: Any,
    phone: str = "",
    group: Organization | None = None,
    user: Any = None,
    occupation: str = "",
    post: str = "",
    responsible: str = "",
    notes: str = "",
) -> PartyMember:
    """Step 1: 递交入党申请书. The applicant is 18 or older on that day (党章 第一条), the ID number
    is valid (GB 11643) and not registered yet; the step is recorded with the person."""
    require(actor, "members.change", branch)
    clean, found = _person_facts(branch=branch, name=name, id_number=id_number, phone=phone, group=group)
    rules = _rules(branch, applied_on)
    state = R.MemberState(id=None, status=Status.APPLICANT, birth_date=clean.get("birth_date"))
    if "birth_date" in clean:
        found += R.check_step(state, 1, applied_on, rules, today=timezone.localdate())
    raise_if_any(found)
    member = PartyMember(
        branch=branch,
        group=group,
        user=user,
        applied_on=applied_on,
        occupation=occupation,
        post=post,
        **clean,
    )
    member.save()
    DevelopmentStep.objects.create(
        member=member,
        step=1,
        done_on=applied_on,
        responsible=responsible,
        notes=notes,
        recorded_by=_user(actor),
    )
    audit(actor, "member.register_applicant", member, branch=branch.pk, applied_on=applied_on)
    return member


@transaction.atomic
def do_enroll_member(
    *,
    branch: Organization,
    name: str,
    id_number: str,
    status: str,
    admitted_on: date,
    actor: Any,
    full_on: date | None = None,
    phone: str = "",
    group: Organization | None = None,
    user: Any = None,
    transferred_in: bool = False,
    post: str = "",
    occupation: str = "",
) -> PartyMember:
    """Record a person who already is a probationary or full member (data taken over from paper
    or another system, or a transfer in). Their development steps count as done: through step
    18 for a probationary member, all 25 for a full member."""
    require(actor, "members.change", branch)
    clean, found = _person_facts(branch=branch, name=name, id_number=id_number, phone=phone, group=group)
    today = timezone.localdate()
    if status not in MEMBER_STATUSES:
        found.append(Violation("enroll_status", _("只能登记预备党员或正式党员。"), field="status"))
    # A full member's dates are known facts; the probation rule only fills in what is missing.
    ends = (
        full_on
        if status == Status.FULL and full_on
        else R.probation_end(admitted_on, _rules(branch, admitted_on))
    )
    if status == Status.FULL:
        full_on = full_on or ends
        if full_on < admitted_on:
            found.append(
                Violation(
                    "full_before_admission", _("转正日期不能早于接收为预备党员的日期。"), field="full_on"
                )
            )
    if max(admitted_on, full_on or admitted_on) > today:
        found.append(Violation("future_date", _("日期不能晚于今天。"), field="admitted_on"))
    raise_if_any(found)
    member = PartyMember(
        branch=branch,
        group=group,
        user=user,
        status=status,
        admitted_on=admitted_on,
        probation_ends_on=ends,
        full_on=full_on if status == Status.FULL else None,
        imported_through_step=25 if status == Status.FULL else 18,
        transferred_in=transferred_in and status == Status.PROBATIONARY,
        post=post,
        occupation=occupation,
        **clean,
    )
    member.save()
    _recount(branch.pk, None, status)
    audit(actor, "member.enroll", member, branch=branch.pk, status=status, admitted_on=admitted_on)
    return member


EARLIEST_DATE = date(1900, 1, 1)


def _check_date(on: date, field: str) -> None:
    """A legal date is in the past and after 1900: anything else is a typing error, refused
    before any rule computes with it (a year 9999 would overflow the date arithmetic)."""
    today = timezone.localdate()
    if not EARLIEST_DATE <= on <= today:
        raise RuleViolation(
            "date_out_of_range",
            _("日期 %(on)s 应在 %(first)s 至今天（%(today)s）之间。")
            % {"on": on.isoformat(), "first": EARLIEST_DATE.isoformat(), "today": today.isoformat()},
            field=field,
        )


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) else None


M = TypeVar("M", bound=Model)


def _create_once(model: type[M], refusal: RuleViolation, **fields: Any) -> M:
    """Create a row a unique constraint keeps single. When another request created it a moment
    ago (two clerks, a retry), the constraint is the last check: refuse with `refusal` rather
    than fail the whole transaction with a database error."""
    try:
        with transaction.atomic():
            return model.objects.create(**fields)
    except IntegrityError:
        raise refusal from None


def _resolve_people(
    actor: Any, ids: Iterable[Any] | None, field: str
) -> tuple[list[R.Person], list[Violation]]:
    """Members named by id in a step, among those the actor may see (else "not found")."""
    wanted = []
    for raw in ids or []:
        try:
            wanted.append(int(raw))
        except (TypeError, ValueError):
            wanted.append(None)
    found = {
        m.pk: m
        for m in visible_members(actor)
        .filter(pk__in=[i for i in wanted if i is not None])
        .only("id", "name", "status")
    }
    people, problems = [], []
    for raw, pk in zip(ids or [], wanted, strict=True):
        member = found.get(pk)
        if member is None:
            problems.append(
                Violation(
                    "person_not_found",
                    _("找不到编号为 %(id)s 的党员，或您无权查看。") % {"id": raw},
                    field=field,
                )
            )
        else:
            people.append(R.Person(member.pk, member.name, member.status))
    return people, problems


def _file_problems(files: Iterable[Any]) -> list[Violation]:
    found = []
    for f in files:
        try:
            validate_evidence_file(f)
        except ValidationError as exc:
            found.append(
                Violation(
                    exc.code or "evidence", f"{getattr(f, 'name', '')}：{exc.messages[0]}", field="files"
                )
            )
    return found


def _json_safe(evidence: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in evidence.items():
        if value is None:
            continue
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        out[key] = value
    return out


# What a step may carry (anything else is refused, so a typo does not vanish silently).
STEP_FIELDS: dict[int, set[str]] = {
    5: {"contact_person_ids"},
    9: {"introducer_ids"},
    10: {"passed"},
    11: {"training_days", "training_hours"},
    13: {"passed", "publicity_start", "publicity_end"},
    15: {"entitled", "present", "in_favour", "written_in_favour", "written_total", "leaving_unit_on"},
    17: {"delay_reason", "delay_approved_by", "approved_by", "approving_org_id"},
    23: {"entitled", "present", "in_favour", "written_in_favour", "written_total"},
    24: {"delay_reason", "delay_approved_by", "approved_by", "approving_org_id"},
}


@transaction.atomic
def do_record_step(
    member: PartyMember,
    step: int,
    on: date,
    *,
    actor: Any,
    responsible: str = "",
    notes: str = "",
    files: Iterable[Any] = (),
    **evidence: Any,
) -> DevelopmentStep:
    """Record development step `step` done on `on` (发展党员工作细则, 25 steps).

    Applies every rule of the step (rules.assess_step) and refuses with all violations at once.
    Status changes by FSM transition: step 3 → activist, 7 → candidate, 17 → probationary from
    the 支部大会 date of step 15 (probation ends a year later), 24 → full from the end of probation.
    """
    require(actor, "members.change", member.branch)
    _check_date(on, "done_on")
    member = _locked(member)
    files = list(files)
    found: list[Violation] = []
    unknown = set(evidence) - STEP_FIELDS.get(step, set())
    if unknown:
        found.append(
            Violation(
                "step_field",
                _("第 %(n)s 步不登记这些内容：%(f)s。") % {"n": step, "f": "、".join(sorted(unknown))},
                field=sorted(unknown)[0],
            )
        )
    ev = {k: v for k, v in evidence.items() if k not in unknown}
    contacts, problems = _resolve_people(actor, ev.get("contact_person_ids"), "contact_person_ids")
    found += problems
    introducers, problems = _resolve_people(actor, ev.get("introducer_ids"), "introducer_ids")
    found += problems
    approver, problems = _approving_body(member, ev)
    found += problems
    found += _file_problems(files)
    rules = _rules(member.branch, on)
    state = member_state(member)
    assessment = R.assess_step(
        state,
        step,
        on,
        rules,
        evidence={**ev, "contact_persons": contacts, "introducers": introducers, "approver": approver},
        today=timezone.localdate(),
        working_days=workcalendar.working_days_between,
    )
    raise_if_any(found + assessment.violations)
    assessment.flags += _roster_flags(member, step, ev, rules)

    record = _create_once(
        DevelopmentStep,
        RuleViolation("step_done", _("该步骤刚刚已被登记，请刷新后查看。"), field="step"),
        member=member,
        step=step,
        done_on=on,
        responsible=responsible,
        notes=notes,
        data=_json_safe(ev),
        flags=[f.as_dict() for f in assessment.flags],
        recorded_by=_user(actor),
    )
    for f in files:
        kind = sniff_evidence(_head(f))
        StepEvidence.objects.create(
            step=record,
            file=f,
            original_name=str(getattr(f, "name", ""))[:200],
            content_type=kind[1] if kind else "",
            size=f.size,
        )

    old_status = member.status
    changed = _apply_step(member, step, on, state, rules, contacts, introducers)
    if changed:
        member.save(update_fields=changed)
        _recount(member.branch_id, old_status, member.status)
    audit(
        actor,
        "member.step",
        member,
        step=step,
        done_on=on,
        status=member.status,
        flags=[f.code for f in assessment.flags],
    )
    return record


def _approving_body(
    member: PartyMember, ev: dict[str, Any]
) -> tuple[R.ApprovingBody | None, list[Violation]]:
    """The approving organization of steps 17/24 as the tree knows it: chosen by id, or named
    (approved_by) like one of the branch's higher committees. A name the tree does not hold (a
    county committee) stays as written. Sets ev["approved_by"] to the organization's name."""
    org_id, name = ev.get("approving_org_id"), str(ev.get("approved_by") or "").strip()
    above = list(ancestors(member.branch))
    if org_id is None:
        org = next((o for o in above if o.name == name and o.kind == OrgKind.PARTY_COMMITTEE), None)
    else:
        org = Organization.objects.filter(pk=org_id).first() if isinstance(org_id, int) else None
        if org is None:
            return None, [Violation("approver_unknown", _("找不到所选的审批机关。"), field="approved_by")]
    if org is None:
        return None, []
    in_chain = org in above
    if in_chain:  # a body elsewhere in the tree is not named back (it may be out of the actor's scope)
        ev["approved_by"] = org.name
    ev.pop("approving_org_id", None)
    return R.ApprovingBody(
        name=org.name,
        is_committee=org.kind == OrgKind.PARTY_COMMITTEE,
        above_branch=in_chain,
        under_committee=ancestors(org).filter(kind=OrgKind.PARTY_COMMITTEE).exists(),
    ), []


def _roster_flags(member: PartyMember, step: int, ev: dict[str, Any], rules: RuleSet) -> list[Violation]:
    """A 支部大会 (steps 15, 23) whose entitled voters outnumber the branch's full members is
    flagged, not refused: a meeting recorded from the paper archive may predate departures."""
    entitled = ev.get("entitled")
    if step not in (15, 23) or not isinstance(entitled, int):
        return []
    # The branch's counter, not its rows: a branch may hold full members not (yet) entered here.
    full = member.branch.full_members
    if entitled <= full:
        return []
    return [
        R._violation(
            rules,
            "party.vote.majority_fraction_of_entitled",
            "entitled_above_roster",
            _("应到会有表决权的人数（%(e)d）多于本支部登记的正式党员（%(f)d 名），请核对。")
            % {"e": entitled, "f": full},
            "entitled",
        )
    ]


def _head(f: Any) -> bytes:
    f.seek(0)
    head = f.read(16)
    f.seek(0)
    return head


def _apply_step(
    member: PartyMember,
    step: int,
    on: date,
    state: R.MemberState,
    rules: RuleSet,
    contacts: list[R.Person],
    introducers: list[R.Person],
) -> list[str]:
    """The consequences of a recorded step on the member; returns the fields to save."""
    if step == 2:
        member.talked_on = on
        return ["talked_on", "updated_at"]
    if step == 3:
        member.make_activist(on)
        return ["status", "activist_on", "updated_at"]
    if step == 5:
        ContactPerson.objects.bulk_create(
            [ContactPerson(member=member, person_id=p.id, assigned_on=on) for p in contacts]
        )
    if step == 7:
        member.make_candidate(on)
        return ["status", "candidate_on", "updated_at"]
    if step == 9:
        Introducer.objects.bulk_create(
            [Introducer(member=member, person_id=p.id, assigned_on=on) for p in introducers]
        )
    if step == 17:
        meeting = state.date_of(15)
        member.admit(meeting, R.probation_end(meeting, rules))
        return ["status", "admitted_on", "probation_ends_on", "updated_at"]
    if step == 24:
        admitted = state.date_of(15)
        member.make_full(R.probation_end(admitted, rules, state.extension_months) if admitted else on)
        return ["status", "full_on", "updated_at"]
    return []


@transaction.atomic
def do_extend_probation(
    member: PartyMember,
    *,
    months: int,
    meeting_on: date,
    approved_on: date,
    approved_by: str,
    reason: str,
    actor: Any,
) -> ProbationExtension:
    """延长预备期 (党章 第七条): once, 6–12 months, decided by a 支部大会 and approved above.
    The full-membership date moves with the end of probation."""
    require(actor, "members.change", member.branch)
    member = _locked(member)
    rules = _rules(member.branch, meeting_on)
    state = member_state(member)
    found = R.check_extension(
        state,
        months=months,
        meeting_on=meeting_on,
        approved_on=approved_on,
        extensions_so_far=member.probation_extensions.count(),
        rules=rules,
        today=timezone.localdate(),
    )
    if not (reason or "").strip():
        found.append(Violation("reason_required", _("请填写延长预备期的原因。"), field="reason"))
    if not (approved_by or "").strip():
        found.append(Violation("approver_required", _("请填写批准的上级党组织。"), field="approved_by"))
    elif len(approved_by.strip()) > 120:
        # The column holds 120 characters: refused here rather than a database error (PostgreSQL).
        found.append(Violation("approver_too_long", _("批准机关不能超过 120 个字。"), field="approved_by"))
    raise_if_any(found)
    previous = member.probation_ends_on or R.probation_end(state.date_of(15), rules, state.extension_months)
    new_end = R.add_months(previous, months)
    extension = ProbationExtension.objects.create(
        member=member,
        months=months,
        meeting_on=meeting_on,
        approved_on=approved_on,
        approved_by=approved_by.strip(),
        reason=reason.strip(),
        previous_end=previous,
        new_end=new_end,
        recorded_by=_user(actor),
    )
    member.extend_probation(new_end)
    member.save(update_fields=["probation_ends_on", "updated_at"])
    audit(actor, "member.extend_probation", member, months=months, previous_end=previous, new_end=new_end)
    return extension


@transaction.atomic
def do_cancel_probation(
    member: PartyMember,
    *,
    meeting_on: date,
    approved_on: date,
    approved_by: str,
    reason: str,
    actor: Any,
) -> ProbationCancellation:
    """取消预备党员资格 (党章 第七条): decided by a 支部大会 and approved above, like an
    extension (do_extend_probation), with the reason. The person is no longer a probationary
    member from the approval date (status DISQUALIFIED, off the branch's counter); the
    probation-end and full-membership reminders stop, as they follow probationary members only."""
    require(actor, "members.change", member.branch)
    member = _locked(member)
    rules = _rules(member.branch, meeting_on)
    state = member_state(member)
    found = R.check_cancellation(
        state, meeting_on=meeting_on, approved_on=approved_on, rules=rules, today=timezone.localdate()
    )
    if not (reason or "").strip():
        found.append(Violation("reason_required", _("请填写取消预备党员资格的原因。"), field="reason"))
    if not (approved_by or "").strip():
        found.append(Violation("approver_required", _("请填写批准的上级党组织。"), field="approved_by"))
    elif len(approved_by.strip()) > 120:
        found.append(Violation("approver_too_long", _("批准机关不能超过 120 个字。"), field="approved_by"))
    raise_if_any(found)
    cancellation = ProbationCancellation.objects.create(
        member=member,
        meeting_on=meeting_on,
        approved_on=approved_on,
        approved_by=approved_by.strip(),
        reason=reason.strip(),
        probation_ends_on=member.probation_ends_on,
        recorded_by=_user(actor),
    )
    old_status = member.status
    member.disqualify(approved_on)
    member.save(update_fields=["status", "ended_on", "updated_at"])
    _recount(member.branch_id, old_status, member.status)
    audit(
        actor,
        "member.cancel_probation",
        member,
        meeting_on=meeting_on,
        approved_on=approved_on,
        approved_by=cancellation.approved_by,
    )
    return cancellation


@transaction.atomic
def do_set_dues_rate(
    member: PartyMember,
    year: int,
    *,
    category: str,
    actor: Any,
    income: Any = None,
    amount: Any = None,
    quarterly_approved_on: date | None = None,
    quarterly_approved_by: str = "",
    hardship_approved_on: date | None = None,
    hardship_approved_by: str = "",
) -> DuesRate:
    """Fix a member's dues for `year` (党费规定: set at the start of the year for the whole year).

    `income` is the after-tax salary (在职) or pension (离退休); `amount` the chosen farmer's
    amount (0.2–1) or the approved hardship amount. A year already fixed is not changed.
    """
    require(actor, "members.change", member.branch)
    member = _locked(member)
    found: list[Violation] = []
    if member.status not in MEMBER_STATUSES:
        found.append(
            Violation(
                "dues_not_member",
                _("只有预备党员和正式党员交纳党费，当前身份为“%(s)s”。") % {"s": Status(member.status).label},
            )
        )
    if DuesRate.objects.filter(member=member, year=year).exists():
        found.append(
            Violation(
                "dues_rate_fixed",
                _("%(y)s 年的党费标准已在年初核定，全年不变。") % {"y": year},
                field="year",
            )
        )
    if category == DuesCategory.HARDSHIP and not (hardship_approved_on and hardship_approved_by.strip()):
        found.append(
            Violation(
                "hardship_not_approved", _("减免党费须经党组织批准，请填写批准组织和日期。"), field="category"
            )
        )
    if bool(quarterly_approved_on) != bool(quarterly_approved_by.strip()):
        found.append(
            Violation(
                "quarterly_approval",
                _("按季交纳须同时填写批准组织和批准日期。"),
                field="quarterly_approved_by",
            )
        )
    rules = _rules(member.branch, date(year, 1, 1))
    base = rate = monthly = None
    try:
        base, rate, monthly = R.monthly_dues(category, income, rules, fixed_amount=amount)
    except RuleViolation as exc:
        found += exc.violations
    raise_if_any(found)
    dues = DuesRate.objects.create(
        member=member,
        year=year,
        category=category,
        base=base,
        rate=rate,
        monthly_amount=monthly,
        quarterly_approved_on=quarterly_approved_on,
        quarterly_approved_by=quarterly_approved_by.strip(),
        hardship_approved_on=hardship_approved_on,
        hardship_approved_by=hardship_approved_by.strip(),
        set_by=_user(actor),
    )
    member.dues_category, member.dues_base = category, base
    member.save(update_fields=["dues_category", "dues_base", "updated_at"])
    audit(actor, "dues.set_rate", member, year=year, category=category, base=base, rate=rate, monthly=monthly)
    return dues


@transaction.atomic
def do_record_dues_payment(
    member: PartyMember,
    *,
    period_start: date,
    paid_on: date,
    idempotency_key: str,
    actor: Any,
    months: int = 1,
    method: str = PaymentMethod.MONTHLY,
    amount: Any = None,
    note: str = "",
) -> DuesPayment:
    """Record one dues payment (党费规定 一(三)). Idempotent: the same key returns the payment
    already recorded. Monthly, or quarterly with approval; back/pre-payment at most 6 months;
    each month once; at least the amount due; 1000 yuan or more flagged (上缴中央)."""
    require(actor, "members.change", member.branch)
    _check_date(paid_on, "paid_on")
    key = (idempotency_key or "").strip()
    if not key or len(key) > 80:
        raise RuleViolation(
            "idempotency_key",
            _("请提供 1 至 80 个字符的幂等键（同一笔交纳重试时使用同一个键）。"),
            field="idempotency_key",
        )
    paid_amount = None if amount is None else R.parse_amount(amount, field="amount", label=_("交纳金额"))
    existing = DuesPayment.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _replayed(existing, member, period_start, months, paid_amount)
    member = _locked(member)
    found: list[Violation] = []
    if member.status not in MEMBER_STATUSES:
        found.append(
            Violation(
                "dues_not_member",
                _("只有预备党员和正式党员交纳党费，当前身份为“%(s)s”。") % {"s": Status(member.status).label},
            )
        )
    if method not in PaymentMethod.values:
        found.append(Violation("payment_method", _("交纳方式应为按月或按季。"), field="method"))
    period_start = R.month_of(period_start)
    last = R.add_months(period_start, max(months, 1) - 1)
    rates = {
        r.year: r
        for r in DuesRate.objects.filter(member=member, year__gte=period_start.year, year__lte=last.year)
    }
    already = [
        m
        for p in DuesPayment.objects.filter(
            member=member, period_start__lte=last, period_end__gte=period_start
        )
        for m in R.covered_months(p.period_start, p.months)
    ]
    start_rate = rates.get(period_start.year)
    assessment, due = R.check_payment(
        paid_on=paid_on,
        period_start=period_start,
        months=months,
        method=method,
        amount=paid_amount,
        monthly_amounts={y: r.monthly_amount for y, r in rates.items()},
        quarterly_approved=bool(start_rate and start_rate.quarterly_approved),
        already_paid=already,
        dues_from=member.admitted_on,
        rules=_rules(member.branch, paid_on),
    )
    raise_if_any(found + assessment.violations)
    try:
        with transaction.atomic():
            payment = DuesPayment.objects.create(
                member=member,
                period_start=period_start,
                period_end=last,
                months=months,
                amount=due if paid_amount is None else paid_amount,
                amount_due=due,
                paid_on=paid_on,
                method=method,
                large_payment=any(f.code == "large_payment" for f in assessment.flags),
                idempotency_key=key,
                note=note[:200],
                recorded_by=_user(actor),
            )
    except IntegrityError:  # the same key raced in from a retry: answer with the stored payment
        return _replayed(
            DuesPayment.objects.get(idempotency_key=key), member, period_start, months, paid_amount
        )
    audit(
        actor,
        "dues.payment",
        member,
        payment=payment.pk,
        period_start=period_start,
        months=months,
        amount=payment.amount,
        large=payment.large_payment,
    )
    return payment


def _replayed(
    existing: DuesPayment, member: PartyMember, period_start: date, months: int, amount: Decimal | None
) -> DuesPayment:
    same = (
        existing.member_id == member.pk
        and existing.period_start == R.month_of(period_start)
        and existing.months == months
        and (amount is None or existing.amount == amount)
    )
    if not same:
        raise RuleViolation(
            "idempotency_conflict",
            _("该幂等键已用于另一笔党费交纳，请为新的交纳使用新的键。"),
            field="idempotency_key",
        )
    return existing
