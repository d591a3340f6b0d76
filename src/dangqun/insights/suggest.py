"""Turning a month's aggregates into concrete, explainable improvement suggestions (issue 5 item 5).

Each rule reads the pre-aggregated statistics, compares them with a threshold of the versioned
rule set (core/rules_data/insights.json: insights.*), and yields a Candidate carrying every
number it was decided on (the evidence is shown beside the suggestion). `measure` recomputes
the same figure for another month, so an accepted suggestion shows its effect next month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from dangqun.core.rulesets import RuleSet, ruleset_for
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

from .choices import RESIDENT_GROUPS, Group, SuggestionKind
from .models import REASON_FIELDS, CaseStat, NoticeMaterialStat, RatingStat, Suggestion
from .queries import mean, ratio, top_search_misses
from .stats import next_month

# Is a higher figure better? Decides how the effect next month is worded.
HIGHER_IS_BETTER = {
    SuggestionKind.NOTICE_MATERIAL: False,
    SuggestionKind.ON_TIME_LOW: True,
    SuggestionKind.GROUP_LOW: True,
    SuggestionKind.SEARCH_MISS: False,
    SuggestionKind.OVERDUE_FIXES: False,
    SuggestionKind.BAD_REASON: False,
}


@dataclass
class Candidate:
    kind: str
    unit_id: int
    subject: str
    subject_label: str
    metric: float
    baseline: float | None
    evidence: dict[str, Any] = field(default_factory=dict)


def thresholds(m: date) -> RuleSet:
    return ruleset_for(None, next_month(m) - timedelta(days=1), prefix="insights.")


def _item_names(ids: set[int]) -> dict[int, str]:
    from dangqun.onestop.models import ServiceItem

    return dict(ServiceItem.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def _org_names(ids: set[int]) -> dict[int, str]:
    return dict(Organization.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def _case_rows(m: date, **where: Any) -> list[dict[str, Any]]:
    return list(
        CaseStat.objects.filter(month=m, **where)
        .values("unit_id", "item_id")
        .annotate(
            s=Sum("submitted"),
            n=Sum("noticed"),
            c=Sum("completed"),
            o=Sum("on_time"),
            t=Sum("timed"),
            w=Sum("work_days"),
        )
        .order_by("unit_id", "item_id")
    )


def _item_candidate(
    kind: str, row: dict[str, Any], names: dict[int, str], metric: float, baseline: float, **evidence: Any
) -> Candidate:
    """A suggestion about one service item of one unit (a _case_rows row): its subject is the
    item, labelled by name (#id once the item is gone), and its evidence names the item first."""
    item = row["item_id"]
    return Candidate(
        kind,
        row["unit_id"],
        str(item),
        names.get(item, f"#{item}"),
        metric,
        baseline,
        {"item": names.get(item, ""), **evidence},
    )


def notice_candidates(m: date, rules: RuleSet) -> Iterator[Candidate]:
    rows = [
        r
        for r in _case_rows(m)
        if (r["s"] or 0) >= rules["insights.min_applications"]
        and ratio(r["n"], r["s"]) is not None
        and ratio(r["n"], r["s"]) >= rules["insights.notice_share_min"]
    ]
    names = _item_names({r["item_id"] for r in rows})
    for r in rows:
        top = (
            NoticeMaterialStat.objects.filter(month=m, item_id=r["item_id"])
            .values_list("material")
            .annotate(k=Sum("count"))
            .order_by("-k", "material")
            .first()
        )
        share = ratio(r["n"], r["s"]) or 0.0
        yield _item_candidate(
            SuggestionKind.NOTICE_MATERIAL,
            r,
            names,
            share,
            rules["insights.notice_share_min"],
            submitted=r["s"],
            noticed=r["n"],
            share=share,
            material=top[0] if top else "",
            material_count=top[1] if top else 0,
        )


def on_time_candidates(m: date, rules: RuleSet) -> Iterator[Candidate]:
    rows = [
        r
        for r in _case_rows(m)
        if (r["c"] or 0) >= rules["insights.min_applications"]
        and (ratio(r["o"], r["c"]) or 0) < rules["insights.on_time_min"]
    ]
    names = _item_names({r["item_id"] for r in rows})
    for r in rows:
        rate = ratio(r["o"], r["c"]) or 0.0
        yield _item_candidate(
            SuggestionKind.ON_TIME_LOW,
            r,
            names,
            rate,
            rules["insights.on_time_min"],
            completed=r["c"],
            on_time=r["o"],
            rate=rate,
            avg_days=mean(r["w"], r["t"]),
        )


def _group_sums(m: date, by: str, **where: Any) -> dict[int, dict[str, tuple[int, int]]]:
    out: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    for key, group, n, levels in (
        RatingStat.objects.filter(month=m, **where)
        .values_list(by, "group")
        .annotate(n=Sum("count"), s=Sum("level_sum"))
        .order_by()
    ):
        out[key][group] = (n or 0, levels or 0)
    return out


def group_candidates(m: date, rules: RuleSet) -> Iterator[Candidate]:
    """A resident group rates a unit (or a window) clearly lower than everyone else does."""
    least, gap = rules["insights.min_group_ratings"], rules["insights.group_gap"]
    found: list[tuple[int, str, dict[str, Any]]] = []
    for by, where in (("unit_id", {}), ("window_id", {"window_id__gt": 0})):
        for key, groups in _group_sums(m, by, **where).items():
            all_n, all_s = groups.get(Group.ALL.value, (0, 0))
            for g in RESIDENT_GROUPS:
                n, s = groups.get(g.value, (0, 0))
                others_n, others_s = all_n - n, all_s - s
                if n < least or others_n < least:
                    continue
                group_avg, others_avg = s / n, others_s / others_n
                if others_avg - group_avg >= gap:
                    found.append(
                        (
                            key,
                            f"{by.removesuffix('_id')}:{g.value}",
                            {
                                "group": g.value,
                                "n": n,
                                "group_avg": round(group_avg, 2),
                                "others_avg": round(others_avg, 2),
                                "others_n": others_n,
                                "window": by == "window_id",
                            },
                        )
                    )
    names = _org_names({k for k, _s, _e in found})
    for key, subject, ev in found:
        ev["unit"] = names.get(key, "")
        yield Candidate(
            SuggestionKind.GROUP_LOW,
            key,
            subject,
            names.get(key, f"#{key}"),
            ev["group_avg"],
            ev["others_avg"],
            ev,
        )


def search_candidates(m: date, rules: RuleSet) -> Iterator[Candidate]:
    root = Organization.objects.filter(parent__isnull=True, kind=OrgKind.STREET).order_by("path").first()
    if root is None:
        return
    for query, n, days in top_search_misses(m, limit=50):
        if n >= rules["insights.search_miss_min"]:
            yield Candidate(
                SuggestionKind.SEARCH_MISS,
                root.pk,
                query[:120],
                query,
                float(n),
                float(rules["insights.search_miss_min"]),
                {"query": query, "count": n, "days": days},
            )


def overdue_candidates(m: date, rules: RuleSet) -> Iterator[Candidate]:
    """Live: fixes past their deadline now. Only for the current or the previous month."""
    from dangqun.feedback.choices import OPEN_FIX_STATES
    from dangqun.feedback.models import Fix

    today = timezone.localdate()
    if next_month(next_month(m)) <= today.replace(day=1):
        return
    rows = list(
        Fix.objects.filter(state__in=OPEN_FIX_STATES)
        .values("unit_id")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due__lt=today)), oldest=Min("due"))
        .filter(overdue__gt=0)
        .order_by("unit_id")
    )
    names = _org_names({r["unit_id"] for r in rows})
    for r in rows:
        yield Candidate(
            SuggestionKind.OVERDUE_FIXES,
            r["unit_id"],
            "fixes",
            names.get(r["unit_id"], ""),
            float(r["overdue"]),
            0.0,
            {
                "unit": names.get(r["unit_id"], ""),
                "overdue": r["overdue"],
                "open": r["open"],
                "oldest": r["oldest"].isoformat(),
                "as_of": today.isoformat(),
            },
        )


