"""Meeting rules as pure functions (party.md §3, §4, §8, §9).

No database and no request: every number comes in as a RuleSet (keys meetings.* from
core/rules_data/meetings.json, party.vote.* and party.election.* from party.json). The vote and
election arithmetic is members.rules.branch_meeting_result / election_result; the functions
here only add what a meeting needs around them (ballot totals, checks before a poll opens,
the shortfall of an election) — never a second copy of that arithmetic.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from cryptography.hazmat.primitives import constant_time, hashes, hmac
from django.utils.translation import gettext as _

from dangqun.core.errors import Violation
from dangqun.core.rulesets import RuleSet
from dangqun.members.rules import (
    ElectionResult,
    MeetingResult,
    _violation,
    branch_meeting_result,
    election_result,
    fraction,
    more_than,
)

from .choices import ComplianceState, Grade, MeetingKind, VillageBody

# ---------------------------------------------------------------------------------------------
# Rotating sign-in codes (party.md §9: a static link anyone can forward is no proof)
# ---------------------------------------------------------------------------------------------

CODE_LENGTH = 8  # base32: 40 bits, against at most a few accepted codes a minute
CODE_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def time_step(at: datetime, step_seconds: int) -> int:
    """The number of the `step_seconds` slot `at` falls in (Unix time, so the same everywhere)."""
    return math.floor(at.timestamp()) // step_seconds


def step_ends_at(step: int, step_seconds: int, tz: Any) -> datetime:
    return datetime.fromtimestamp((step + 1) * step_seconds, tz)


def signin_code(secret: bytes, meeting_id: int, step: int) -> str:
    """HMAC-SM3 of the meeting and the time step, as 8 base32 letters/digits."""
    mac = hmac.HMAC(secret, hashes.SM3())
    mac.update(f"dangqun.meetings.signin:{meeting_id}:{step}".encode())
    return base64.b32encode(mac.finalize()).decode()[:CODE_LENGTH]


def normalize_code(code: str) -> str:
    """What a person types: spaces, dashes and lower case are forgiven."""
    return "".join(c for c in (code or "").upper() if c not in " -\t")[:64]


def code_matches(secret: bytes, meeting_id: int, code: str, seen_at: datetime, rules: RuleSet) -> bool:
    """The code is the one shown at `seen_at` or one of the `accepted_steps - 1` before it."""
    code = normalize_code(code)
    if len(code) != CODE_LENGTH or not set(code) <= CODE_ALPHABET:
        return False
    now = time_step(seen_at, rules["meetings.signin.step_seconds"])
    ok = False
    for back in range(max(1, rules["meetings.signin.accepted_steps"])):
        # Compare every accepted code (no early exit): timing says nothing about which matched.
        ok |= constant_time.bytes_eq(signin_code(secret, meeting_id, now - back).encode(), code.encode())
    return ok


def signin_window(starts_at: datetime, ends_at: datetime | None, rules: RuleSet) -> tuple[datetime, datetime]:
    """Sign-in opens some minutes before the start and closes at the end (or after the default
    duration when no end is set)."""
    opens = starts_at - timedelta(minutes=rules["meetings.signin.opens_minutes_before"])
    closes = ends_at or starts_at + timedelta(minutes=rules["meetings.signin.default_duration_minutes"])
    return opens, closes


def check_sign_in(
    *,
    code_ok: bool,
    seen_at: datetime,
    now: datetime,
    starts_at: datetime,
    ends_at: datetime | None,
    rules: RuleSet,
) -> list[Violation]:
    """Every reason to refuse a sign-in: outside the window, an old or wrong code, a scan
    confirmed too late."""
    found: list[Violation] = []
    opens, closes = signin_window(starts_at, ends_at, rules)
    if not opens <= seen_at <= closes:
        found.append(
            _violation(
                rules,
                "meetings.signin.opens_minutes_before",
                "signin_closed",
                _("不在签到时间内：本次会议 %(opens)s 至 %(closes)s 可以签到。")
                % {"opens": _local(opens), "closes": _local(closes)},
                "code",
            )
        )
    if not code_ok:
        found.append(
            _violation(
                rules,
                "meetings.signin.step_seconds",
                "signin_code",
                _("签到码不正确或已过期：请扫描会场上正在显示的二维码。"),
                "code",
            )
        )
    confirm = rules["meetings.signin.confirm_seconds"]
    if seen_at > now or (now - seen_at).total_seconds() > confirm:
        found.append(
            _violation(
                rules,
                "meetings.signin.confirm_seconds",
                "signin_late",
                _("扫码后 %(s)d 秒内未确认签到，请重新扫描会场上的二维码。") % {"s": confirm},
                "code",
            )
        )
    return found


def _local(at: datetime) -> str:
    from django.utils import timezone

    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------------------------
# Votes of a 支部党员大会 (members.rules.branch_meeting_result does the arithmetic)
# ---------------------------------------------------------------------------------------------


def quorum_problems(entitled: int, present: int, rules: RuleSet) -> list[Violation]:
    """Why a vote cannot be taken now: no entitled voter, or no quorum (more than half)."""
    result = branch_meeting_result(entitled, present, 0, rules=rules)
    return [v for v in result.violations if v.code in ("vote_counts", "vote_no_quorum")]


def vote_outcome(
    *,
    entitled: int,
    present: int,
    in_favour: int,
    against: int,
    abstain: int,
    written_for: int,
    written_against: int,
    written_abstain: int,
    rules: RuleSet,
) -> MeetingResult:
    """The outcome with the written opinions; ballots cast cannot exceed those present."""
    result = branch_meeting_result(
        entitled,
        present,
        in_favour,
        written_for,
        written_for + written_against + written_abstain,
        rules=rules,
    )
    cast = in_favour + against + abstain
    if min(in_favour, against, abstain) < 0 or cast > present:
        v = _violation(
            rules,
            "party.vote.quorum_fraction",
            "vote_counts",
            _("赞成、反对、弃权合计 %(n)d 票，不能多于实到有表决权的 %(p)d 人。") % {"n": cast, "p": present},
            "in_favour",
        )
        return MeetingResult(False, False, result.quorum_needed, result.votes_needed, result.votes_for, [v])
    return result


# ---------------------------------------------------------------------------------------------
# Quorum of a meeting recorded as held (支部工作条例 第十一条, 第十二条)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quorum:
    """Whether a meeting had its quorum: `present` of `base` against `needed` (the smallest
    number strictly more than the rule's share). `violation` says why not, with its source."""

    base: int
    present: int
    needed: int
    quorate: bool
    source: str
    violation: Violation | None = None


def assembly_quorum(entitled: int, present: int, rules: RuleSet) -> Quorum:
    """支部党员大会: more than half of the members with a vote present (the same arithmetic as a
    vote, members.rules.branch_meeting_result); probationary members do not count."""
    key = "party.vote.quorum_fraction"
    result = branch_meeting_result(entitled, present, 0, rules=rules)
    violation = None
    if not result.quorum:
        violation = _violation(
            rules,
            key,
            "meeting_no_quorum",
            _(
                "到会有表决权的党员 %(p)d 人，未超过应到会 %(e)d 人的%(f)s（至少 %(n)d 人）："
                "会议未达到法定人数，不能作出决定，不计入召开次数。"
            )
            % {"p": present, "e": entitled, "f": _frac(fraction(rules[key])), "n": result.quorum_needed},
            "attendance",
        )
    return Quorum(entitled, present, result.quorum_needed, result.quorum, rules.source(key), violation)


def committee_quorum(members: int, present: int, rules: RuleSet) -> Quorum:
    """支委会: more than half of the committee members present ("半数以上委员到会方可进行",
    read as strictly more than half, like every quorum here): 3 of 5 is a quorum, 2 of 4 not."""
    key = "meetings.committee.quorum_fraction"
    share = fraction(rules[key])
    needed = more_than(members, share)
    quorate = members > 0 and Fraction(present) > members * share
    violation = None
    if not quorate:
        violation = _violation(
            rules,
            key,
            "meeting_no_quorum",
            _(
                "到会委员 %(p)d 人，未超过应到 %(e)d 人的%(f)s（至少 %(n)d 人）："
                "支委会未达到法定人数，不能作出决定，不计入召开次数。"
            )
            % {"p": present, "e": members, "f": _frac(share), "n": needed},
            "attendance",
        )
    return Quorum(members, present, needed, quorate, rules.source(key), violation)


# ---------------------------------------------------------------------------------------------
# Elections (members.rules.election_result does the arithmetic)
# ---------------------------------------------------------------------------------------------


def candidates_needed(seats: int, rules: RuleSet) -> int:
    """差额: the fewest candidates for `seats` (more than seats × (1 + 20%), by the rule set)."""
    return election_result(1, 1, {}, max(seats, 1), rules=rules).candidates_needed


def election_problems(
    entitled: int, present: int, candidates: int, seats: int, rules: RuleSet
) -> list[Violation]:
    """Why an election cannot be held now: turnout (more than 4/5), 差额, the counts."""
    result = election_result(entitled, present, {str(i): 0 for i in range(candidates)}, seats, rules=rules)
    return result.violations


@dataclass(frozen=True)
class ElectionOutcome:
    result: ElectionResult
    shortfall: int  # seats left empty: too few reached more than half, or a tie to break

    @property
    def notes(self) -> list[str]:
        out = []
        if self.result.runoff:
            out.append(
                _("%(n)d 名候选人得票相等且超过半数，名额不足：应就他们再次投票。")
                % {"n": len(self.result.runoff)}
            )
        if self.shortfall:
            out.append(
                _("应选名额中有 %(n)d 名未选出（得票未超过实到人数的半数或得票相等）：可就不足名额另行选举。")
                % {"n": self.shortfall}
            )
        return out


def election_outcome(
    entitled: int, present: int, votes: Mapping[str, int], seats: int, rules: RuleSet
) -> ElectionOutcome:
    result = election_result(entitled, present, votes, seats, rules=rules)
    shortfall = max(0, seats - len(result.elected)) if result.valid else 0
    return ElectionOutcome(result, shortfall)


def ballot_problems(selections: Iterable[int], candidate_ids: Iterable[int], seats: int) -> list[Violation]:
    """A ballot marks each listed candidate at most once and at most `seats` of them."""
    chosen, allowed = list(selections), set(candidate_ids)
    found = []
    if len(set(chosen)) != len(chosen) or not set(chosen) <= allowed:
        found.append(
            Violation(
                "ballot_candidates", _("选票上只能选择本次选举的候选人，每人一次。"), field="candidates"
            )
        )
    if len(set(chosen)) > seats:
        found.append(
            Violation(
                "ballot_too_many",
                _("最多选 %(s)d 人，您选了 %(n)d 人（多选的选票无效）。")
                % {"s": seats, "n": len(set(chosen))},
                field="candidates",
            )
        )
    return found


# ---------------------------------------------------------------------------------------------
# 四议两公开 (party.md §8)
# ---------------------------------------------------------------------------------------------


@dataclass
class StepCheck:
    """Blocking problems (the step cannot be recorded) and whether the matter was adopted."""

    problems: list[Violation] = field(default_factory=list)
    adopted: bool = True
    summary: str = ""


def _count_problems(rules: RuleSet, key: str, total: int, present: int, in_favour: int) -> list[Violation]:
    if min(total, present, in_favour) < 0 or total == 0 or present > total or in_favour > present:
        return [
            _violation(
                rules,
                key,
                "decision_counts",
                _("人数有误：应到人数应大于 0，实到不能多于应到，赞成不能多于实到。"),
                "present",
            )
        ]
    return []


def _days_before(
    rules: RuleSet, key: str, code: str, sent_on: date | None, held_on: date, what: str, fld: str
):
    need = rules[key]
    if sent_on is None or (held_on - sent_on).days < need:
        earliest = held_on - timedelta(days=need)
        return _violation(
            rules,
            key,
            code,
            _("%(what)s应至少在会前 %(n)d 天（不晚于 %(d)s）。") % {"what": what, "n": need, "d": earliest},
            fld,
        )
    return None


def check_member_review(
    *, plan_sent_on: date | None, held_on: date, entitled: int, present: int, in_favour: int, rules: RuleSet
) -> StepCheck:
    """党员大会审议: the plan sent to members at least 3 days before; at least 2/3 present; more
    than half of the entitled in favour (a failed vote is recorded: the matter stops there)."""
    out = StepCheck(
        problems=_count_problems(
            rules, "meetings.village.party_quorum_fraction", entitled, present, in_favour
        )
    )
    v = _days_before(
        rules,
        "meetings.village.party_plan_notice_days",
        "plan_notice",
        plan_sent_on,
        held_on,
        _("审议方案送达党员"),
        "plan_sent_on",
    )
    if v:
        out.problems.append(v)
    if out.problems:
        return out
    q = fraction(rules["meetings.village.party_quorum_fraction"])
    m = fraction(rules["meetings.village.party_majority_fraction_of_entitled"])
    if Fraction(present) < entitled * q:
        out.problems.append(
            _violation(
                rules,
                "meetings.village.party_quorum_fraction",
                "review_quorum",
                _("到会党员 %(p)d 人，不足应到 %(e)d 人的 %(f)s（至少 %(n)d 人），会议无效。")
                % {"p": present, "e": entitled, "f": _frac(q), "n": math.ceil(entitled * q)},
                "present",
            )
        )
        return out
    out.adopted = Fraction(in_favour) > entitled * m
    out.summary = _("应到 %(e)d 人，实到 %(p)d 人，赞成 %(v)d 人（须超过 %(n)d 人）。") % {
        "e": entitled,
        "p": present,
        "v": in_favour,
        "n": math.floor(entitled * m),
    }
    return out


def check_village_decision(
    *,
    body: str,
    notice_on: date | None,
    held_on: date,
    total: int,
    present: int,
    in_favour: int,
    rules: RuleSet,
    by_households: bool = False,
) -> StepCheck:
    """村民会议: notice 10 days before; more than half of the villagers (18+) or at least 2/3 of the
    households represented; more than half of those present in favour.
    村民代表会议: at least 2/3 of the representatives present; more than half of those present."""
    if body == VillageBody.VILLAGERS:
        qkey = (
            "meetings.village.households_quorum_fraction"
            if by_households
            else "meetings.village.villagers_quorum_fraction"
        )
        mkey = "meetings.village.villagers_majority_fraction_of_present"
    else:
        qkey = "meetings.village.representatives_quorum_fraction"
        mkey = "meetings.village.representatives_majority_fraction_of_present"
    out = StepCheck(problems=_count_problems(rules, qkey, total, present, in_favour))
    if body == VillageBody.VILLAGERS:
        v = _days_before(
            rules,
            "meetings.village.villagers_notice_days",
            "villagers_notice",
            notice_on,
            held_on,
            _("召集村民会议的通知"),
            "notice_on",
        )
        if v:
            out.problems.append(v)
    if out.problems:
        return out
    q, m = fraction(rules[qkey]), fraction(rules[mkey])
    # 过半数 is strictly more than half; 三分之二以上 includes two thirds itself.
    strict = qkey == "meetings.village.villagers_quorum_fraction"
    quorum = Fraction(present) > total * q if strict else Fraction(present) >= total * q
    if not quorum:
        need = more_than(total, q) if strict else math.ceil(total * q)
        out.problems.append(
            _violation(
                rules,
                qkey,
                "village_quorum",
                _("到会 %(p)d，未达到应到 %(t)d 的%(f)s（至少 %(n)d），会议无效。")
                % {"p": present, "t": total, "f": (_("过半数") if strict else _frac(q)), "n": need},
                "present",
            )
        )
        return out
    out.adopted = Fraction(in_favour) > present * m
    out.summary = _("应到 %(t)d，实到 %(p)d，赞成 %(v)d（须超过到会人数的半数）。") % {
        "t": total,
        "p": present,
        "v": in_favour,
    }
    return out


def _frac(f: Fraction) -> str:
    return _("半数") if f == Fraction(1, 2) else f"{f.numerator}/{f.denominator}"


# ---------------------------------------------------------------------------------------------
# 民主评议党员
# ---------------------------------------------------------------------------------------------


def excellent_cap(graded: int, rules: RuleSet) -> int:
    """At most this many 优秀: the graded participants × the rule's fraction, rounded down."""
    return math.floor(graded * fraction(rules["meetings.appraisal.excellent_cap_fraction"]))


def grade_problems(
    grades: Mapping[int, str], *, graded_ids: Iterable[int], ungraded_ids: Iterable[int], rules: RuleSet
) -> list[Violation]:
    """Every problem with a full set of grades (member id → grade, "" for none)."""
    graded, ungraded = set(graded_ids), set(ungraded_ids)
    found: list[Violation] = []
    unknown = [pk for pk in grades if pk not in graded and pk not in ungraded]
    if unknown:
        found.append(Violation("appraisal_unknown", _("评议名单中没有这些党员。"), field="grades"))
    if any(grades.get(pk) for pk in ungraded):
        found.append(
            Violation("appraisal_probationary", _("预备党员参加民主评议，但不评定等次。"), field="grades")
        )
    if any(g and g not in Grade.values for g in grades.values()):
        found.append(
            Violation("appraisal_grade", _("等次只能是优秀、合格、基本合格或不合格。"), field="grades")
        )
    cap = excellent_cap(len(graded), rules)
    excellent = sum(1 for pk in graded if grades.get(pk) == Grade.EXCELLENT)
    if excellent > cap:
        found.append(
            _violation(
                rules,
                "meetings.appraisal.excellent_cap_fraction",
                "appraisal_excellent_cap",
                _("评为优秀的有 %(n)d 人，超过了上限 %(cap)d 人（参加评定等次的 %(g)d 人的 %(f)s）。")
                % {
                    "n": excellent,
                    "cap": cap,
                    "g": len(graded),
                    "f": _frac(fraction(rules["meetings.appraisal.excellent_cap_fraction"])),
                },
                "grades",
            )
        )
    return found


# ---------------------------------------------------------------------------------------------
# Compliance of a branch in a quarter (party.md §3): procedure, never a ranking of people
# ---------------------------------------------------------------------------------------------

PERIOD_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}


