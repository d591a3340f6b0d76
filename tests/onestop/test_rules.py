"""Pure rules: deadlines in working days (2026 holidays), clock stops, notices, numbers, forms."""

from __future__ import annotations

from datetime import date

import pytest

from dangqun.core.errors import RuleViolation
from dangqun.core.validators import validate_credit_code
from dangqun.core.workcalendar import add_working_days, working_days_between
from dangqun.members.rules import default_ruleset
from dangqun.onestop import expr, rules, uploads
from dangqun.onestop.choices import Due, HandlingMode

from .conftest import CREDIT, JPEG, PNG, pdf_bytes

pytestmark = pytest.mark.django_db


def national(on: date = date(2026, 9, 28)):
    return default_ruleset(on, prefix="onestop.")


def test_the_demo_credit_code_is_valid():
    assert validate_credit_code(CREDIT) == CREDIT


def test_ten_working_days_from_28_september_2026_skip_the_national_day_week():
    # 9-29, 9-30, (10-1…10-7 off), 10-8, 10-9, 10-10 (Saturday make-up workday), 10-12 … 10-16
    d = rules.deadlines(
        date(2026, 9, 28),
        promised=10,
        decision=20,
        notice=5,
        stopped_days=0,
        extension_days=0,
        add_days=add_working_days,
    )
    assert d.promised_due == date(2026, 10, 16)
    assert d.notice_due == date(2026, 10, 10)  # the make-up Saturday counts
    assert d.decision_due == date(2026, 10, 30)


def test_stopped_days_push_the_deadline_and_count_only_working_days():
    # stopped from Friday 2026-10-16 to Monday 2026-10-26: 10-19…10-23 and 10-26 = 6 working days
    stopped = rules.stopped_working_days(date(2026, 10, 16), date(2026, 10, 26), working_days_between)
    assert stopped == 6
    d = rules.deadlines(
        date(2026, 9, 28),
        promised=10,
        decision=20,
        notice=5,
        stopped_days=stopped,
        extension_days=0,
        add_days=add_working_days,
    )
    assert d.promised_due == add_working_days(date(2026, 10, 16), 6) == date(2026, 10, 26)


def test_a_stop_that_ends_the_day_it_starts_stops_nothing():
    assert rules.stopped_working_days(date(2026, 10, 16), date(2026, 10, 16), working_days_between) == 0


def test_an_extension_moves_the_legal_limit_and_the_promise_with_it():
    d = rules.deadlines(
        date(2026, 9, 28),
        promised=10,
        decision=20,
        notice=5,
        stopped_days=0,
        extension_days=10,
        add_days=add_working_days,
    )
    assert d.decision_due == add_working_days(date(2026, 9, 28), 30)
    assert d.promised_due == d.decision_due


def test_a_notice_on_the_fifth_working_day_is_in_time_and_on_the_sixth_is_late():
    received = date(2026, 9, 28)
    fifth = add_working_days(received, 5)
    assert not rules.notice_is_late(received, fifth, 5, add_working_days)
    assert rules.notice_is_late(received, add_working_days(received, 6), 5, add_working_days)


def test_limits_follow_the_rule_set_and_the_item():
    r = national()
    assert rules.limits_for(HandlingMode.PROMISED, 0, 10, r) == rules.Limits(10, 20, 10, 5, 10, 3)
    joint = rules.limits_for(HandlingMode.JOINT, 0, 30, r)
    assert (joint.decision, joint.max_extension) == (45, 15)
    assert rules.limits_for(HandlingMode.IMMEDIATE, 0, 5, r).promised == 0
    own = rules.limits_for(HandlingMode.PROMISED, 3, 1, r)  # 公积金提取: 3 days by its own law
    assert (own.decision, own.promised) == (3, 1)
    assert rules.limits_for(HandlingMode.PROMISED, 3, 9, r).promised == 3  # never above the law


def test_extensions_are_capped_and_need_reasons():
    assert rules.check_extension(10, 0, 10, "专家论证") is None
    assert rules.check_extension(5, 6, 10, "再次延长").code == "extension_too_long"
    assert rules.check_extension(5, 0, 10, "  ").code == "extension_reason"


def test_the_deficiency_deadline_cannot_pass_the_promised_date():
    received, promised = date(2026, 9, 28), date(2026, 10, 16)
    assert rules.check_deficiency_due(date(2026, 10, 16), received, promised) is None
    assert (
        rules.check_deficiency_due(date(2026, 10, 19), received, promised).code == "deficiency_due_too_late"
    )
    assert rules.check_deficiency_due(None, received, promised).code == "deficiency_due_missing"


