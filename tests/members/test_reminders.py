"""The daily reminder of overdue development steps and activist reviews: the branch's secretary
is told once per member, step and due date, however often the job runs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from dangqun.core.models import Notification
from dangqun.core.validators import id_check_char
from dangqun.members import rules as R
from dangqun.members import tasks
from dangqun.members.actions import do_enroll_member, do_record_step, do_register_applicant
from dangqun.members.choices import Status
from dangqun.members.importing import UPLOAD_DIR

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)  # a fixed day: the job is given its date


def id_for(n: int, born: date) -> str:
    first17 = f"440106{born:%Y%m%d}{n % 900 + 100:03d}"
    return first17 + id_check_char(first17)


@pytest.fixture
def pipeline(tree, root_admin):
    """Branch A: a late talk, a talk not yet due, an activist due for review, a late approval,
    an ended probation. Branch B: a late talk of its own."""
    late_talk = do_register_applicant(
        branch=tree.branch_a,
        name="迟谈话",
        id_number=id_for(1, date(1990, 1, 1)),
        applied_on=date(2026, 1, 20),
        actor=root_admin,
    )
    do_register_applicant(
        branch=tree.branch_a,
        name="新申请",
        id_number=id_for(2, date(1991, 1, 1)),
        applied_on=date(2026, 3, 1),
        actor=root_admin,
    )  # its talk is due on 2026-04-01
    activist = do_register_applicant(
        branch=tree.branch_a,
        name="积极分子",
        id_number=id_for(3, date(1992, 1, 1)),
        applied_on=date(2025, 2, 1),
        actor=root_admin,
    )
    do_record_step(activist, 2, date(2025, 2, 10), actor=root_admin)
    do_record_step(activist, 3, date(2025, 9, 5), actor=root_admin)  # review 2026-03-05
    full = [
        do_enroll_member(
            branch=tree.branch_a,
            name=f"正式{i}",
            id_number=id_for(10 + i, date(1970, 1, 1 + i)),
            status=Status.FULL,
            admitted_on=date(2016, 7, 1),
            actor=root_admin,
        )
        for i in range(3)
    ]
    candidate = do_register_applicant(
        branch=tree.branch_a,
        name="待审批",
        id_number=id_for(4, date(1993, 1, 1)),
        applied_on=date(2023, 1, 10),
        actor=root_admin,
    )
    steps = {
        2: (date(2023, 1, 20), {}),
        3: (date(2023, 3, 1), {}),
        4: (date(2023, 3, 5), {}),
        5: (date(2023, 3, 10), {"contact_person_ids": [full[0].pk]}),
        6: (date(2024, 2, 20), {}),
        7: (date(2024, 3, 1), {}),
        8: (date(2024, 3, 5), {}),
        9: (date(2024, 3, 10), {"introducer_ids": [full[1].pk, full[2].pk]}),
        10: (date(2024, 3, 20), {"passed": True}),
        11: (date(2024, 3, 25), {"training_days": 3}),
        12: (date(2024, 4, 1), {}),
        13: (
            date(2024, 4, 15),
            {"passed": True, "publicity_start": date(2024, 4, 2), "publicity_end": date(2024, 4, 10)},
        ),
        14: (date(2024, 4, 20), {}),
        15: (date(2025, 11, 10), {"entitled": 12, "present": 10, "in_favour": 9}),
        16: (date(2025, 11, 20), {}),
    }
    for n, (on, data) in steps.items():
        do_record_step(candidate, n, on, actor=root_admin, **data)
        candidate.refresh_from_db()
    do_enroll_member(
        branch=tree.branch_a,
        name="预备期满",
        id_number=id_for(5, date(1994, 1, 1)),
        status=Status.PROBATIONARY,
        admitted_on=date(2025, 3, 1),
        actor=root_admin,
    )
    do_register_applicant(
        branch=tree.branch_b,
        name="乙支部迟谈话",
        id_number=id_for(6, date(1995, 1, 1)),
        applied_on=date(2026, 1, 5),
        actor=root_admin,
    )
    return late_talk


def titles(user) -> list[str]:
    return sorted(Notification.objects.filter(recipient=user).values_list("title", flat=True))


def test_the_secretary_hears_of_every_overdue_step_and_review(pipeline, secretary, outsider):
    tasks.remind_due_steps(TODAY)
    assert titles(secretary) == sorted(
        [
            "迟谈话：入党申请后的谈话已逾期（应于 2026-02-20 前）",
            "积极分子：本月应进行入党积极分子考察（2026-03-05）",
            "待审批：上级党委审批接收预备党员已逾期（一般应于 2026-02-10 前）",
            "预备期满：预备期已于 2026-03-01 期满，应及时讨论转正",
        ]
    )
    # 新申请's talk is due on 2026-04-01: not overdue, nothing yet. Branch B is for its own secretary.
    assert titles(outsider) == ["乙支部迟谈话：入党申请后的谈话已逾期（应于 2026-02-05 前）"]
    note = Notification.objects.get(recipient=secretary, title__startswith="迟谈话")
    assert note.key == f"members.due:{pipeline.pk}:2:2026-02-20"
    assert note.url == f"/members/{pipeline.pk}/"
    assert "第2步“党组织派人谈话”" in note.body


def test_running_again_repeats_nothing(pipeline, secretary):
    tasks.remind_due_steps(TODAY)
    count = Notification.objects.count()
    tasks.remind_due_steps(TODAY)
    tasks.remind_due_steps(TODAY + timedelta(days=1))
    assert Notification.objects.count() == count


def test_a_step_done_stops_its_reminder(pipeline, secretary, root_admin):
    do_record_step(pipeline, 2, date(2026, 3, 10), actor=root_admin)
    tasks.remind_due_steps(TODAY)
    assert not any(t.startswith("迟谈话") for t in titles(secretary))


def test_the_next_review_is_a_new_reminder(pipeline, secretary):
    tasks.remind_due_steps(TODAY)
    tasks.remind_due_steps(R.add_months(TODAY, 6))
    reviews = [t for t in titles(secretary) if "考察" in t]
    assert reviews == [
        "积极分子：本月应进行入党积极分子考察（2026-03-05）",
        "积极分子：本月应进行入党积极分子考察（2026-09-05）",
    ]


def test_no_secretary_no_notification(pipeline):
    assert tasks.remind_due_steps(TODAY) == 0  # no secretary persona was created
    assert Notification.objects.count() == 0


def test_the_daily_jobs_are_scheduled():
    from datetime import datetime

    from huey.contrib.djhuey import HUEY

    periodic = HUEY._registry._periodic_tasks
    for job, hour in ((tasks.remind_due_steps_daily, 7), (tasks.clean_import_uploads_daily, 3)):
        assert job.task_class in periodic
        runs = [
            h
            for h in range(24)
            if job.task_class().validate_datetime(datetime(2026, 3, 16, h, 10 if h == 7 else 40))
        ]
        assert runs == [hour]


def test_unconfirmed_import_files_are_cleaned(db):
    name = default_storage.save(f"{UPLOAD_DIR}/old.xlsx", ContentFile(b"PK\x03\x04"))
    waiting = len(default_storage.listdir(UPLOAD_DIR)[1])  # other tests' previews may be there too
    assert tasks.clean_import_uploads(older_than_hours=24) == 0
    assert default_storage.exists(name)
    assert tasks.clean_import_uploads(older_than_hours=-1) == waiting
    assert not default_storage.exists(name)