@dataclass(frozen=True)
class Frequency:
    period: str
    times: int
    per: str = ""  # "member": every member, once per period (谈心谈话)


# A duty of the report that is not a kind of meeting: the secretary's own 党课 (第十五条),
# counted from the 党课 recorded as given by the branch's secretary.
SECRETARY_LECTURE = "secretary_lecture"
DUTIES = [*MeetingKind.values, SECRETARY_LECTURE]


def duty_label(kind: str) -> str:
    return str(MeetingKind(kind).label) if kind in MeetingKind.values else _("书记讲党课")


def frequency(kind: str, rules: RuleSet) -> Frequency:
    value = rules[f"meetings.frequency.{kind}"]
    return Frequency(value["period"], int(value["times"]), value.get("per", ""))


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    first = date(year, 3 * quarter - 2, 1)
    last_month = 3 * quarter
    last = date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1)
    return first, last - timedelta(days=1)


def _month_end(year: int, month: int) -> date:
    return (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)) - timedelta(days=1)


@dataclass
class PeriodCheck:
    label: str
    held: int
    required: int
    state: str
    not_quorate: int = 0  # meetings held without their quorum: on record, not counted
    note: str = ""


@dataclass
class ComplianceItem:
    kind: str
    label: str
    state: str
    periods: list[PeriodCheck] = field(default_factory=list)
    expected: int = 0  # attendance over the meetings held in the quarter
    present: int = 0
    leave: int = 0
    note: str = ""
    source: str = ""

    @property
    def attendance_rate(self) -> str | None:
        if not self.expected:
            return None
        return f"{self.present * 100 / self.expected:.1f}%"