def test_countdown_flags_warning_and_overdue_in_working_days():
    today = date(2026, 9, 30)  # Wednesday before the National Day week
    assert rules.working_days_left(date(2026, 10, 9), today, working_days_between) == 2  # 10-8, 10-9
    assert rules.due_flag(2, 3) == Due.WARNING
    assert rules.due_flag(4, 3) == Due.OK
    assert rules.working_days_left(date(2026, 9, 28), today, working_days_between) == -2
    assert rules.due_flag(-2, 3) == Due.OVERDUE
    assert rules.due_flag(None, 3, stopped=True) == Due.STOPPED


def test_application_numbers_follow_the_observed_format():
    impl = rules.implementation_code(CREDIT, "5", "200010001000")
    assert len(impl) == 31
    number = rules.application_number(impl, date(2026, 9, 28), 7)
    assert number == impl + "20260928" + "0007"


def test_forms_report_every_problem_at_once_and_drafts_keep_what_was_typed():
    schema = {
        "fields": [
            {"name": "name", "label": "姓名", "type": "text", "required": True},
            {"name": "id_number", "label": "身份证号", "type": "id_number", "required": True},
            {"name": "count", "label": "人数", "type": "number", "validators": {"min": 1, "max": 9}},
            {"name": "kind", "label": "类别", "type": "select", "choices": ["甲", "乙"]},
            {"name": "account", "label": "账号", "type": "text", "validators": {"pattern": "[0-9]{4}"}},
        ]
    }
    data = {"id_number": "123", "count": "12", "kind": "丙", "account": "12a4"}
    _cleaned, problems = rules.clean_form(schema, data)
    assert {p.field for p in problems} == {"name", "id_number", "count", "kind", "account"}
    partial, draft_problems = rules.clean_form(schema, data, partial=True)
    assert partial["id_number"] == "123"  # kept so that the user does not lose it
    assert "name" not in {p.field for p in draft_problems}


def test_schema_mistakes_are_reported():
    bad = {
        "fields": [
            {"name": "Bad", "label": "", "type": "weird"},
            {"name": "x", "label": "X", "type": "select"},
        ]
    }
    codes = {v.code for v in rules.check_schema(bad)}
    assert {"schema_name", "schema_type", "schema_label", "schema_choices"} <= codes


# --- the restricted expression evaluator -----------------------------------------------------


def test_conditions_compare_form_values_as_numbers():
    assert expr.evaluate("amount > 3000", {"amount": "5000"})
    assert not expr.evaluate("amount > 3000", {"amount": "200"})
    assert expr.evaluate("category in ['热食类食品制售', '冷食类食品制售']", {"category": "热食类食品制售"})
    assert expr.evaluate("not missing and a == 1 or b", {"a": "1"})
    assert not expr.evaluate("amount > 3000", {})  # None > 3000 is simply false


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "amount.__class__",
        "open('x')",
        "[x for x in y]",
        "a[0]",
        "lambda: 1",
        "a is None",
        "_secret == 1",
        "x := 1",
    ],
)
def test_conditions_refuse_anything_beyond_the_subset(source):
    with pytest.raises(expr.ExpressionError):
        expr.parse(source)


# --- files --------------------------------------------------------------------------------------


def check(data: bytes, **kw):
    return uploads.check_file(
        data,
        allowed=kw.get("allowed", ["pdf", "jpg", "png"]),
        max_size_kb=kw.get("kb", 64),
        max_pages=kw.get("pages", 3),
        material="申请书",
    )


def test_files_are_typed_by_their_bytes_and_pdf_pages_are_counted():
    assert check(pdf_bytes(2)).pages == 2
    assert check(JPEG).kind == "jpg"
    assert check(PNG).kind == "png"


@pytest.mark.parametrize(
    ("data", "kw", "code"),
    [
        (b"", {}, "file_empty"),
        (b"MZ\x90\x00 not a document", {}, "file_type"),
        (JPEG, {"allowed": ["pdf"]}, "file_type"),
        (pdf_bytes(4), {}, "file_too_many_pages"),
        (b"%PDF-1.7\n garbage without any structure", {}, "file_damaged"),
        (JPEG[:-2], {}, "file_damaged"),
        (pdf_bytes(1) + b"\x00" * 70 * 1024, {}, "file_too_large"),
    ],
)
def test_bad_files_are_refused_with_a_clear_reason(data, kw, code):
    with pytest.raises(RuleViolation) as err:
        check(data, **kw)
    assert err.value.code == code
    assert "申请书" in err.value.message
