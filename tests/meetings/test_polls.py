"""Votes and elections at a 支部党员大会: entitled voters, quorum, written opinions, secret ballots
that cannot be linked to their voters, elections with turnout, 差额, ties and shortfalls."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.core.models import AuditEvent
from dangqun.meetings import actions
from dangqun.meetings.choices import BallotMode, Choice, PollStatus, VoteKind
from dangqun.meetings.models import Ballot, Candidate, Election, ElectionBallot, RollEntry, Vote

from .conftest import make_meeting, mark

pytestmark = pytest.mark.django_db


@pytest.fixture
def assembly(tree, secretary, roster, at):
    return make_meeting(tree.branch_a, secretary, at)


def open_vote(meeting, actor, mode=BallotMode.HANDS, **kw):
    kw.setdefault("kind", VoteKind.OTHER)
    kw.setdefault("subject", "关于发展党员工作计划")
    return actions.do_open_vote(meeting, mode=mode, actor=actor, **kw)


def full(roster):
    return roster[:10]


# --- votes ----------------------------------------------------------------------------------------


def test_probationary_members_have_no_vote(assembly, secretary, roster):
    mark(assembly, secretary, roster)  # all 12 present, 2 of them probationary
    vote = open_vote(assembly, secretary)
    assert (vote.entitled, vote.present) == (10, 10)


def test_a_vote_without_quorum_cannot_open_and_nothing_is_saved(assembly, secretary, roster):
    # 5 of 10 full members present, plus both probationary members: still no quorum.
    mark(assembly, secretary, full(roster)[:5] + roster[10:])
    with pytest.raises(RuleViolation) as err:
        open_vote(assembly, secretary)
    assert err.value.code == "vote_no_quorum"
    assert not Vote.objects.exists()
    assert not AuditEvent.objects.filter(action="vote.open").exists()
    mark(assembly, secretary, full(roster)[5:6])
    assert open_vote(assembly, secretary).present == 6


def test_written_opinions_count_and_cannot_come_from_those_present(assembly, secretary, roster):
    mark(assembly, secretary, full(roster)[:8])
    with pytest.raises(RuleViolation) as err:
        open_vote(assembly, secretary, written_for=3)  # only 2 entitled are absent
    assert err.value.code == "vote_counts"
    vote = open_vote(assembly, secretary, written_for=1, written_against=1)
    vote = actions.do_close_vote(vote, actor=secretary, in_favour=5, against=3, abstain=0)
    assert vote.adopted
    assert vote.votes_needed == 6


def test_in_favour_is_counted_against_the_entitled_not_those_present(assembly, secretary, roster):
    mark(assembly, secretary, full(roster)[:6])
    vote = open_vote(assembly, secretary)
    vote = actions.do_close_vote(vote, actor=secretary, in_favour=5, against=1, abstain=0)
    assert vote.quorum
    assert not vote.adopted
    assert vote.status == PollStatus.CLOSED


def test_counts_beyond_those_present_are_refused(assembly, secretary, roster):
    mark(assembly, secretary, full(roster)[:6])
    vote = open_vote(assembly, secretary)
    with pytest.raises(RuleViolation) as err:
        actions.do_close_vote(vote, actor=secretary, in_favour=6, against=1, abstain=0)
    assert err.value.code == "vote_counts"
    vote.refresh_from_db()
    assert vote.status == PollStatus.OPEN
    assert vote.in_favour is None


def test_candidates_are_voted_one_by_one_and_must_be_candidates(assembly, secretary, roster, candidate):
    mark(assembly, secretary, full(roster))
    with pytest.raises(RuleViolation) as err:
        open_vote(
            assembly, secretary, kind=VoteKind.ADMISSION, subject="接收周发展", subject_member=candidate
        )
    assert err.value.code == "vote_subject_status"  # still an applicant
    with pytest.raises(RuleViolation) as err:
        open_vote(assembly, secretary, kind=VoteKind.FULL_MEMBERSHIP, subject="转正")
    assert err.value.code == "vote_subject"
    vote = open_vote(
        assembly, secretary, kind=VoteKind.FULL_MEMBERSHIP, subject="预备0 转正", subject_member=roster[10]
    )
    assert vote.subject_member == roster[10]


def test_a_disciplinary_probation_removes_the_vote(assembly, secretary, roster):
    actions.do_record_disciplinary_probation(
        roster[1],
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 1, 1),
        decided_by="纪工委",
        reason="违纪",
        actor=secretary,
    )
    mark(assembly, secretary, full(roster))
    vote = open_vote(assembly, secretary)
    assert (vote.entitled, vote.present) == (9, 9)


def test_only_the_branchs_managers_open_and_close_votes(assembly, secretary, outsider, street_admin, roster):
    mark(assembly, secretary, full(roster))
    for actor in (outsider, street_admin):
        with pytest.raises(PermissionDenied):
            open_vote(assembly, actor)
    vote = open_vote(assembly, secretary)
    with pytest.raises(PermissionDenied):
        actions.do_close_vote(vote, actor=outsider, in_favour=1, against=0, abstain=0)


# --- secret ballots -----------------------------------------------------------------------------


@pytest.fixture
def voters(roster, voter_user, member):
    """Accounts for the 10 full members (the member persona is the first)."""
    return [member] + [voter_user(p) for p in roster[1:10]]


def test_an_online_secret_vote_counts_ballots_and_stops_double_voting(assembly, secretary, roster, voters):
    mark(assembly, secretary, full(roster))
    vote = open_vote(assembly, secretary, mode=BallotMode.ONLINE)
    choices = [Choice.FOR] * 6 + [Choice.AGAINST] * 3 + [Choice.ABSTAIN]
    for user, choice in zip(voters, choices, strict=True):
        actions.do_cast_ballot(vote, choice, actor=user)
    with pytest.raises(RuleViolation) as err:
        actions.do_cast_ballot(vote, Choice.AGAINST, actor=voters[0])
    assert err.value.code == "already_voted"
    vote = actions.do_close_vote(vote, actor=secretary)
    assert (vote.in_favour, vote.against, vote.abstain, vote.adopted) == (6, 3, 1, True)
    assert Ballot.objects.filter(vote=vote).count() == 10


def test_someone_absent_or_probationary_cannot_cast(assembly, secretary, roster, voters, voter_user):
    mark(assembly, secretary, full(roster)[1:])  # the member persona is absent
    vote = open_vote(assembly, secretary, mode=BallotMode.ONLINE)
    with pytest.raises(RuleViolation) as err:
        actions.do_cast_ballot(vote, Choice.FOR, actor=voters[0])
    assert err.value.code == "not_on_roll"
    probationary = voter_user(roster[10])
    with pytest.raises(RuleViolation):
        actions.do_cast_ballot(vote, Choice.FOR, actor=probationary)
    assert not Ballot.objects.filter(vote=vote).exclude(choice="").exists()


def _ballot_fields():
    return {f.name for f in Ballot._meta.get_fields()}


def test_a_ballot_stores_nothing_that_names_its_voter_or_its_time():
    assert _ballot_fields() == {"id", "vote", "choice"}
    assert {f.name for f in ElectionBallot._meta.get_fields()} == {"id", "election", "selections"}
    assert {f.name for f in RollEntry._meta.get_fields()} == {"id", "vote", "election", "member", "has_voted"}


def _rowids(table: str, where: str, param) -> list[tuple]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"SELECT rowid, id, choice FROM {table} WHERE {where} ORDER BY rowid", [param])  # noqa: S608
        else:
            cursor.execute(f"SELECT ctid, id, choice FROM {table} WHERE {where} ORDER BY ctid", [param])  # noqa: S608
        return cursor.fetchall()


def test_the_stored_data_cannot_link_a_ballot_to_its_voter(assembly, secretary, roster, voters, monkeypatch):
    """Voters cast in a known order with distinct-enough choices; afterwards neither the keys,
    the physical order of the rows, nor any column of the ballots follows the voters' order,
    and the audit trail says who voted, never what."""
    mark(assembly, secretary, full(roster))
    vote = open_vote(assembly, secretary, mode=BallotMode.ONLINE)
    # Slots: created together before anyone votes, in a batch.
    slots = list(Ballot.objects.filter(vote=vote).values_list("pk", flat=True))
    assert len(slots) == 10
    table = Ballot._meta.db_table
    at_open = [r[:2] for r in _rowids(table, "vote_id = %s", vote.pk)]
    # Make the "random" choices of slot and shuffle observable: fill slots from the end, and
    # reverse at close. A linkable design would still follow the cast order.
    monkeypatch.setattr(actions.secrets, "choice", lambda seq: sorted(seq)[-1])
    monkeypatch.setattr(actions, "_shuffled", lambda items: list(reversed(items)))
    cast = [Choice.FOR, Choice.AGAINST] * 5
    filled = []
    for user, choice in zip(voters, cast, strict=True):
        before = set(Ballot.objects.filter(vote=vote, choice="").values_list("pk", flat=True))
        actions.do_cast_ballot(vote, choice, actor=user)
        after = set(Ballot.objects.filter(vote=vote, choice="").values_list("pk", flat=True))
        filled.append((before - after).pop())
    # The slot a voter filled was chosen by the secrets module, not by when they voted.
    assert filled == sorted(slots, reverse=True)
    if connection.vendor == "sqlite":
        # Filling a slot updates it in place: the rows and their order are the batch made at open.
        assert [r[:2] for r in _rowids(table, "vote_id = %s", vote.pk)] == at_open
    actions.do_close_vote(vote, actor=secretary)
    after_close = Ballot.objects.filter(vote=vote)
    # New keys: none of the slot keys seen during the vote survives.
    assert not set(after_close.values_list("pk", flat=True)) & set(slots)
    # The roll keeps who voted, in member order, with no link to a ballot.
    roll = list(RollEntry.objects.filter(vote=vote).values_list("member_id", "has_voted"))
    assert roll == sorted((p.pk, True) for p in full(roster))
    # No audit event carries a choice.
    payloads = list(AuditEvent.objects.filter(action="vote.ballot_cast").values_list("payload", flat=True))
    assert len(payloads) == 10
    assert all(p == {} for p in payloads)


def test_ballots_are_rewritten_in_a_shuffled_order_at_close(assembly, secretary, roster, voters, monkeypatch):
    mark(assembly, secretary, full(roster))
    vote = open_vote(assembly, secretary, mode=BallotMode.ONLINE)
    cast = [Choice.FOR] * 5 + [Choice.AGAINST] * 5
    for user, choice in zip(voters, cast, strict=True):
        actions.do_cast_ballot(vote, choice, actor=user)
    seen = []
    real = actions._shuffled

    def spy(items):
        out = real(items)
        seen.append((list(items), out))
        return out

    monkeypatch.setattr(actions, "_shuffled", spy)
    actions.do_close_vote(vote, actor=secretary)
    (given, shuffled), *_ = seen
    assert sorted(given) == sorted(shuffled)
    stored = [r[2] for r in _rowids(Ballot._meta.db_table, "vote_id = %s", vote.pk)]
    assert stored == list(shuffled)  # the physical order is the shuffled one


# --- elections ------------------------------------------------------------------------------------


def keys(election, members) -> list[int]:
    """The candidate ids (what ballots and counts name) of `members`, in their order."""
    by_member = dict(election.candidates.values_list("member_id", "pk"))
    return [by_member[m.pk] for m in members]


def open_election(meeting, actor, candidates, seats=2, mode=BallotMode.PAPER):
    return actions.do_open_election(
        meeting,
        title="选举支部委员会委员",
        seats=seats,
        mode=mode,
        candidate_ids=[c.pk for c in candidates],
        actor=actor,
    )


@pytest.mark.parametrize(("present", "valid"), [(8, False), (9, True)])
def test_an_election_needs_more_than_four_fifths_present(assembly, secretary, roster, present, valid):
    mark(assembly, secretary, full(roster)[:present])
    if valid:
        assert open_election(assembly, secretary, full(roster)[:3]).present == 9
    else:
        with pytest.raises(RuleViolation) as err:
            open_election(assembly, secretary, full(roster)[:3])
        assert err.value.code == "election_turnout"
        assert not Election.objects.exists()
        assert not Candidate.objects.exists()


def test_an_election_needs_twenty_percent_more_candidates_and_a_secret_ballot(assembly, secretary, roster):
    mark(assembly, secretary, full(roster))
    with pytest.raises(RuleViolation) as err:
        open_election(assembly, secretary, full(roster)[:5], seats=5)
    assert err.value.code == "election_margin"
    with pytest.raises(RuleViolation) as err:
        open_election(assembly, secretary, full(roster)[:3], mode=BallotMode.HANDS)
    assert err.value.code == "election_not_secret"
    assert open_election(assembly, secretary, full(roster)[:6], seats=5).candidates.count() == 6


def test_probationary_members_cannot_stand(assembly, secretary, roster):
    mark(assembly, secretary, full(roster))
    with pytest.raises(RuleViolation) as err:
        open_election(assembly, secretary, [*full(roster)[:2], roster[10]])
    assert err.value.code == "candidate_not_eligible"


def test_election_results_per_candidate(assembly, secretary, roster):
    mark(assembly, secretary, full(roster)[:9])
    c = full(roster)[:4]
    election = open_election(assembly, secretary, c, seats=3)
    k = keys(election, c)
    votes = {c[0].pk: 8, c[1].pk: 6, c[2].pk: 6, c[3].pk: 2}
    election = actions.do_close_election(
        election, actor=secretary, votes={k[i]: votes[m.pk] for i, m in enumerate(c)}
    )
    # 9 present: more than 4.5, so 5 votes elect; two tied at 6 both fit in the 3 seats.
    assert election.valid
    assert election.shortfall == 0
    assert election.votes_needed == 5
    assert dict(election.candidates.values_list("member_id", "votes")) == votes
    assert set(election.candidates.filter(elected=True).values_list("member_id", flat=True)) == {
        c[0].pk,
        c[1].pk,
        c[2].pk,
    }


def test_a_tie_for_the_last_seat_and_too_few_elected_are_reported(assembly, secretary, roster):
    mark(assembly, secretary, full(roster)[:9])
    c = full(roster)[:3]
    election = open_election(assembly, secretary, c, seats=2)
    k = keys(election, c)
    election = actions.do_close_election(election, actor=secretary, votes={k[0]: 8, k[1]: 6, k[2]: 6})
    assert set(election.runoff) == {k[1], k[2]}
    assert election.shortfall == 1
    assert any("再次投票" in p["message"] for p in election.problems)


def test_paper_counts_must_be_complete_and_possible(assembly, secretary, roster):
    mark(assembly, secretary, full(roster)[:9])
    c = full(roster)[:3]
    election = open_election(assembly, secretary, c, seats=2)
    k = keys(election, c)
    with pytest.raises(RuleViolation) as err:
        actions.do_close_election(election, actor=secretary, votes={k[0]: 8})
    assert err.value.code == "votes_missing"
    with pytest.raises(RuleViolation) as err:
        actions.do_close_election(election, actor=secretary, votes={k[0]: 10, k[1]: 1, k[2]: 1})
    assert err.value.code == "election_counts"  # 10 votes with 9 present
    election.refresh_from_db()
    assert election.status == PollStatus.OPEN
    assert not election.candidates.filter(votes__isnull=False).exists()


def test_an_online_election_counts_secret_ballots(assembly, secretary, roster, voters):
    mark(assembly, secretary, full(roster))
    c = full(roster)[:3]
    election = open_election(assembly, secretary, c, seats=2, mode=BallotMode.ONLINE)
    k = keys(election, c)
    with pytest.raises(RuleViolation) as err:
        actions.do_cast_election_ballot(election, k, actor=voters[0])
    assert err.value.code == "ballot_too_many"
    with pytest.raises(RuleViolation) as err:
        actions.do_cast_election_ballot(election, [c[0].pk + 10_000], actor=voters[0])
    assert err.value.code == "ballot_candidates"
    for i, user in enumerate(voters):
        actions.do_cast_election_ballot(election, [k[0], k[1 + i % 2]] if i < 9 else [], actor=user)
    with pytest.raises(RuleViolation):
        actions.do_cast_election_ballot(election, [k[0]], actor=voters[0])
    election = actions.do_close_election(election, actor=secretary)
    got = dict(election.candidates.values_list("member_id", "votes"))
    assert got == {c[0].pk: 9, c[1].pk: 5, c[2].pk: 4}
    assert list(election.candidates.filter(elected=True).values_list("member_id", flat=True)) == [c[0].pk]
    assert election.shortfall == 1  # 5 of 10 is not more than half
    assert ElectionBallot.objects.filter(election=election).count() == 10
