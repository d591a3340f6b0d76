"""Scoped reads for the dashboards, the public summary and the suggestions (aggregates only).

Every dashboard figure comes from the *Stat tables (a month of a street is a few thousand
rows), never from the million applications. A section is the unit of display: a titled table
(columns + rows) with an optional chart drawn from the same rows, and the same rows go to the
Excel export — the chart, the table and the download can never disagree.

Scope: `access_org(actor, pk)` gives an organization whose dashboard the actor may open
(perm insights.view on it: a street administrator anywhere in the street, a department
administrator in their department's subtree); anything else is 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from dangqun.core.errors import NotFound, RuleViolation
from dangqun.core.permissions import has_perm, scope_filter
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

from .choices import RESIDENT_GROUPS, Group
from .models import REASON_FIELDS, CaseStat, FixStat, MessageStat, NoticeMaterialStat, RatingStat
from .stats import month_of, next_month, prev_month

PERM = "insights.view"
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_MONTH = date(2000, 1, 1)
TREND_MONTHS = 12
TOP = 15
SUMMARY_CACHE_SECONDS = 30
# 满意率: 基本满意 and above (levels 3–5); levels 1–2 are 差评 (国办发〔2019〕51号).
SATISFIED = ("l3", "l4", "l5")


# --- months ---------------------------------------------------------------------------------------


def current_month() -> date:
    return month_of(timezone.localdate())


def parse_month(text: str | None, default: date | None = None) -> date:
    """'2026-11' → date(2026, 11, 1); empty → default (the current month). Clear 422s otherwise."""
    if text is None or str(text).strip() == "":
        return default or current_month()
    found = MONTH_RE.match(str(text).strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise RuleViolation(
            "month_format",
            _("月份格式应为 YYYY-MM，例如 2026-11。"),
            {"month": str(text)[:20]},
            field="month",
        )
    m = date(int(found.group(1)), int(found.group(2)), 1)
    latest = current_month()
    if not FIRST_MONTH <= m <= latest:
        raise RuleViolation(
            "month_range",
            _("月份须在 %(first)s 至 %(last)s 之间。")
            % {"first": FIRST_MONTH.strftime("%Y-%m"), "last": latest.strftime("%Y-%m")},
            {"month": str(text)[:20]},
            field="month",
        )
    return m


def month_label(m: date) -> str:
    return m.strftime("%Y-%m")


# --- scope ----------------------------------------------------------------------------------------


def visible_orgs(actor: Any) -> QuerySet[Organization]:
    return Organization.objects.filter(scope_filter(actor, PERM))


def dashboard_roots(actor: Any) -> list[Organization]:
    """The organizations an actor's dashboards start from: their granted ones, and inside them
    every department (a street administrator can open each department's dashboard too)."""
    if getattr(actor, "is_superuser", False) and actor.is_active:
        roots = list(Organization.objects.filter(parent__isnull=True).order_by("path")[:20])
    else:
        from dangqun.core.permissions import grants_for

        roots = sorted({g.organization for g in grants_for(actor, PERM)}, key=lambda o: o.path)
    out: list[Organization] = list(roots)
    seen = {o.pk for o in out}
    for root in roots:
        lo, hi = root.subtree_range()
        for dept in Organization.objects.filter(
            path__gt=lo, path__lt=hi, kind=OrgKind.DEPARTMENT, is_active=True
        ).order_by("path"):
            if dept.pk not in seen:
                seen.add(dept.pk)
                out.append(dept)
    return out


def _pk(value: Any) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError, OverflowError):
        raise NotFound() from None
    if not 0 < pk < 2**63:
        raise NotFound()
    return pk


def access_org(actor: Any, pk: Any) -> Organization:
    org = Organization.objects.filter(pk=_pk(pk)).first()
    if org is None or not has_perm(actor, PERM, org):
        raise NotFound()
    return org


def default_org(actor: Any) -> Organization | None:
    roots = dashboard_roots(actor)
    return roots[0] if roots else None


