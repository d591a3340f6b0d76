"""Transfers inside the platform, introduction letters (介绍信) and flowing members (party.md §6):
responsibility before and after acceptance, scope (404), letter numbers and PDF, validity
boundaries, receipts, idempotent reminders, and per-persona allow/deny on every page and endpoint."""

from __future__ import annotations

import io
import itertools
from datetime import date, timedelta

import pypdf
import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dangqun.accounts.choices import Role
from dangqun.accounts.models import RoleGrant
from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.core.models import AuditEvent, Notification
from dangqun.core.validators import id_check_char
from dangqun.members import rules_transfer as RT
from dangqun.members.actions import do_enroll_member, do_record_dues_payment, do_set_dues_rate
from dangqun.members.actions_transfer import (
    do_accept_transfer,
    do_cancel_letter,
    do_cancel_transfer,
    do_end_flowing,
    do_issue_letter,
    do_issue_transfer,
    do_log_flowing_contact,
    do_record_letter_receipt,
    do_register_flowing,
    do_return_transfer,
    remind_flowing_contacts,
    remind_letter_receipts,
)
from dangqun.members.choices import Status
from dangqun.members.letters import render_letter_pdf
from dangqun.members.models import PartyMember
from dangqun.members.transfers import (
    FlowKind,
    IntroductionLetter,
    LetterCounter,
    LetterStatus,
    Transfer,
    TransferStatus,
)
from dangqun.orgs.actions import do_create_organization
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization
from dangqun.orgs.rules import add_months

from .conftest import national

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def counts(org: Organization) -> tuple[int, int]:
    org.refresh_from_db()
    return org.full_members, org.probationary_members


_ids = itertools.count()


