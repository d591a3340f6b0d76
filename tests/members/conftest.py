"""Members fixtures: valid ID numbers, full members to introduce others, a pipeline driver."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from dangqun.accounts.tokens import issue_token
from dangqun.core.validators import id_check_char
from dangqun.members import rules as R
from dangqun.members.actions import do_enroll_member, do_record_step, do_register_applicant
from dangqun.members.choices import Status
from dangqun.members.models import PartyMember

_seq = iter(range(100, 999))


def make_id(born: date, *, region: str = "110105", male: bool = True) -> str:
    """A valid GB 11643 number for `born` (a fresh sequence number each call)."""
    seq = next(_seq)
    if (seq % 2 == 1) != male:
        seq = next(_seq)
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def national(on: date) -> R.RuleSet:
    return R.default_ruleset(on)


def weekdays(a: date, b: date) -> int:
    """Monday–Friday between a and b inclusive: a stand-in calendar for pure rule tests."""
    return sum(1 for i in range((b - a).days + 1) if (a + timedelta(days=i)).weekday() < 5)


def state(status: str = Status.APPLICANT, steps: dict[int, Any] | None = None, **kw: Any) -> R.MemberState:
    """A MemberState with steps given as {n: date} or {n: (date, data)}."""
    done = {}
    for n, v in (steps or {}).items():
        on, data = (v, {}) if isinstance(v, date) else v
        done[n] = R.DoneStep(on, data)
    kw.setdefault("birth_date", date(1990, 1, 1))
    return R.MemberState(id=kw.pop("id", 1), status=status, steps=done, **kw)


def enroll_full_members(branch, actor) -> list[PartyMember]:
    """Three full members of `branch` (enrolled, admitted 2015), usable as introducers."""
    return [
        do_enroll_member(
            branch=branch,
            name=name,
            id_number=make_id(date(1970 + i, 3, 1)),
            status=Status.FULL,
            admitted_on=date(2015, 7, 1),
            actor=actor,
        )
        for i, name in enumerate(["刘正式", "陈正式", "黄正式"])
    ]


@pytest.fixture
def full_members(tree, root_admin) -> list[PartyMember]:
    """Three full members of branch A."""
    return enroll_full_members(tree.branch_a, root_admin)


@pytest.fixture
def applicant(tree, secretary) -> PartyMember:
    return do_register_applicant(
        branch=tree.branch_a,
        name="周申请",
        id_number=make_id(date(1998, 5, 20)),
        applied_on=date(2023, 1, 10),
        actor=secretary,
        phone="13800138000",
    )


# The dates of a lawful development, step by step (applied 2023-01-10, full 2025-05-10).
PIPELINE: dict[int, tuple[date, dict[str, Any]]] = {
    2: (date(2023, 1, 20), {}),
    3: (date(2023, 3, 1), {}),
    4: (date(2023, 3, 5), {}),
    5: (date(2023, 3, 10), {"contact_person_ids": "contacts"}),
    6: (date(2024, 2, 20), {}),
    7: (date(2024, 3, 1), {}),
    8: (date(2024, 3, 5), {}),
    9: (date(2024, 3, 10), {"introducer_ids": "introducers"}),
    10: (date(2024, 3, 20), {"passed": True}),
    11: (date(2024, 3, 25), {"training_days": 3}),
    12: (date(2024, 4, 1), {}),
    13: (
        date(2024, 4, 15),
        {"passed": True, "publicity_start": date(2024, 4, 2), "publicity_end": date(2024, 4, 10)},
    ),
    14: (date(2024, 4, 20), {}),
    15: (date(2024, 5, 10), {"entitled": 12, "present": 10, "in_favour": 9}),
    16: (date(2024, 5, 20), {}),
    17: (date(2024, 6, 10), {"approved_by": "幸福街道党工委"}),
    18: (date(2024, 6, 20), {}),
    19: (date(2024, 6, 21), {}),
    20: (date(2024, 7, 1), {}),
    21: (date(2025, 4, 30), {}),
    22: (date(2025, 5, 1), {}),
    23: (date(2025, 5, 12), {"entitled": 13, "present": 11, "in_favour": 11}),
    24: (date(2025, 6, 1), {}),
    25: (date(2025, 6, 10), {}),
}


def advance(member: PartyMember, through: int, actor: Any, people: list[PartyMember], start: int = 2) -> None:
    """Record steps start..through with the lawful PIPELINE dates."""
    for n in range(start, through + 1):
        on, data = PIPELINE[n]
        ev = dict(data)
        if ev.get("contact_person_ids") == "contacts":
            ev["contact_person_ids"] = [people[0].pk]
        if ev.get("introducer_ids") == "introducers":
            ev["introducer_ids"] = [people[1].pk, people[2].pk]
        do_record_step(member, n, on, actor=actor, **ev)
        member.refresh_from_db()


@pytest.fixture
def token_for():
    def make(user) -> dict[str, str]:
        raw, _token = issue_token(user, name="test")
        return {"Authorization": f"Bearer {raw}"}

    return make