def suggestion_scope(actor: Any) -> Q:
    """Suggestions (and anything with a unit_path) inside the actor's granted subtrees."""
    from dangqun.core.permissions import grants_for

    if getattr(actor, "is_superuser", False) and actor.is_active:
        return Q()
    out = Q(pk__in=[])
    for grant in grants_for(actor, PERM):
        out |= in_subtree(grant.organization)
    return out


def in_subtree(org: Organization, prefix: str = "unit_path") -> Q:
    lo, hi = org.subtree_range()
    return Q(**{f"{prefix}__gte": lo, f"{prefix}__lt": hi})


# --- sections -------------------------------------------------------------------------------------


@dataclass
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | pct (0–1, shown as %) | num (one decimal)


@dataclass
class Section:
    key: str
    title: str
    caption: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    # Chart: kind (bar | line | hbar), the label column, the value columns drawn.
    chart: dict[str, Any] | None = None
    note: str = ""

    def chart_spec(self) -> dict[str, Any] | None:
        if not self.chart or not self.rows:
            return None
        label = [c.key for c in self.columns].index(self.chart["label"])
        series = []
        for key in self.chart["values"]:
            i = [c.key for c in self.columns].index(key)
            col = self.columns[i]
            values = [r[i] for r in self.rows[: self.chart.get("limit", len(self.rows))]]
            if col.kind == "pct":
                values = [None if v is None else round(v * 100, 1) for v in values]
            series.append({"name": str(col.label), "data": values, "pct": col.kind == "pct"})
        labels = [str(r[label]) for r in self.rows[: self.chart.get("limit", len(self.rows))]]
        return {"kind": self.chart["kind"], "labels": labels, "series": series, "title": str(self.title)}

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": str(self.title),
            "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in self.columns],
            "rows": self.rows,
        }


def _plain(section: dict[str, Any]) -> dict[str, Any]:
    """Lazy translations in the rows made text in the current language (they go to a cache)."""
    rows = [[str(v) if isinstance(v, Promise) else v for v in row] for row in section["rows"]]
    return {**section, "rows": rows}


def ratio(part: float | None, whole: float | None) -> float | None:
    return None if not whole else round((part or 0) / whole, 4)


def mean(total: float | None, n: float | None) -> float | None:
    return None if not n else round((total or 0) / n, 2)