@dataclass(frozen=True)
class BranchFacts:
    """What the report needs of a branch, gathered by queries.compliance_report."""

    has_committee: bool
    groups: list[tuple[int, str]]  # (id, name) of its party groups
    members: int  # probationary + full members now (谈心谈话 is owed to each of them)
    members_talked: int  # of them, how many had a talk this year up to the quarter's end


def _state_of(held: int, required: int, ends: date, starts: date, today: date) -> str:
    if held >= required:
        return ComplianceState.OK
    if today <= ends or starts > today:
        return ComplianceState.PENDING
    return ComplianceState.MISSING


def _overall(periods: list[PeriodCheck]) -> str:
    states = {p.state for p in periods}
    for s in (ComplianceState.MISSING, ComplianceState.PENDING):
        if s in states:
            return s
    return ComplianceState.OK


def assess_compliance(
    year: int,
    quarter: int,
    *,
    today: date,
    facts: BranchFacts,
    held: Mapping[tuple[str, int | None, int], int],
    attendance: Mapping[str, tuple[int, int, int]],
    rules: RuleSet,
    not_quorate: Mapping[tuple[str, int | None, int], int] | None = None,
) -> list[ComplianceItem]:
    """One item per kind of meeting, and one for the secretary's own 党课: the periods of the
    rule that touch this quarter, how many were held in each (counted from the period's start
    up to the quarter's end), and the attendance of the meetings held in the quarter.

    `held[(kind, group_id or None, month)]`: meetings held in that month of `year` WITH their
    quorum (or without a quorum rule); `held[("secretary_lecture", None, month)]`: 党课 given
    by the secretary. `not_quorate[...]`: meetings held without their quorum — they count for
    nothing, the period names them as its reason.
    `attendance[kind]`: (expected, present, on leave) over the quarter's held meetings.
    """
    not_quorate = not_quorate or {}
    q_first, q_last = quarter_bounds(year, quarter)
    # The report speaks as of the quarter's end (or today, in a running quarter): a yearly duty
    # is not missing in a second-quarter report.
    today = min(today, q_last + timedelta(days=1))
    items = []
    for kind in DUTIES:
        freq = frequency(kind, rules)
        item = ComplianceItem(kind, duty_label(kind), ComplianceState.OK)
        item.source = rules.source(f"meetings.frequency.{kind}")
        item.expected, item.present, item.leave = attendance.get(kind, (0, 0, 0))
        span = PERIOD_MONTHS.get(freq.period, 3)
        if kind == MeetingKind.COMMITTEE and not facts.has_committee:
            item.state, item.note = ComplianceState.NOT_APPLICABLE, _("未设支部委员会")
            items.append(item)
            continue
        if kind == MeetingKind.GROUP and not facts.groups:
            item.state, item.note = ComplianceState.NOT_APPLICABLE, _("未设党小组")
            items.append(item)
            continue
        if freq.per == "member":
            if not facts.members:
                item.state, item.note = ComplianceState.NOT_APPLICABLE, _("没有党员")
                items.append(item)
                continue
            start_month = (q_last.month - 1) // span * span + 1
            p_first, p_last = date(year, start_month, 1), _month_end(year, start_month + span - 1)
            state = _state_of(facts.members_talked, facts.members, p_last, p_first, today)
            item.periods = [
                PeriodCheck(
                    _("%(a)s 至 %(b)s 谈到的党员") % {"a": p_first, "b": min(p_last, q_last)},
                    facts.members_talked,
                    facts.members,
                    state,
                )
            ]
            item.state = state
            items.append(item)
            continue
        owners: list[tuple[int | None, str]] = facts.groups if kind == MeetingKind.GROUP else [(None, "")]
        for owner_id, owner_name in owners:
            # The periods of this frequency that overlap the quarter.
            month = (q_first.month - 1) // span * span + 1
            while month <= q_last.month:
                p_first, p_last = date(year, month, 1), _month_end(year, month + span - 1)
                months = range(month, min(month + span, q_last.month + 1))
                count = sum(held.get((kind, owner_id, m), 0) for m in months)
                failed = sum(not_quorate.get((kind, owner_id, m), 0) for m in months)
                if span == 1:
                    label = _("%(m)d月") % {"m": month}
                elif span == 3:
                    label = _("第%(q)d季度") % {"q": (month - 1) // 3 + 1}
                elif span == 6:
                    label = _("上半年") if month == 1 else _("下半年")
                else:
                    label = _("%(y)d年（截至本季度末）") % {"y": year}
                if owner_name:
                    label = f"{owner_name} {label}"
                check = PeriodCheck(
                    label, count, freq.times, _state_of(count, freq.times, p_last, p_first, today)
                )
                if failed:
                    check.not_quorate = failed
                    check.note = _("%(n)d 次会议未达到法定人数，不计入") % {"n": failed}
                item.periods.append(check)
                month += span
        item.state = _overall(item.periods)
        items.append(item)
    return items