def reason_candidates(m: date, rules: RuleSet) -> Iterator[Candidate]:
    rows = list(
        RatingStat.objects.filter(month=m, group=Group.ALL)
        .values("unit_id")
        .annotate(l1=Sum("l1"), l2=Sum("l2"), **{f"r_{c}": Sum(f"r_{c}") for c in REASON_FIELDS})
        .order_by("unit_id")
    )
    names = _org_names({r["unit_id"] for r in rows})
    for r in rows:
        bad = (r["l1"] or 0) + (r["l2"] or 0)
        if bad < rules["insights.min_bad"]:
            continue
        code, count = max(
            ((c, r[f"r_{c}"] or 0) for c in REASON_FIELDS if c != "other"), key=lambda x: (x[1], x[0])
        )
        share = count / bad
        if share >= rules["insights.reason_share_min"]:
            yield Candidate(
                SuggestionKind.BAD_REASON,
                r["unit_id"],
                code,
                names.get(r["unit_id"], ""),
                round(share, 4),
                rules["insights.reason_share_min"],
                {
                    "unit": names.get(r["unit_id"], ""),
                    "reason": code,
                    "count": count,
                    "bad": bad,
                    "share": round(share, 4),
                },
            )


RULES = (
    notice_candidates,
    on_time_candidates,
    group_candidates,
    search_candidates,
    overdue_candidates,
    reason_candidates,
)