def _names(model: Any, ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    if model is Organization:
        return {
            pk: short or name
            for pk, name, short in model.objects.filter(pk__in=ids).values_list("pk", "name", "short_name")
        }
    return dict(model.objects.filter(pk__in=ids).values_list("pk", "name"))


def _item_names(ids: set[int]) -> dict[int, str]:
    from dangqun.onestop.models import ServiceItem

    return _names(ServiceItem, ids)


def _org_names(ids: set[int]) -> dict[int, str]:
    return _names(Organization, ids)


RATING_SUMS = {
    "n": Sum("count"),
    "levels": Sum("level_sum"),
    **{f: Sum(f) for f in ("l1", "l2", "l3", "l4", "l5")},
}


def _rating_cols(first: Column) -> list[Column]:
    return [
        first,
        Column("ratings", gettext_lazy("评价数"), "int"),
        Column("avg", gettext_lazy("平均等级（1–5）"), "num"),
        Column("satisfied", gettext_lazy("满意率（基本满意及以上）"), "pct"),
        Column("bad", gettext_lazy("差评数（1–2级）"), "int"),
    ]


def _rating_row(label: Any, r: dict[str, Any]) -> list[Any]:
    """[label, ratings, average level, satisfied rate, 差评] from RATING_SUMS figures (the one
    place these rates are computed: the dashboard, its overview and the public summary)."""
    n = r["n"] or 0
    return [
        label,
        n,
        mean(r["levels"], n),
        ratio(sum(r[k] or 0 for k in SATISFIED), n),
        (r["l1"] or 0) + (r["l2"] or 0),
    ]


class Dashboard:
    """The dashboard of one organization's subtree for one month, section by section."""

    SECTIONS = (
        "overview",
        "volume",
        "items",
        "notices",
        "sat_item",
        "sat_unit",
        "sat_channel",
        "sat_group",
        "reasons",
        "fixes",
        "messages",
        "search_misses",
    )

    def __init__(self, org: Organization, month: date):
        self.org, self.month = org, month
        self.scope = in_subtree(org)

    def cases(self) -> QuerySet[CaseStat]:
        return CaseStat.objects.filter(self.scope, month=self.month)

    def ratings(self, group: str = Group.ALL) -> QuerySet[RatingStat]:
        return RatingStat.objects.filter(self.scope, month=self.month, group=group)

    def section(self, key: str) -> Section:
        if key not in self.SECTIONS:
            raise NotFound()
        return getattr(self, f"_{key}")()

    def sections(self) -> list[Section]:
        return [self.section(k) for k in self.SECTIONS]

    def summary(self) -> tuple[list[dict[str, Any]], datetime]:
        """Every section as plain data, and when it was computed: shared for SUMMARY_CACHE_SECONDS
        by every caller of the same organization, month and language. The figures come from
        statistics a job refreshes after each change anyway; 30 s more is not worth 24 queries
        per poll of a dashboard client. (The pages compute live.)"""
        key = f"insights:summary:{self.org.pk}:{self.month:%Y-%m}:{get_language()}"
        cached = cache.get(key)
        if cached is None:
            cached = ([_plain(s.as_dict()) for s in self.sections()], timezone.now())
            cache.set(key, cached, SUMMARY_CACHE_SECONDS)
        return cached

    # -- overview
    def _overview(self) -> Section:
        c = self.cases().aggregate(
            submitted=Sum("submitted"),
            accepted=Sum("accepted"),
            completed=Sum("completed"),
            on_time=Sum("on_time"),
            timed=Sum("timed"),
            work_days=Sum("work_days"),
            noticed=Sum("noticed"),
        )
        _label, ratings, _avg, satisfied, bad = _rating_row("", self.ratings().aggregate(**RATING_SUMS))
        f = FixStat.objects.filter(self.scope, month=self.month).aggregate(
            n=Sum("count"), called_back=Sum("called_back"), replied=Sum("replied")
        )
        live = self._live_fixes()
        open_fixes = sum(v[0] for v in live.values())
        overdue = sum(v[1] for v in live.values())
        rows = [
            [_("收件量"), c["submitted"] or 0],
            [_("受理量"), c["accepted"] or 0],
            [_("办结量"), c["completed"] or 0],
            [_("按期办结率"), _pct(ratio(c["on_time"], c["completed"]))],
            [_("平均办理工作日"), _num(mean(c["work_days"], c["timed"]))],
            [_("一次性告知占收件比例"), _pct(ratio(c["noticed"], c["submitted"]))],
            [_("评价数"), ratings],
            [_("满意率（基本满意及以上）"), _pct(satisfied)],
            [_("差评数（1–2级）"), bad],
            [_("差评回访率"), _pct(ratio(f["called_back"], f["n"]))],
            [_("差评答复率"), _pct(ratio(f["replied"], f["n"]))],
            [_("未办结的整改（当前）"), open_fixes],
            [_("已超期的整改（当前）"), overdue],
        ]
        return Section(
            "overview",
            _("本月概览"),
            _("%(org)s %(month)s 的主要指标") % {"org": self.org.name, "month": month_label(self.month)},
            [Column("metric", _("指标")), Column("value", _("数值"))],
            rows,
        )

    # -- volumes over time
    def _volume(self) -> Section:
        first = self.month
        for _i in range(TREND_MONTHS - 1):
            first = prev_month(first)
        grouped = {
            row["month"]: row
            for row in CaseStat.objects.filter(self.scope, month__gte=first, month__lte=self.month)
            .values("month")
            .annotate(s=Sum("submitted"), a=Sum("accepted"), c=Sum("completed"), o=Sum("on_time"))
            .order_by()
        }
        rows = []
        m = first
        while m <= self.month:
            g = grouped.get(m, {})
            rows.append(
                [
                    month_label(m),
                    g.get("s") or 0,
                    g.get("a") or 0,
                    g.get("c") or 0,
                    ratio(g.get("o"), g.get("c")),
                ]
            )
            m = next_month(m)
        return Section(
            "volume",
            _("办件量与按期办结率（近12个月）"),
            _("每月收件、受理、办结件数和按期办结率"),
            [
                Column("month", _("月份")),
                Column("submitted", _("收件"), "int"),
                Column("accepted", _("受理"), "int"),
                Column("completed", _("办结"), "int"),
                Column("on_time_rate", _("按期办结率"), "pct"),
            ],
            rows,
            chart={"kind": "line", "label": "month", "values": ["submitted", "accepted", "completed"]},
        )

    # -- items: volume, on-time, working days
    def _items(self) -> Section:
        grouped = list(
            self.cases()
            .values("item_id")
            .annotate(
                s=Sum("submitted"),
                c=Sum("completed"),
                o=Sum("on_time"),
                t=Sum("timed"),
                w=Sum("work_days"),
            )
            .order_by()
        )
        names = _item_names({g["item_id"] for g in grouped})
        rows = [
            [
                names.get(g["item_id"], f"#{g['item_id']}"),
                g["s"] or 0,
                g["c"] or 0,
                ratio(g["o"], g["c"]),
                mean(g["w"], g["t"]),
            ]
            for g in grouped
        ]
        rows.sort(key=lambda r: (-(r[1] + r[2]), r[0]))
        return Section(
            "items",
            _("各事项办件量、按期办结率和平均办理工作日"),
            _("按收件与办结量排序；平均办理工作日自收件次日起算至办结，挂起期间不计"),
            [
                Column("item", _("事项")),
                Column("submitted", _("收件"), "int"),
                Column("completed", _("办结"), "int"),
                Column("on_time_rate", _("按期办结率"), "pct"),
                Column("avg_days", _("平均办理工作日"), "num"),
            ],
            rows,
            chart={"kind": "hbar", "label": "item", "values": ["avg_days"], "limit": TOP},
        )

    # -- one-time notices per item
    def _notices(self) -> Section:
        grouped = list(
            self.cases()
            .values("item_id")
            .annotate(s=Sum("submitted"), n=Sum("noticed"))
            .filter(n__gt=0)
            .order_by()
        )
        ids = {g["item_id"] for g in grouped}
        top: dict[int, tuple[str, int]] = {}
        for item, name, n in (
            NoticeMaterialStat.objects.filter(self.scope, month=self.month, item_id__in=ids)
            .values_list("item_id", "material")
            .annotate(n=Sum("count"))
            .order_by("item_id", "-n", "material")
        ):
            top.setdefault(item, (name, n))
        names = _item_names(ids)
        rows = [
            [
                names.get(g["item_id"], f"#{g['item_id']}"),
                g["s"] or 0,
                g["n"],
                ratio(g["n"], g["s"]),
                top.get(g["item_id"], ("", 0))[0],
                top.get(g["item_id"], ("", 0))[1],
            ]
            for g in grouped
        ]
        rows.sort(key=lambda r: (-r[2], r[0]))
        return Section(
            "notices",
            _("一次性告知最多的事项"),
            _("收到一次性告知的申请多，往往说明办事指南不清楚"),
            [
                Column("item", _("事项")),
                Column("submitted", _("收件"), "int"),
                Column("noticed", _("一次性告知"), "int"),
                Column("share", _("占收件比例"), "pct"),
                Column("material", _("最常告知的材料")),
                Column("material_count", _("该材料次数"), "int"),
            ],
            rows[:50],
            chart={"kind": "hbar", "label": "item", "values": ["noticed"], "limit": TOP},
        )

    # -- satisfaction
    def _sat_item(self) -> Section:
        grouped = list(self.ratings().values("item_id").annotate(**RATING_SUMS).order_by())
        names = _item_names({g["item_id"] for g in grouped})
        rows = [_rating_row(names.get(g["item_id"], _("（未关联事项）")), g) for g in grouped]
        rows.sort(key=lambda r: (-r[1], str(r[0])))
        return Section(
            "sat_item",
            _("各事项满意度"),
            _("按评价数排序"),
            _rating_cols(Column("item", _("事项"))),
            rows,
            chart={"kind": "hbar", "label": "item", "values": ["avg"], "limit": TOP},
        )

    def _sat_unit(self) -> Section:
        grouped = list(self.ratings().values("unit_id").annotate(**RATING_SUMS).order_by())
        names = _org_names({g["unit_id"] for g in grouped})
        rows = [_rating_row(names.get(g["unit_id"], f"#{g['unit_id']}"), g) for g in grouped]
        rows.sort(key=lambda r: (-r[1], str(r[0])))
        return Section(
            "sat_unit",
            _("各单位满意度"),
            _("被评价单位（谁办理、谁负责）"),
            _rating_cols(Column("unit", _("单位"))),
            rows,
            chart={"kind": "bar", "label": "unit", "values": ["satisfied"], "limit": TOP},
        )

    def _sat_channel(self) -> Section:
        from dangqun.feedback.choices import RatingChannel

        grouped = list(self.ratings().values("channel").annotate(**RATING_SUMS).order_by("channel"))
        labels = dict(RatingChannel.choices)
        rows = [_rating_row(str(labels.get(g["channel"], g["channel"])), g) for g in grouped]
        return Section(
            "sat_channel",
            _("各评价渠道满意度"),
            _("网页、手机、窗口二维码、评价器、热线"),
            _rating_cols(Column("channel", _("渠道"))),
            rows,
            chart={"kind": "bar", "label": "channel", "values": ["satisfied"]},
        )

    def _sat_group(self) -> Section:
        grouped = {
            g["group"]: g
            for g in RatingStat.objects.filter(self.scope, month=self.month)
            .values("group")
            .annotate(**RATING_SUMS)
            .order_by()
        }
        empty = dict.fromkeys(("n", "levels", "l1", "l2", "l3", "l4", "l5"), 0)
        rows = [_rating_row(str(g.label), grouped.get(g.value, empty)) for g in (Group.ALL, *RESIDENT_GROUPS)]
        return Section(
            "sat_group",
            _("不同群体的满意度"),
            _("老年人、企业、农村居民与全部评价人对比（群体可重叠）"),
            _rating_cols(Column("group", _("群体"))),
            rows,
            chart={"kind": "bar", "label": "group", "values": ["avg"]},
        )

    def _reasons(self) -> Section:
        from dangqun.feedback.choices import BAD_REASONS

        sums = self.ratings().aggregate(
            **{code: Sum(f"r_{code}") for code in REASON_FIELDS}, bad1=Sum("l1"), bad2=Sum("l2")
        )
        bad = (sums.pop("bad1") or 0) + (sums.pop("bad2") or 0)
        rows = [
            [str(BAD_REASONS.get(code, code)), sums[code] or 0, ratio(sums[code], bad)]
            for code in REASON_FIELDS
        ]
        rows.sort(key=lambda r: -r[1])
        return Section(
            "reasons",
            _("差评原因"),
            _("差评人勾选的原因（可多选），占差评数的比例"),
            [
                Column("reason", _("原因")),
                Column("count", _("次数"), "int"),
                Column("share", _("占差评比例"), "pct"),
            ],
            rows,
            chart={"kind": "hbar", "label": "reason", "values": ["count"]},
        )

    # -- fixes and messages
    def _live_fixes(self) -> dict[int, tuple[int, int]]:
        """Open and overdue fixes now, per unit (a small indexed set: the open ones)."""
        from dangqun.feedback.choices import OPEN_FIX_STATES
        from dangqun.feedback.models import Fix

        if not hasattr(self, "_live"):
            today = timezone.localdate()
            self._live = {
                unit: (n, late)
                for unit, n, late in Fix.objects.filter(
                    in_subtree(self.org, "unit__path"), state__in=OPEN_FIX_STATES
                )
                .values_list("unit_id")
                .annotate(n=Count("id"), late=Count("id", filter=Q(due__lt=today)))
                .order_by()
            }
        return self._live

    def _fixes(self) -> Section:
        grouped = {
            g["unit_id"]: g
            for g in FixStat.objects.filter(self.scope, month=self.month)
            .values("unit_id")
            .annotate(
                n=Sum("count"),
                cb=Sum("called_back"),
                fx=Sum("fixed"),
                rp=Sum("replied"),
                ot=Sum("on_time"),
                cl=Sum("closed"),
            )
            .order_by()
        }
        live = self._live_fixes()
        units = set(grouped) | set(live)
        names = _org_names(units)
        rows = []
        for unit in units:
            g = grouped.get(unit, {})
            n = g.get("n") or 0
            rows.append(
                [
                    names.get(unit, f"#{unit}"),
                    n,
                    ratio(g.get("cb"), n),
                    ratio(g.get("fx"), n),
                    ratio(g.get("rp"), n),
                    ratio(g.get("ot"), g.get("cl")),
                    live.get(unit, (0, 0))[0],
                    live.get(unit, (0, 0))[1],
                ]
            )
        rows.sort(key=lambda r: (-r[7], -r[6], str(r[0])))
        return Section(
            "fixes",
            _("差评整改：回访率、整改率、答复率"),
            _("本月新增差评整改的办理进度；未办结和已超期为当前数"),
            [
                Column("unit", _("单位")),
                Column("count", _("本月整改"), "int"),
                Column("callback_rate", _("回访率"), "pct"),
                Column("fix_rate", _("整改率"), "pct"),
                Column("reply_rate", _("答复率"), "pct"),
                Column("on_time_rate", _("按期整改率"), "pct"),
                Column("open", _("未办结（当前）"), "int"),
                Column("overdue", _("已超期（当前）"), "int"),
            ],
            rows,
            chart={
                "kind": "bar",
                "label": "unit",
                "values": ["callback_rate", "fix_rate", "reply_rate"],
                "limit": TOP,
            },
        )

    def _messages(self) -> Section:
        grouped = list(
            MessageStat.objects.filter(self.scope, month=self.month)
            .values("unit_id")
            .annotate(
                n=Sum("count"),
                rp=Sum("replied"),
                ot=Sum("on_time"),
                cl=Sum("closed"),
                r=Sum("rated"),
                ls=Sum("level_sum"),
            )
            .order_by()
        )
        names = _org_names({g["unit_id"] for g in grouped})
        rows = [
            [
                names.get(g["unit_id"], f"#{g['unit_id']}"),
                g["n"] or 0,
                ratio(g["rp"], g["n"]),
                ratio(g["ot"], g["cl"]),
                mean(g["ls"], g["r"]),
            ]
            for g in grouped
        ]
        rows.sort(key=lambda r: (-r[1], str(r[0])))
        return Section(
            "messages",
            _("留言诉求办理"),
            _("本月收到的留言、投诉（已派单的按承办单位）"),
            [
                Column("unit", _("承办单位")),
                Column("count", _("留言数"), "int"),
                Column("reply_rate", _("答复率"), "pct"),
                Column("on_time_rate", _("按期办结率"), "pct"),
                Column("avg", _("平均满意度（1–5）"), "num"),
            ],
            rows,
            chart={"kind": "bar", "label": "unit", "values": ["count"], "limit": TOP},
        )

    def _search_misses(self) -> Section:
        rows = [[q, n, days] for q, n, days in top_search_misses(self.month)]
        return Section(
            "search_misses",
            _("搜了却没找到的服务"),
            _("本月检索无结果次数最多的词（全街道）：可新增事项或添加同义词"),
            [
                Column("query", _("检索词")),
                Column("count", _("无结果次数"), "int"),
                Column("days", _("出现天数"), "int"),
            ],
            rows,
            chart={"kind": "hbar", "label": "query", "values": ["count"]},
        )


def top_search_misses(m: date, limit: int = 20) -> list[tuple[str, int, int]]:
    from dangqun.onestop.models import SearchMiss

    return list(
        SearchMiss.objects.filter(day__gte=m, day__lt=next_month(m))
        .values_list("query")
        .annotate(n=Sum("count"), days=Count("id"))
        .order_by("-n", "query")[:limit]
    )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


# --- the public monthly summary (onestop.md §5) -----------------------------------------------------


def public_summary(m: date) -> list[dict[str, Any]]:
    """Per department: ratings, satisfaction rate, 差评, fixed and replied rates — for anyone.

    A unit below a department (a section, a window of it) counts under that department.
    """
    departments = list(
        Organization.objects.filter(kind=OrgKind.DEPARTMENT, is_active=True)
        .order_by("path")
        .values_list("pk", "name", "path")
    )

    def dept_of(path: str) -> int | None:
        best = None
        for pk, _name, p in departments:
            if path.startswith(p) and (best is None or len(p) > len(best[1])):
                best = (pk, p)
        return best[0] if best else None

    acc: dict[int, dict[str, int]] = {
        pk: dict.fromkeys(("n", "levels", "l1", "l2", "l3", "l4", "l5", "fixes", "fixed", "replied"), 0)
        for pk, _n, _p in departments
    }
    for row in (
        RatingStat.objects.filter(month=m, group=Group.ALL)
        .values("unit_path")
        .annotate(**RATING_SUMS)
        .order_by()
    ):
        d = dept_of(row["unit_path"])
        if d is not None:
            for k in ("n", "levels", "l1", "l2", "l3", "l4", "l5"):
                acc[d][k] += row[k] or 0
    for row in (
        FixStat.objects.filter(month=m)
        .values("unit_path")
        .annotate(n=Sum("count"), fx=Sum("fixed"), rp=Sum("replied"))
        .order_by()
    ):
        d = dept_of(row["unit_path"])
        if d is not None:
            acc[d]["fixes"] += row["n"] or 0
            acc[d]["fixed"] += row["fx"] or 0
            acc[d]["replied"] += row["rp"] or 0
    out = []
    for pk, name, _path in departments:
        a = acc[pk]
        _label, ratings, average, satisfied, bad = _rating_row(name, a)
        out.append(
            {
                "department_id": pk,
                "department": name,
                "ratings": ratings,
                "average": average,
                "satisfied_rate": satisfied,
                "bad": bad,
                "fixes": a["fixes"],
                "fixed_rate": ratio(a["fixed"], a["fixes"]),
                "replied_rate": ratio(a["replied"], a["fixes"]),
            }
        )
    return out


def public_section(m: date) -> Section:
    rows = [
        [
            r["department"],
            r["ratings"],
            r["average"],
            r["satisfied_rate"],
            r["bad"],
            r["fixed_rate"],
            r["replied_rate"],
        ]
        for r in public_summary(m)
    ]
    return Section(
        "public",
        _("各部门好差评情况"),
        _("%(month)s 各部门好差评汇总（经申诉复核撤销的评价不计入）") % {"month": month_label(m)},
        [
            *_rating_cols(Column("department", _("部门"))),
            Column("fixed_rate", _("差评整改率"), "pct"),
            Column("replied_rate", _("差评答复率"), "pct"),
        ],
        rows,
        chart={"kind": "bar", "label": "department", "values": ["satisfied"]},
    )


def last_complete_month() -> date:
    return prev_month(current_month())
