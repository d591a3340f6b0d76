"""The pre-aggregated statistics equal direct counts: after a rebuild, after slice refreshes,
after real onestop actions swept from the event table, and right after a rating is saved."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

import pytest
from django.db.models import Sum

from dangqun.feedback.models import Rating
from dangqun.insights import stats
from dangqun.insights.models import CaseStat, FixStat, MessageStat, NoticeMaterialStat, RatingStat, Slice
from dangqun.onestop import actions as onestop
from dangqun.onestop.models import Application, CorrectionNotice

from .conftest import make_app, make_fix, make_message, notice, rate, visit

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)


def month_days(m: date) -> list[date]:
    out, d = [], m
    while d.month == m.month:
        out.append(d)
        d += timedelta(days=1)
    return out


def build_mix(rnd, items, applicant, actor, n=120):
    """Applications across two months, channels and states, some with notices."""
    apps = []
    for _ in range(n):
        item = rnd.choice(items)
        received = rnd.choice(month_days(OCT) + month_days(NOV)[:20])
        accepted = received + timedelta(days=rnd.randint(0, 3)) if rnd.random() < 0.8 else None
        completed = accepted + timedelta(days=rnd.randint(1, 20)) if accepted and rnd.random() < 0.6 else None
        if completed and completed > date(2026, 11, 30):
            completed = None
        app = make_app(
            item,
            applicant,
            received=received,
            accepted=accepted,
            completed=completed,
            promised=received + timedelta(days=rnd.choice([7, 14, 21])),
            channel=rnd.choice(["web", "window", "mobile"]),
            stopped=rnd.choice([0, 0, 2]),
        )
        if rnd.random() < 0.3:
            notice(
                app,
                received + timedelta(days=1),
                rnd.sample(["身份证", "申请书", "照片"], rnd.randint(1, 2)),
                actor,
            )
        apps.append(app)
    return apps


def direct_cases(m: date, item_id: int) -> dict[str, int]:
    apps = Application.objects.filter(item_id=item_id)
    end = stats.next_month(m)
    done = apps.filter(completed_on__gte=m, completed_on__lt=end)
    work = [stats.elapsed_working_days(a.received_on, a.completed_on, a.stopped_days) for a in done]
    return {
        "submitted": apps.filter(received_on__gte=m, received_on__lt=end).count(),
        "accepted": apps.filter(accepted_on__gte=m, accepted_on__lt=end).count(),
        "completed": done.count(),
        "on_time": sum(1 for a in done if a.completed_on <= a.promised_due),
        "timed": sum(1 for w in work if w is not None),
        "work_days": sum(w for w in work if w is not None),
        "noticed": CorrectionNotice.objects.filter(
            application__item_id=item_id, issued_on__gte=m, issued_on__lt=end
        ).count(),
    }


def aggregated_cases(m: date, item_id: int) -> dict[str, int]:
    fields = ("submitted", "accepted", "completed", "on_time", "timed", "work_days", "noticed")
    sums = CaseStat.objects.filter(month=m, item_id=item_id).aggregate(**{f: Sum(f) for f in fields})
    return {f: sums[f] or 0 for f in fields}


def test_a_rebuild_equals_direct_counts_of_cases_and_notices(item, other_item, applicant, window_staff):
    rnd = random.Random(5)
    build_mix(rnd, [item, other_item], applicant, window_staff)
    stats.rebuild()
    for m in (OCT, NOV):
        for it in (item, other_item):
            expected = direct_cases(m, it.pk)
            assert aggregated_cases(m, it.pk) == expected
    assert sum(v for v in aggregated_cases(OCT, item.pk).values()) > 0
    # Materials on notices: every listed name counted once per notice.
    listed = Counter(
        e["name"] for n in CorrectionNotice.objects.filter(application__item=item) for e in n.items
    )
    counted = Counter()
    for name, n in NoticeMaterialStat.objects.filter(item_id=item.pk).values_list("material", "count"):
        counted[name] += n
    assert counted == listed
    # Rows carry the unit's path, so a subtree is one range condition.
    assert set(CaseStat.objects.values_list("unit_path", flat=True)) == {
        item.department.path,
        other_item.department.path,
    }


def test_refreshing_the_touched_slices_equals_a_rebuild_and_is_idempotent(
    item, other_item, applicant, window_staff
):
    rnd = random.Random(9)
    apps = build_mix(rnd, [item, other_item], applicant, window_staff, n=60)
    stats.rebuild()
    # A mix of later changes: completions, new applications, a notice.
    touched = []
    for app in apps[:15]:
        if app.accepted_on and not app.completed_on:
            Application.objects.filter(pk=app.pk).update(
                completed_on=app.accepted_on + timedelta(days=2), state="completed"
            )
            touched.append(app.pk)
    new = make_app(other_item, applicant, received=date(2026, 11, 3), channel="kiosk")
    notice(new, date(2026, 11, 4), ["场所平面图"], window_staff)
    touched.append(new.pk)
    for kind, key, m in sorted(stats.case_slices_of(touched)):
        stats.refresh_slice(kind, key, m)
    incremental = sorted(
        CaseStat.objects.values_list(
            "month",
            "unit_id",
            "item_id",
            "channel",
            "submitted",
            "accepted",
            "completed",
            "on_time",
            "timed",
            "work_days",
            "noticed",
        )
    )
    for kind, key, m in sorted(stats.case_slices_of(touched)):  # again: nothing changes
        stats.refresh_slice(kind, key, m)
    again = sorted(
        CaseStat.objects.values_list(
            "month",
            "unit_id",
            "item_id",
            "channel",
            "submitted",
            "accepted",
            "completed",
            "on_time",
            "timed",
            "work_days",
            "noticed",
        )
    )
    stats.rebuild()
    rebuilt = sorted(
        CaseStat.objects.values_list(
            "month",
            "unit_id",
            "item_id",
            "channel",
            "submitted",
            "accepted",
            "completed",
            "on_time",
            "timed",
            "work_days",
            "noticed",
        )
    )
    assert incremental == again == rebuilt
    assert aggregated_cases(NOV, other_item.pk) == direct_cases(NOV, other_item.pk)


def test_real_onestop_actions_are_swept_from_the_event_table(
    simple_item, applicant, window_staff, department_admin, calendar_2027
):
    stats.rebuild()  # the cursor starts after everything there is
    first = onestop.do_create_and_submit(
        simple_item,
        {"applicant_name": "陈居民", "id_number": applicant.id_number},
        actor=applicant,
        consent=True,
        idempotency_key=None,
    ).application
    second = onestop.do_create_and_submit(
        simple_item,
        {"applicant_name": "陈居民", "id_number": applicant.id_number},
        actor=applicant,
        consent=True,
        idempotency_key=None,
    ).application
    onestop.do_accept(first, actor=window_staff)
    material = simple_item.materials.get()
    onestop.do_issue_notice(
        second, [{"material_id": material.pk, "problem": "身份证信息不清晰"}], actor=window_staff
    )
    result = stats.refresh_recent()
    assert result["case_slices"] >= 1
    m = stats.month_of(first.received_on)
    assert aggregated_cases(m, simple_item.pk) == direct_cases(m, simple_item.pk)
    assert aggregated_cases(m, simple_item.pk)["submitted"] == 2
    assert aggregated_cases(m, simple_item.pk)["accepted"] == 1
    assert aggregated_cases(m, simple_item.pk)["noticed"] == 1
    assert NoticeMaterialStat.objects.get(item_id=simple_item.pk).material == "居民身份证"
    # Swept again: the same figures (refreshing is idempotent).
    stats.refresh_recent()
    assert aggregated_cases(m, simple_item.pk)["submitted"] == 2


def rating_sums(**where) -> dict[str, int]:
    fields = ("count", "level_sum", "l1", "l2", "l3", "l4", "l5", "r_slow", "r_guide", "r_other")
    sums = RatingStat.objects.filter(**where).aggregate(**{f: Sum(f) for f in fields})
    return {f: sums[f] or 0 for f in fields}


def direct_ratings(qs) -> dict[str, int]:
    rows = list(qs.filter(counted=True))
    out = {
        "count": len(rows),
        "level_sum": sum(r.level for r in rows),
        **{f"l{i}": sum(1 for r in rows if r.level == i) for i in range(1, 6)},
    }
    for code in ("slow", "guide"):
        out[f"r_{code}"] = sum(1 for r in rows if r.level <= 2 and code in r.reasons)
    # A code the dashboards do not know (an old or mistyped one) counts as 其他.
    known = {"slow", "runs", "guide", "attitude", "system", "result"}
    out["r_other"] = sum(1 for r in rows if r.level <= 2 and set(r.reasons) - known)
    return out


def test_a_rating_is_in_the_statistics_as_soon_as_it_commits(
    tree, item, applicant, window_staff, django_capture_on_commit_callbacks
):
    day = date(2026, 11, 12)
    app = make_app(item, applicant, received=day, accepted=day, completed=day)
    with django_capture_on_commit_callbacks(execute=True):
        rating = rate(tree.department, 2, day, app=app, reasons=["slow", "guide"], elderly=True)
    assert rating_sums(month=NOV, group="all") == direct_ratings(Rating.objects.all())
    assert rating_sums(month=NOV, group="elderly")["count"] == 1
    assert rating_sums(month=NOV, group="rural")["count"] == 0
    assert rating_sums(month=NOV, group="all")["r_guide"] == 1
    assert not Slice.objects.filter(dirty=True).exists()
    # An upheld appeal takes it out of the statistics (the rating stays on record).
    with django_capture_on_commit_callbacks(execute=True):
        rating.counted = False
        rating.save(update_fields=["counted"])
    assert rating_sums(month=NOV, group="all")["count"] == 0
    assert Rating.objects.filter(pk=rating.pk).exists()


def test_ratings_of_many_units_groups_and_windows_equal_direct_counts(
    tree, item, other_item, applicant, window_staff, django_capture_on_commit_callbacks
):
    rnd = random.Random(3)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(80):
            day = rnd.choice(month_days(OCT) + month_days(NOV))
            it = rnd.choice([item, other_item])
            level = rnd.choice([1, 2, 3, 4, 5, 5, 4])
            reasons = (
                rnd.sample(["slow", "guide", "attitude", "unknown-code"], rnd.randint(0, 2))
                if level <= 2
                else []
            )
            groups = {
                "elderly": rnd.random() < 0.3,
                "enterprise": rnd.random() < 0.2,
                "rural": rnd.random() < 0.2,
            }
            if n % 3 == 0:
                v = visit(tree.window, it.department, window_staff, day, about=it)
                rate(it.department, level, day, visit=v, channel="qr", reasons=reasons, **groups)
            else:
                app = make_app(it, applicant, received=day)
                rate(
                    it.department,
                    level,
                    day,
                    app=app,
                    channel=rnd.choice(["web", "mobile"]),
                    reasons=reasons,
                    **groups,
                )
        # Two appeals upheld.
        for r in Rating.objects.filter(level__lte=2)[:2]:
            r.counted = False
            r.save()
    for m in (OCT, NOV):
        end = stats.next_month(m)
        in_month = Rating.objects.filter(rated_on__gte=m, rated_on__lt=end)
        for unit in (item.department, other_item.department):
            mine = in_month.filter(unit=unit)
            assert rating_sums(month=m, unit_id=unit.pk, group="all") == direct_ratings(mine)
            assert rating_sums(month=m, unit_id=unit.pk, group="elderly") == direct_ratings(
                mine.filter(elderly=True)
            )
            assert rating_sums(month=m, unit_id=unit.pk, group="rural") == direct_ratings(
                mine.filter(rural=True)
            )
        windowed = in_month.filter(visit__window=tree.window)
        assert rating_sums(month=m, window_id=tree.window.pk, group="all") == direct_ratings(windowed)
    before = sorted(
        RatingStat.objects.values_list(
            "month", "unit_id", "item_id", "channel", "window_id", "group", "count", "level_sum", "r_other"
        )
    )
    stats.rebuild()
    after = sorted(
        RatingStat.objects.values_list(
            "month", "unit_id", "item_id", "channel", "window_id", "group", "count", "level_sum", "r_other"
        )
    )
    assert before == after


def test_fix_and_message_counters_follow_their_saves(
    tree, item, applicant, resident, django_capture_on_commit_callbacks
):
    today = date.today()
    with django_capture_on_commit_callbacks(execute=True):
        app = make_app(item, applicant, received=today)
        r1 = rate(tree.department, 1, today, app=app)
        fix = make_fix(r1, due=today + timedelta(days=20))
        app2 = make_app(item, applicant, received=today)
        make_fix(rate(tree.department, 2, today, app=app2), due=today - timedelta(days=1))
        message = make_message(resident, tree.department)
        make_message(resident, None, kind="consult")
    m = stats.month_of(today)
    row = FixStat.objects.get(month=m, unit_id=tree.department.pk)
    assert (row.count, row.called_back, row.replied) == (2, 0, 0)
    with django_capture_on_commit_callbacks(execute=True):
        fix.callback_at = fix.replied_at = fix.fixed_at = fix.created_at
        fix.state = "replied"
        fix.save()
        message.replied_at = message.created_at
        message.level = 2
        message.save()
    row = FixStat.objects.get(month=m, unit_id=tree.department.pk)  # a refresh replaces the rows
    assert (row.count, row.called_back, row.fixed, row.replied) == (2, 1, 1, 1)
    mrow = MessageStat.objects.get(month=m, unit_id=tree.department.pk)
    assert (mrow.count, mrow.replied, mrow.rated, mrow.bad) == (1, 1, 1, 1)
    assert MessageStat.objects.get(month=m, unit_id=0).count == 1  # not dispatched yet
    # Re-dispatch to another unit moves the message: the old unit's row empties.
    with django_capture_on_commit_callbacks(execute=True):
        message.unit = tree.window
        message.save()
    assert not MessageStat.objects.filter(month=m, unit_id=tree.department.pk).exists()
    assert MessageStat.objects.get(month=m, unit_id=tree.window.pk).count == 1


def test_a_failed_refresh_leaves_the_slice_dirty_for_the_sweep(
    tree, item, applicant, monkeypatch, django_capture_on_commit_callbacks
):
    day = date(2026, 11, 2)

    def broken(key, m):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(stats.REFRESHERS, "rating", broken)
    with django_capture_on_commit_callbacks(execute=True):
        rate(tree.department, 5, day, app=make_app(item, applicant, received=day))
    assert Slice.objects.get(kind="rating").dirty
    assert not RatingStat.objects.exists()
    monkeypatch.undo()
    assert stats.refresh_recent()["dirty_slices"] == 1
    assert rating_sums(month=NOV, group="all")["count"] == 1
    assert not Slice.objects.filter(dirty=True).exists()


@pytest.mark.parametrize(
    ("received", "completed", "stopped", "expected"),
    [
        (date(2026, 11, 2), date(2026, 11, 2), 0, 0),  # same day
        (date(2026, 11, 2), date(2026, 11, 6), 0, 4),  # Mon → Fri
        (date(2026, 11, 6), date(2026, 11, 9), 0, 1),  # Fri → Mon: the weekend does not count
        (date(2026, 11, 2), date(2026, 11, 6), 2, 2),  # two stopped days (挂起) left out
        (date(2026, 9, 30), date(2026, 10, 9), 0, 2),  # 10-01…10-07 off: only 10-08 and 10-09 count
    ],
)
def test_working_days_count_from_the_day_after_receipt(db, received, completed, stopped, expected):
    assert stats.elapsed_working_days(received, completed, stopped) == expected


def test_a_backlog_is_caught_up_in_one_run(item, applicant):
    from dangqun.insights.models import Cursor
    from dangqun.onestop.models import Event

    stats.rebuild()
    for _ in range(10):
        app = make_app(item, applicant, received=date(2026, 11, 16))
        last = Event.objects.create(application=app, action="submit", to_state="submitted")
    stats.sweep_events(batch=3)  # batches of 3 until one comes back short
    assert Cursor.objects.get(name=stats.EVENT_CURSOR).position == last.pk


def test_the_scheduled_jobs_refresh_rebuild_and_suggest(item, applicant, window_staff):
    from dangqun.insights import tasks
    from dangqun.insights.models import Suggestion

    day = stats.prev_month(stats.month_of(date.today())) + timedelta(days=3)
    for _ in range(25):
        notice(make_app(item, applicant, received=day), day, ["申请书"], window_staff)
    assert tasks.rebuild_statistics.call_local()["case_rows"] == 1
    assert tasks.refresh_statistics.call_local() == {"case_slices": 0, "dirty_slices": 0}
    assert tasks.monthly_suggestions.call_local()["created"] == 1
    assert Suggestion.objects.get().kind == "notice_material"


def test_the_event_sweep_moves_on_while_it_rereads_recent_events(item, applicant):
    from dangqun.insights.models import Cursor
    from dangqun.onestop.models import Event

    stats.rebuild()
    day = date(2026, 11, 16)
    events = []
    for _ in range(7):  # busy: more new events than one batch
        app = make_app(item, applicant, received=day)
        events.append(Event.objects.create(application=app, action="submit", to_state="submitted").pk)
    for _ in range(2):
        stats.sweep_events(batch=3, budget=0)  # one batch per run
    # The recent events re-read each time never take the new ones' place: the cursor moves on.
    assert Cursor.objects.get(name=stats.EVENT_CURSOR).position == events[5]
    stats.sweep_events(batch=3, budget=0)
    assert Cursor.objects.get(name=stats.EVENT_CURSOR).position == events[6]
    assert aggregated_cases(NOV, item.pk)["submitted"] == 7
    # An event whose id was allocated below the cursor but committed later (October's only one)
    # is still picked up, because recent events are read again.
    late = make_app(item, applicant, received=date(2026, 10, 20))
    event = Event.objects.create(application=late, action="submit", to_state="submitted")
    Event.objects.filter(id=events[5]).delete()  # free an id below the cursor …
    Event.objects.filter(id=event.pk).update(id=events[5])  # … and give it to the late event
    stats.sweep_events(batch=3, budget=0)
    assert aggregated_cases(OCT, item.pk)["submitted"] == 1