def new_id() -> str:
    """A valid GB 11643 number, fresh each call (region 440305: apart from the other suites)."""
    n = next(_ids)
    born = date(1960, 1, 1) + timedelta(days=n // 800)
    first17 = f"440305{born:%Y%m%d}{n % 800 + 100:03d}"
    return first17 + id_check_char(first17)


def enroll(branch, name, actor, *, status=Status.FULL, admitted_on=date(2015, 7, 1), **kw) -> PartyMember:
    return do_enroll_member(
        branch=branch,
        name=name,
        id_number=new_id(),
        status=status,
        admitted_on=admitted_on,
        actor=actor,
        **kw,
    )


@pytest.fixture
def branch_c(tree, root_admin) -> Organization:
    """A third branch, under the same committee: neither the secretary's nor the outsider's."""
    return do_create_organization(
        name="和平社区第三党支部",
        kind=OrgKind.BRANCH,
        parent=tree.committee,
        actor=root_admin,
        full_members=5,
    )


@pytest.fixture
def li(tree, root_admin, member) -> PartyMember:
    """A full member of branch A whose own account is the member persona."""
    return enroll(tree.branch_a, "李转接", root_admin, user=member, phone="13800138000")


@pytest.fixture
def probationary(tree, root_admin) -> PartyMember:
    return enroll(
        tree.branch_a, "周预备", root_admin, status=Status.PROBATIONARY, admitted_on=date(2026, 3, 10)
    )


# --- transfer inside the platform --------------------------------------------------------------


def test_the_out_branch_stays_responsible_until_the_in_branch_accepts(
    tree, li, secretary, outsider, member, django_capture_on_commit_callbacks
):
    before_a, before_b = counts(tree.branch_a), counts(tree.branch_b)
    with django_capture_on_commit_callbacks(execute=True):
        transfer = do_issue_transfer(
            li, to_branch=tree.branch_b, issued_on=date(2026, 11, 1), reason="工作调动", actor=secretary
        )
    li.refresh_from_db()
    assert (transfer.status, li.branch_id) == (TransferStatus.PENDING, tree.branch_a.pk)
    assert (counts(tree.branch_a), counts(tree.branch_b)) == (before_a, before_b)
    # The in-branch is told; the out-branch still sees the member, the in-branch not yet.
    assert Notification.objects.filter(recipient=outsider, key=f"members.transfer_in:{transfer.pk}").exists()

    do_accept_transfer(transfer, accepted_on=date(2026, 11, 5), actor=outsider)
    li.refresh_from_db()
    transfer.refresh_from_db()
    assert (transfer.status, transfer.decided_on) == (TransferStatus.ACCEPTED, date(2026, 11, 5))
    assert (li.branch_id, li.group_id, li.status) == (tree.branch_b.pk, None, Status.FULL)
    assert counts(tree.branch_a) == (before_a[0] - 1, before_a[1])
    assert counts(tree.branch_b) == (before_b[0] + 1, before_b[1])
    # The member's own account follows them to the new branch.
    assert RoleGrant.objects.get(user=member, role=Role.MEMBER).organization_id == tree.branch_b.pk
    actions = list(AuditEvent.objects.filter(object_id=str(li.pk)).values_list("action", flat=True))
    assert actions[-2:] == ["member.transfer_issue", "member.transfer_accept"]


def test_a_probationary_member_transferred_in_may_postpone_the_full_discussion(
    tree, probationary, secretary, outsider, client
):
    transfer = do_issue_transfer(probationary, to_branch=tree.branch_b, issued_on=TODAY(), actor=secretary)
    a, b = counts(tree.branch_a), counts(tree.branch_b)
    do_accept_transfer(transfer, accepted_on=TODAY(), actor=outsider)
    probationary.refresh_from_db()
    transfer.refresh_from_db()
    ends = probationary.probation_ends_on
    assert ends == date(2027, 3, 10)
    assert probationary.transferred_in
    assert transfer.postpone_until == add_months(ends, 6) == date(2027, 9, 10)
    assert counts(tree.branch_a) == (a[0], a[1] - 1)
    assert counts(tree.branch_b) == (b[0], b[1] + 1)
    # Exposed with the member's data: the latest discussion date; full membership stays `ends`.
    client.force_login(outsider)
    body = client.get(f"/api/v1/members/{probationary.pk}/relation").json()
    assert body["transferred_in"] is True
    assert body["probation_ends_on"] == "2027-03-10"
    assert body["full_discussion_latest_on"] == "2027-09-10"
    assert "第三十七条" in body["postpone_source"]
    html = client.get(reverse("members:relation", args=[probationary.pk])).content.decode()
    assert "2027-09-10" in html
    # The step rules accept the discussion up to that date, not a day later.
    rules = national(date(2027, 9, 11))
    assert RT.postpone_until(ends, rules) == date(2027, 9, 10)


def test_the_in_branch_may_return_a_transfer_with_a_reason(
    tree, li, secretary, outsider, django_capture_on_commit_callbacks
):
    transfer = do_issue_transfer(li, to_branch=tree.branch_b, issued_on=TODAY(), actor=secretary)
    with pytest.raises(RuleViolation) as err:
        do_return_transfer(transfer, reason="  ", returned_on=TODAY(), actor=outsider)
    assert err.value.code == "return_reason_required"
    with django_capture_on_commit_callbacks(execute=True):
        do_return_transfer(transfer, reason="查无此人", returned_on=TODAY(), actor=outsider)
    transfer.refresh_from_db()
    li.refresh_from_db()
    assert (transfer.status, transfer.return_reason, li.branch_id) == (
        TransferStatus.RETURNED,
        "查无此人",
        tree.branch_a.pk,
    )
    assert Notification.objects.filter(
        recipient=secretary, key=f"members.transfer_returned:{transfer.pk}"
    ).exists()
    # Returned: the out-branch may issue again.
    again = do_issue_transfer(li, to_branch=tree.branch_b, issued_on=TODAY(), actor=secretary)
    do_cancel_transfer(again, actor=secretary)
    assert Transfer.objects.get(pk=again.pk).status == TransferStatus.CANCELLED


def test_an_outsider_cannot_accept_for_another_branch(
    tree, li, branch_c, secretary, outsider, client, token_for
):
    transfer = do_issue_transfer(li, to_branch=branch_c, issued_on=TODAY(), actor=secretary)
    client.force_login(outsider)
    assert client.get(reverse("members:transfer", args=[transfer.pk])).status_code == 404
    assert (
        client.post(
            reverse("members:transfer_accept", args=[transfer.pk]), {"accept-decided_on": TODAY()}
        ).status_code
        == 404
    )
    api = client.post(
        f"/api/v1/transfers/{transfer.pk}/accept",
        {"decided_on": str(TODAY())},
        content_type="application/json",
        headers=token_for(outsider),
    )
    assert api.status_code == 404
    with pytest.raises(PermissionDenied):
        do_accept_transfer(transfer, accepted_on=TODAY(), actor=outsider)
    # The out-branch sees its transfer but may not accept it for the other side: 403.
    client.force_login(secretary)
    assert (
        client.post(
            reverse("members:transfer_accept", args=[transfer.pk]), {"accept-decided_on": TODAY()}
        ).status_code
        == 403
    )
    li.refresh_from_db()
    assert (li.branch_id, Transfer.objects.get(pk=transfer.pk).status) == (
        tree.branch_a.pk,
        TransferStatus.PENDING,
    )


def test_a_transfer_needs_a_member_another_branch_and_nothing_under_way(tree, li, secretary, root_admin):
    with pytest.raises(RuleViolation) as err:
        do_issue_transfer(li, to_branch=tree.branch_a, issued_on=TODAY(), actor=secretary)
    assert err.value.code == "same_branch"
    with pytest.raises(RuleViolation) as err:
        do_issue_transfer(li, to_branch=tree.group_a, issued_on=TODAY(), actor=secretary)
    assert err.value.code == "not_a_branch"
    do_issue_transfer(li, to_branch=tree.branch_b, issued_on=TODAY(), actor=secretary)
    with pytest.raises(RuleViolation) as err:
        do_issue_transfer(li, to_branch=tree.branch_b, issued_on=TODAY() + timedelta(days=1), actor=secretary)
    assert {v.code for v in err.value.violations} == {"transfer_pending", "future_date"}
    with pytest.raises(RuleViolation) as err:
        do_issue_letter(li, to_organization="某县委组织部", issued_on=TODAY(), actor=secretary)
    assert err.value.code == "transfer_pending"


def test_a_refused_acceptance_changes_nothing(tree, li, secretary, outsider):
    transfer = do_issue_transfer(li, to_branch=tree.branch_b, issued_on=date(2026, 11, 10), actor=secretary)
    a, b = counts(tree.branch_a), counts(tree.branch_b)
    events = AuditEvent.objects.count()
    with pytest.raises(RuleViolation) as err:
        do_accept_transfer(transfer, accepted_on=date(2026, 11, 9), actor=outsider)
    assert err.value.code == "decided_before_issue"
    li.refresh_from_db()
    assert (li.branch_id, counts(tree.branch_a), counts(tree.branch_b)) == (tree.branch_a.pk, a, b)
    assert Transfer.objects.get(pk=transfer.pk).status == TransferStatus.PENDING
    assert AuditEvent.objects.count() == events


# --- introduction letters ---------------------------------------------------------------------


def test_letter_numbers_are_unique_per_committee_and_year(tree, secretary, root_admin, branch_c):
    people = [enroll(tree.branch_a, f"信{i}号", root_admin) for i in range(3)]
    letters = [
        do_issue_letter(p, to_organization="某县委组织部", issued_on=date(2026, 3, 1), actor=secretary)
        for p in people
    ]
    assert [(x.year, x.seq) for x in letters] == [(2026, 1), (2026, 2), (2026, 3)]
    assert len({x.number for x in letters}) == 3
    assert letters[0].number == f"2026-{tree.committee.pk:06d}-0001"
    assert {x.committee_id for x in letters} == {tree.committee.pk}
    # A cancelled letter keeps its number; the next one does not reuse it.
    do_cancel_letter(letters[2], reason="去向有误", actor=secretary)
    again = do_issue_letter(
        people[2], to_organization="某市委组织部", issued_on=date(2026, 3, 2), actor=secretary
    )
    assert again.seq == 4
    # Another year starts again at 1; so does another committee.
    last_year = do_issue_letter(
        enroll(tree.branch_a, "去年信", root_admin),
        to_organization="某县委组织部",
        issued_on=date(2025, 12, 31),
        actor=secretary,
    )
    assert (last_year.year, last_year.seq) == (2025, 1)
    other_committee = do_create_organization(
        name="另一党委", kind=OrgKind.PARTY_COMMITTEE, parent=tree.street, actor=root_admin
    )
    far = do_create_organization(
        name="远方党支部", kind=OrgKind.BRANCH, parent=other_committee, actor=root_admin
    )
    far_letter = do_issue_letter(
        enroll(far, "远方人", root_admin),
        to_organization="某县委组织部",
        issued_on=date(2026, 3, 1),
        actor=root_admin,
    )
    assert (far_letter.committee_id, far_letter.seq) == (other_committee.pk, 1)
    # The database refuses a duplicate number even if code tried.
    with pytest.raises(IntegrityError), transaction.atomic():
        IntroductionLetter.objects.filter(pk=letters[1].pk).update(seq=1)


def test_a_counter_created_by_a_concurrent_letter_is_incremented_not_overwritten(tree, monkeypatch):
    """The race of two first letters of a year: the UPDATE finds no row, the other transaction
    creates it first, our INSERT meets the unique constraint, and we increment its row instead.
    (SQLite's in-memory test database cannot run two writers at once, so the interleaving is
    arranged by hand: the other transaction's row appears just before our INSERT.)"""
    from dangqun.members import letters

    real_bump = letters._bump
    calls = []

    def bump_before_the_other_commits(committee, year):
        calls.append(year)
        if len(calls) == 1:
            found = real_bump(committee, year)  # no row yet ...
            LetterCounter.objects.create(committee=committee, year=year, last=1)  # ... the other letter's
            return found
        return real_bump(committee, year)

    monkeypatch.setattr(letters, "_bump", bump_before_the_other_commits)
    assert letters.allocate_number(tree.committee, 2026) == 2
    assert len(calls) == 2
    assert LetterCounter.objects.get(committee=tree.committee, year=2026).last == 2
    monkeypatch.undo()
    assert letters.allocate_number(tree.committee, 2026) == 3


def test_the_letter_pdf_is_a_real_pdf_with_the_number_and_the_facts(tree, li, secretary, client):
    do_set_dues_rate(li, 2026, category="employed", income="4500", actor=secretary)
    do_record_dues_payment(
        li,
        period_start=date(2026, 1, 1),
        months=6,
        paid_on=date(2026, 6, 1),
        idempotency_key="pdf",
        actor=secretary,
    )
    letter = do_issue_letter(
        li,
        to_organization="江苏省南京市某街道党工委",
        issued_on=date(2026, 11, 20),
        reason="工作调动",
        actor=secretary,
    )
    data = render_letter_pdf(letter, li.id_number)
    assert data.startswith(b"%PDF-")
    text = "".join(pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text().split())
    for words in (
        letter.number,
        "李转接",
        li.id_number,
        "正式党员",
        "2026年6月",
        "江苏省南京市某街道党工委",
        "回执",
    ):
        assert words in text
    assert letter.standing_years is not None
    assert f"{letter.standing_years}年" in text
    client.force_login(secretary)
    response = client.get(reverse("members:letter_pdf", args=[letter.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("cross_province", "extra_days", "ok"),
    [(False, 0, True), (False, 1, False), (True, 0, True), (True, 1, False)],
)
def test_a_letter_is_valid_three_months_at_most_six_across_provinces(
    tree, li, secretary, cross_province, extra_days, ok
):
    issued = date(2026, 1, 31)
    months = 6 if cross_province else 3
    until = add_months(issued, months) + timedelta(days=extra_days)
    assert add_months(issued, 3) == date(2026, 4, 30)
    kwargs = {
        "to_organization": "某县委组织部",
        "issued_on": issued,
        "cross_province": cross_province,
        "actor": secretary,
    }
    if ok:
        assert do_issue_letter(li, valid_until=until, **kwargs).valid_until == until
    else:
        with pytest.raises(RuleViolation) as err:
            do_issue_letter(li, valid_until=until, **kwargs)
        assert err.value.code == "letter_validity"
        assert not IntroductionLetter.objects.exists()
        assert not LetterCounter.objects.filter(last__gt=0).exists()  # no number consumed


def test_without_a_validity_the_longest_is_given(tree, li, secretary):
    letter = do_issue_letter(li, to_organization="某县委组织部", issued_on=date(2026, 1, 15), actor=secretary)
    assert letter.valid_until == date(2026, 4, 15)
    assert not RT.letter_expired(letter.valid_until, date(2026, 4, 15))
    assert RT.letter_expired(letter.valid_until, date(2026, 4, 16))


def test_the_member_is_transferred_out_when_the_receipt_is_recorded(tree, li, secretary):
    before = counts(tree.branch_a)
    letter = do_issue_letter(li, to_organization="某县委组织部", issued_on=date(2026, 9, 1), actor=secretary)
    li.refresh_from_db()
    assert (li.status, li.branch_id, counts(tree.branch_a)) == (Status.FULL, tree.branch_a.pk, before)
    with pytest.raises(RuleViolation) as err:
        do_record_letter_receipt(
            letter, received_on=date(2026, 8, 31), receipt_org="某县委组织部", actor=secretary
        )
    assert err.value.code == "receipt_before_issue"
    do_record_letter_receipt(
        letter, received_on=date(2026, 9, 20), receipt_org="某县委组织部", actor=secretary
    )
    li.refresh_from_db()
    letter.refresh_from_db()
    assert (li.status, li.ended_on) == (Status.TRANSFERRED_OUT, date(2026, 9, 20))
    assert letter.status == LetterStatus.RECEIVED
    assert counts(tree.branch_a) == (before[0] - 1, before[1])
    with pytest.raises(RuleViolation) as err:
        do_cancel_letter(letter, reason="x", actor=secretary)
    assert err.value.code == "letter_closed"


def test_letters_past_validity_without_receipt_are_reminded_once_a_month(tree, li, secretary, root_admin):
    other = enroll(tree.branch_a, "按时回", root_admin)
    letter = do_issue_letter(li, to_organization="某县委组织部", issued_on=date(2026, 1, 15), actor=secretary)
    received = do_issue_letter(
        other, to_organization="某县委组织部", issued_on=date(2026, 1, 15), actor=secretary
    )
    do_record_letter_receipt(
        received, received_on=date(2026, 2, 1), receipt_org="某县委组织部", actor=secretary
    )
    assert remind_letter_receipts(date(2026, 4, 15)) == 0  # the last valid day
    assert remind_letter_receipts(date(2026, 4, 16)) == 1
    assert remind_letter_receipts(date(2026, 4, 16)) == 0  # the same day again: nothing new
    assert remind_letter_receipts(date(2026, 4, 30)) == 0  # the same month
    assert remind_letter_receipts(date(2026, 5, 2)) == 1
    note = Notification.objects.filter(recipient=secretary, key__startswith="members.letter_receipt:").first()
    assert letter.number in note.title
    do_record_letter_receipt(
        letter, received_on=date(2026, 5, 3), receipt_org="某县委组织部", actor=secretary
    )
    assert remind_letter_receipts(date(2026, 6, 2)) == 0


# --- flowing members --------------------------------------------------------------------------


def test_a_fixed_place_away_six_months_or_more_is_a_transfer_not_a_flowing_member(tree, li, secretary):
    base = {"kind": FlowKind.SHORT, "place": "上海市浦东新区", "since": date(2026, 3, 1), "actor": secretary}
    with pytest.raises(RuleViolation) as err:
        do_register_flowing(li, expected_return=date(2026, 9, 1), registered_on=date(2026, 3, 2), **base)
    assert err.value.code == "should_transfer"
    with pytest.raises(RuleViolation) as err:
        do_register_flowing(li, registered_on=date(2026, 3, 2), **base)
    assert err.value.code == "expected_return_required"
    reg = do_register_flowing(li, expected_return=date(2026, 8, 31), registered_on=date(2026, 3, 2), **base)
    assert (reg.active, reg.last_contact_on) == (True, date(2026, 3, 2))
    with pytest.raises(RuleViolation) as err:
        do_register_flowing(li, kind=FlowKind.UNFIXED, place="各地", since=date(2026, 3, 1), actor=secretary)
    assert err.value.code == "flow_active"


def test_flowing_members_not_contacted_for_six_months_are_reminded(tree, li, secretary, root_admin):
    abroad = enroll(tree.branch_a, "海外党员", root_admin)
    reg = do_register_flowing(
        abroad,
        kind=FlowKind.ABROAD,
        place="德国柏林",
        since=date(2026, 1, 5),
        registered_on=date(2026, 1, 10),
        contact="13912345678",
        actor=secretary,
    )
    assert reg.contact_masked == "139****5678"
    assert remind_flowing_contacts(date(2026, 7, 9)) == 0
    assert remind_flowing_contacts(date(2026, 7, 10)) == 1
    assert remind_flowing_contacts(date(2026, 7, 11)) == 0  # idempotent: one per due date
    do_log_flowing_contact(
        reg, contacted_on=date(2026, 7, 12), channel="online", note="视频通话", actor=secretary
    )
    reg.refresh_from_db()
    assert reg.last_contact_on == date(2026, 7, 12)
    assert remind_flowing_contacts(date(2026, 7, 13)) == 0
    assert remind_flowing_contacts(date(2027, 1, 12)) == 1
    with pytest.raises(RuleViolation) as err:
        do_log_flowing_contact(reg, contacted_on=date(2025, 12, 1), channel="phone", actor=secretary)
    assert err.value.code == "contact_before_leaving"
    do_end_flowing(reg, ended_on=date(2026, 8, 1), actor=secretary)
    assert remind_flowing_contacts(date(2027, 6, 1)) == 0


# --- allow / deny per persona: pages ----------------------------------------------------------


@pytest.fixture
def under_way(tree, li, secretary, root_admin):
    """A pending transfer A → B, an open letter and a flowing registration in branch A."""
    other = enroll(tree.branch_a, "开信人", root_admin)
    away = enroll(tree.branch_a, "流动人", root_admin)
    return {
        "member": li,
        "transfer": do_issue_transfer(li, to_branch=tree.branch_b, issued_on=TODAY(), actor=secretary),
        "letter": do_issue_letter(other, to_organization="某县委组织部", issued_on=TODAY(), actor=secretary),
        "flowing": do_register_flowing(
            away, kind=FlowKind.UNFIXED, place="沿海各地", since=TODAY(), actor=secretary
        ),
        "plain": enroll(tree.branch_a, "普通人", root_admin),
    }


READ_PAGES = [
    ("members:transfers_branch", "branch"),
    ("members:relation", "plain"),
    ("members:transfer_new", "plain"),
    ("members:letter_new", "plain"),
    ("members:flowing_new", "plain"),
    ("members:transfer", "transfer"),
    ("members:letter", "letter"),
    ("members:letter_pdf", "letter"),
    ("members:flowing", "flowing"),
]


def _arg(tree, data, what):
    return tree.branch_a.pk if what == "branch" else data[what].pk


@pytest.mark.parametrize(("name", "what"), READ_PAGES)
@pytest.mark.parametrize(
    ("persona", "status"),
    [
        (None, 302),
        ("street_admin", 200),
        ("secretary", 200),
        ("outsider", 404),
        ("member", 404),
        ("resident", 404),
    ],
)
def test_transfer_pages_per_persona(tree, under_way, client, request, name, what, persona, status):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    # The in-branch's secretary (the outsider persona) sees the transfer addressed to them.
    if persona == "outsider" and name == "members:transfer":
        status = 200
    response = client.get(reverse(name, args=[_arg(tree, under_way, what)]))
    assert response.status_code == status


def test_a_member_sees_their_own_relation_read_only(tree, under_way, client, member):
    client.force_login(member)
    response = client.get(reverse("members:relation", args=[under_way["member"].pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("members:transfer_new", args=[under_way["member"].pk]) not in html


POSTS = {
    "accept": ("members:transfer_accept", "transfer", {"accept-decided_on": "TODAY"}),
    "return": (
        "members:transfer_return",
        "transfer",
        {"return-decided_on": "TODAY", "return-return_reason": "不符"},
    ),
    "cancel": ("members:transfer_cancel", "transfer", {}),
    "receipt": ("members:letter_receipt", "letter", {"received_on": "TODAY", "receipt_org": "某县委组织部"}),
    "cancel_letter": ("members:letter_cancel", "letter", {"cancel_reason": "去向有误"}),
    "contact": ("members:flowing_contact", "flowing", {"contacted_on": "TODAY", "channel": "phone"}),
    "end": ("members:flowing_end", "flowing", {"ended_on": "TODAY"}),
    "issue": ("members:transfer_new", "plain", {"to_branch": "B", "issued_on": "TODAY"}),
    "letter": ("members:letter_new", "plain", {"to_organization": "某县委组织部", "issued_on": "TODAY"}),
    "flowing": (
        "members:flowing_new",
        "plain",
        {"kind": "unfixed", "place": "各地", "since": "TODAY", "registered_on": "TODAY"},
    ),
}
# Who may do it: the in-branch decides (the outsider persona is branch B's secretary), the
# out-branch does the rest; the street administrator's scope covers both.
ALLOWED = {
    "accept": {"outsider", "street_admin"},
    "return": {"outsider", "street_admin"},
}
SEES_ONLY = {"accept": {"secretary"}, "return": {"secretary"}, "cancel": {"outsider"}}


@pytest.mark.parametrize("action", list(POSTS))
@pytest.mark.parametrize("persona", [None, "street_admin", "secretary", "outsider", "member", "resident"])
def test_transfer_actions_per_persona(tree, under_way, client, request, action, persona):
    name, what, data = POSTS[action]
    data = {
        k: (str(TODAY()) if v == "TODAY" else tree.branch_b.pk if v == "B" else v) for k, v in data.items()
    }
    if persona:
        client.force_login(request.getfixturevalue(persona))
    response = client.post(reverse(name, args=[_arg(tree, under_way, what)]), data)
    allowed = ALLOWED.get(action, {"secretary", "street_admin"})
    if persona is None:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    elif persona in allowed:
        assert response.status_code == 302, response.content.decode()[:2000]
    elif persona in SEES_ONLY.get(action, set()):
        assert response.status_code == 403
    else:
        assert response.status_code == 404


# --- allow / deny per persona: API ------------------------------------------------------------


def _api_calls(tree, d):
    today = str(TODAY())
    return {
        "get_transfer": ("get", f"/api/v1/transfers/{d['transfer'].pk}", None),
        "accept": ("post", f"/api/v1/transfers/{d['transfer'].pk}/accept", {"decided_on": today}),
        "return": ("post", f"/api/v1/transfers/{d['transfer'].pk}/return", {"reason": "不符"}),
        "cancel": ("post", f"/api/v1/transfers/{d['transfer'].pk}/cancel", None),
        "issue": (
            "post",
            "/api/v1/transfers",
            {"member_id": d["plain"].pk, "to_branch_id": tree.branch_b.pk, "issued_on": today},
        ),
        "letter": (
            "post",
            "/api/v1/letters",
            {"member_id": d["plain"].pk, "to_organization": "某县委组织部", "issued_on": today},
        ),
        "get_letter": ("get", f"/api/v1/letters/{d['letter'].pk}", None),
        "letter_pdf": ("get", f"/api/v1/letters/{d['letter'].pk}/pdf", None),
        "receipt": (
            "post",
            f"/api/v1/letters/{d['letter'].pk}/receipt",
            {"received_on": today, "receipt_org": "某县委组织部"},
        ),
        "cancel_letter": ("post", f"/api/v1/letters/{d['letter'].pk}/cancel", {"reason": "去向有误"}),
        "flowing": (
            "post",
            "/api/v1/flowing",
            {"member_id": d["plain"].pk, "kind": "unfixed", "place": "各地", "since": today},
        ),
        "get_flowing": ("get", f"/api/v1/flowing/{d['flowing'].pk}", None),
        "contact": (
            "post",
            f"/api/v1/flowing/{d['flowing'].pk}/contacts",
            {"contacted_on": today, "channel": "phone"},
        ),
        "end": ("post", f"/api/v1/flowing/{d['flowing'].pk}/end", {"ended_on": today}),
        "relation": ("get", f"/api/v1/members/{d['plain'].pk}/relation", None),
    }


API_ACTIONS = [
    "get_transfer",
    "accept",
    "return",
    "cancel",
    "issue",
    "letter",
    "get_letter",
    "letter_pdf",
    "receipt",
    "cancel_letter",
    "flowing",
    "get_flowing",
    "contact",
    "end",
    "relation",
]
API_ALLOWED = {
    "get_transfer": {"secretary", "street_admin", "outsider"},
    "accept": {"outsider", "street_admin"},
    "return": {"outsider", "street_admin"},
}
API_SEES_ONLY = {"accept": {"secretary"}, "return": {"secretary"}, "cancel": {"outsider"}}


@pytest.mark.parametrize("action", API_ACTIONS)
@pytest.mark.parametrize("persona", [None, "street_admin", "secretary", "outsider", "member", "resident"])
def test_transfer_api_per_persona(tree, under_way, client, request, token_for, action, persona):
    method, url, body = _api_calls(tree, under_way)[action]
    headers = token_for(request.getfixturevalue(persona)) if persona else {}
    if method == "get":
        response = client.get(url, headers=headers)
    else:
        response = client.post(url, body or {}, content_type="application/json", headers=headers)
    allowed = API_ALLOWED.get(action, {"secretary", "street_admin"})
    if persona is None:
        assert response.status_code == 401
    elif persona in allowed:
        assert response.status_code in (200, 201), response.content.decode()[:2000]
    elif persona in API_SEES_ONLY.get(action, set()):
        assert response.status_code == 403
    else:
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_the_api_letter_is_numbered_and_flags_a_missing_receipt(tree, li, secretary, client, token_for):
    response = client.post(
        "/api/v1/letters",
        {
            "member_id": li.pk,
            "to_organization": "某县委组织部",
            "issued_on": "2026-01-31",
            "valid_until": "2026-05-01",
        },
        content_type="application/json",
        headers=token_for(secretary),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "letter_validity"
    response = client.post(
        "/api/v1/letters",
        {"member_id": li.pk, "to_organization": "某县委组织部", "issued_on": "2026-01-31"},
        content_type="application/json",
        headers=token_for(secretary),
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["valid_until"], body["status"], body["expired_without_receipt"]) == (
        "2026-04-30",
        "issued",
        True,
    )
    pdf = client.get(body["pdf_url"], headers=token_for(secretary))
    assert pdf.status_code == 200
    assert body["number"] in "".join(pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text().split())


def test_the_branch_overview_flags_and_pins_its_queries(tree, under_way, client, secretary, root_admin):
    do_issue_letter(
        enroll(tree.branch_a, "过期信", root_admin),
        to_organization="某县委组织部",
        issued_on=date(2026, 1, 5),
        actor=secretary,
    )
    client.force_login(secretary)
    url = reverse("members:transfers_branch", args=[tree.branch_a.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as first:
        html = client.get(url).content.decode()
    assert "1 封已过有效期未回执" in html
    for i in range(3):
        do_issue_letter(
            enroll(tree.branch_a, f"又一信{i}", root_admin),
            to_organization="某县委组织部",
            issued_on=date(2026, 1, 5),
            actor=secretary,
        )
    with CaptureQueriesContext(connection) as more:
        client.get(url)
    assert len(more) == len(first)