def candidates(m: date) -> list[Candidate]:
    rules = thresholds(m)
    return [c for rule in RULES for c in rule(m, rules)]


# --- effect next month --------------------------------------------------------------------------


def measure(s: Suggestion, m: date) -> float | None:
    """The suggestion's figure recomputed for month `m` (None when there is nothing to compare)."""
    kind, unit = s.kind, s.unit_id
    if kind in (SuggestionKind.NOTICE_MATERIAL, SuggestionKind.ON_TIME_LOW):
        r = CaseStat.objects.filter(month=m, item_id=int(s.subject)).aggregate(
            s=Sum("submitted"), n=Sum("noticed"), c=Sum("completed"), o=Sum("on_time")
        )
        return ratio(r["n"], r["s"]) if kind == SuggestionKind.NOTICE_MATERIAL else ratio(r["o"], r["c"])
    if kind == SuggestionKind.GROUP_LOW:
        by, _sep, group = s.subject.partition(":")
        r = RatingStat.objects.filter(month=m, group=group, **{f"{by}_id": unit}).aggregate(
            n=Sum("count"), s=Sum("level_sum")
        )
        return mean(r["s"], r["n"])
    if kind == SuggestionKind.SEARCH_MISS:
        from dangqun.onestop.models import SearchMiss

        return float(
            SearchMiss.objects.filter(query=s.subject, day__gte=m, day__lt=next_month(m)).aggregate(
                n=Sum("count")
            )["n"]
            or 0
        )
    if kind == SuggestionKind.OVERDUE_FIXES:
        from dangqun.feedback.choices import OPEN_FIX_STATES
        from dangqun.feedback.models import Fix

        return float(
            Fix.objects.filter(unit_id=unit, state__in=OPEN_FIX_STATES, due__lt=timezone.localdate()).count()
        )
    if kind == SuggestionKind.BAD_REASON:
        r = RatingStat.objects.filter(month=m, group=Group.ALL, unit_id=unit).aggregate(
            l1=Sum("l1"), l2=Sum("l2"), k=Sum(f"r_{s.subject}")
        )
        return ratio(r["k"], (r["l1"] or 0) + (r["l2"] or 0))
    return None


# --- words ----------------------------------------------------------------------------------------


def _pct(v: Any) -> str:
    return "—" if v is None else f"{float(v) * 100:.0f}%"


GROUP_ADVICE = {
    Group.ELDERLY.value: lambda: _("建议提供帮办代办、适老化引导和专人陪办。"),
    Group.ENTERPRISE.value: lambda: _("建议设立企业服务专员，梳理涉企事项的办理难点。"),
    Group.RURAL.value: lambda: _("建议提供就近代办、上门服务，加强网上办理指导。"),
}


def text(s: Suggestion) -> str:
    """The suggestion in words, with its numbers (rendered now, so it follows the language)."""
    from dangqun.feedback.choices import BAD_REASONS

    e = s.evidence or {}
    if s.kind == SuggestionKind.NOTICE_MATERIAL:
        return _(
            "事项“%(item)s”：%(share)s 的申请（%(noticed)s/%(submitted)s）收到一次性告知，"
            "最常见的是材料“%(material)s”（%(count)s 次）— 请修改办事指南，写明该材料的要求。"
        ) % {
            "item": s.subject_label,
            "share": _pct(e.get("share")),
            "noticed": e.get("noticed"),
            "submitted": e.get("submitted"),
            "material": e.get("material") or "—",
            "count": e.get("material_count", 0),
        }
    if s.kind == SuggestionKind.ON_TIME_LOW:
        return _(
            "事项“%(item)s”按期办结率 %(rate)s（%(on_time)s/%(completed)s），平均 %(days)s 个工作日 — "
            "请排查办理瓶颈，必要时调整流程或人员。"
        ) % {
            "item": s.subject_label,
            "rate": _pct(e.get("rate")),
            "on_time": e.get("on_time"),
            "completed": e.get("completed"),
            "days": e.get("avg_days") if e.get("avg_days") is not None else "—",
        }
    if s.kind == SuggestionKind.GROUP_LOW:
        group = e.get("group", "")
        label = str(Group(group).label) if group in Group.values else group
        advice = GROUP_ADVICE.get(group, lambda: "")()
        return _(
            "%(group)s对“%(unit)s”的评价偏低（平均 %(mine)s，其他评价人 %(others)s；%(n)s 条）— %(advice)s"
        ) % {
            "group": label,
            "unit": s.subject_label,
            "mine": e.get("group_avg"),
            "others": e.get("others_avg"),
            "n": e.get("n"),
            "advice": advice,
        }
    if s.kind == SuggestionKind.SEARCH_MISS:
        return _(
            "“%(query)s”本月被检索 %(count)s 次却没有结果 — 请新增相应事项，或为现有事项添加同义词。"
        ) % {"query": s.subject_label, "count": e.get("count")}
    if s.kind == SuggestionKind.OVERDUE_FIXES:
        return _(
            "“%(unit)s”有 %(overdue)s 件差评整改已超期（%(open)s 件未办结，最早期限 %(oldest)s，"
            "截至 %(as_of)s）— 请督办，按期回访、整改、答复。"
        ) % {
            "unit": s.subject_label,
            "overdue": e.get("overdue"),
            "open": e.get("open"),
            "oldest": e.get("oldest"),
            "as_of": e.get("as_of"),
        }
    if s.kind == SuggestionKind.BAD_REASON:
        reason = str(BAD_REASONS.get(e.get("reason", ""), e.get("reason", "")))
        return _(
            "“%(unit)s”的差评中 %(share)s 选择了“%(reason)s”（%(count)s/%(bad)s）— 建议针对该原因专项整改。"
        ) % {
            "unit": s.subject_label,
            "share": _pct(e.get("share")),
            "reason": reason,
            "count": e.get("count"),
            "bad": e.get("bad"),
        }
    return s.subject_label


def format_metric(s: Suggestion, value: float | None) -> str:
    if value is None:
        return "—"
    if s.kind in (SuggestionKind.NOTICE_MATERIAL, SuggestionKind.ON_TIME_LOW, SuggestionKind.BAD_REASON):
        return _pct(value)
    if s.kind == SuggestionKind.GROUP_LOW:
        return f"{value:.2f}"
    return f"{value:.0f}"


def effect(s: Suggestion, today: date | None = None) -> dict[str, Any] | None:
    """Before (the suggestion's month) vs after (the month after), once that month has begun."""
    after_month = next_month(s.month)
    if after_month > (today or timezone.localdate()):
        return None
    after = measure(s, after_month)
    if after is None:
        verdict = _("次月无可比数据")
    elif after == s.metric:
        verdict = _("持平")
    elif (after > s.metric) == HIGHER_IS_BETTER.get(s.kind, True):
        verdict = _("已改善")
    else:
        verdict = _("未改善")
    return {
        "before_month": s.month,
        "after_month": after_month,
        "before": format_metric(s, s.metric),
        "after": format_metric(s, after),
        "after_value": after,
        "verdict": verdict,
    }
