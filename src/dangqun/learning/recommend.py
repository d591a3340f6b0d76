"""The recommender on the database: the per-process item index, live recommendations for one
learner, and the daily batch that stores everybody's list (StoredRecommendations).

Freshness as in onestop.search: a content change bumps a version in Django's cache after commit
(and drops this process's index at once); a process compares the version at most every
CHECK_SECONDS and rebuilds on change, and rebuilds anyway after RELOAD_SECONDS.

Order of a list: the learner's unfinished required items first, by due date; then the ranked
items (engine.ItemIndex.rank), from the stored batch while it is newer than the learner's last
change and built on the same index version, else computed live.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from dangqun.onestop.search import Doc, SearchIndex

from . import queries
from .choices import POST_WORDS, ItemStatus, Post
from .engine import MAX_PER_TOPIC_SHARE, ItemData, ItemIndex, MemberState, co_study_neighbors
from .models import (
    BranchPopularity,
    ContentItem,
    ItemNeighbors,
    LearnerProfile,
    StoredRecommendations,
    StudyRecord,
)

log = logging.getLogger(__name__)

VERSION_KEY = "dangqun:learning:content:version"
CHECK_SECONDS = 1.0
RELOAD_SECONDS = 300.0
BRANCH_WINDOW_DAYS = 90
STORED_SIZE = 30
BRANCH_CACHE_SECONDS = 3600
# What a recommended item's card shows (the API and the member page); the body is not read.
CARD_FIELDS = ("pk", "title", "kind", "topic", "minutes")


@dataclass
class _State:
    version: Any
    fingerprint: str
    index: ItemIndex
    search: SearchIndex
    orgs: dict[int, int]  # item id -> organization id (0: national)
    check_at: float
    reload_at: float


_state: _State | None = None
_lock = threading.Lock()


def _shared_version() -> Any:
    from django.core.cache import cache

    try:
        return cache.get(VERSION_KEY)
    except Exception:
        log.warning("learning: cannot read the content version", exc_info=True)
        return None


def content_changed() -> None:
    """After a library write: this process rebuilds at once, the others after commit."""
    global _state
    from django.db import transaction

    _state = None

    def bump() -> None:
        global _state
        from django.core.cache import cache

        _state = None
        try:
            cache.set(VERSION_KEY, time.time_ns(), timeout=None)
        except Exception:
            log.warning("learning: cannot bump the content version", exc_info=True)

    transaction.on_commit(bump)


def reset() -> None:
    global _state
    _state = None


def build_index() -> _State:
    now = timezone.now()
    rows = list(
        ContentItem.objects.filter(status=ItemStatus.PUBLISHED)
        .order_by("pk")
        .values_list(
            "pk",
            "title",
            "topic",
            "posts",
            "published_at",
            "search_name",
            "search_text",
            "organization_id",
            "kind",
            "updated_at",
        )
    )
    pop = dict(
        StudyRecord.objects.filter(finished_at__isnull=False)
        .values_list("item_id")
        .annotate(c=Count("pk"))
        .values_list("item_id", "c")
    )
    items, search, orgs = [], SearchIndex(), {}
    for pk, title, topic, posts, published, s_name, s_text, org_id, kind, _updated in rows:
        tokens = f"{s_name} {s_name} {s_text}"  # the title counts twice
        items.append(
            ItemData(
                pk,
                title,
                tokens,
                topic,
                frozenset(posts or ()),
                max(0.0, (now - published).total_seconds() / 86400),
                pop.get(pk, 0),
            )
        )
        orgs[pk] = org_id or 0
        weights = dict.fromkeys((s_text or "").split(), 1)
        weights.update(dict.fromkeys((s_name or "").split(), 3))
        search.add(
            Doc(
                pk=pk,
                code=kind,
                name=title,
                department_id=org_id or 0,
                department=topic,
                life_events=frozenset([topic]),
                channels=frozenset([kind]),
                tokens=weights,
            )
        )
    stamp = max((r[9] for r in rows), default=None)
    fingerprint = f"{len(rows)}:{stamp.isoformat() if stamp else '-'}"
    mono = time.monotonic()
    return _State(
        None,
        fingerprint,
        ItemIndex(items, version=fingerprint),
        search,
        orgs,
        mono + CHECK_SECONDS,
        mono + RELOAD_SECONDS,
    )


_blas_limit: Any = None


def single_threaded_blas() -> None:
    """One BLAS thread in request-serving processes: a live recommendation is one matrix-vector
    product, and waking BLAS worker threads after idle costs ~10 ms on a busy 2-CPU machine
    (measured: 0.7 ms single-threaded). Web servers scale by processes; the batch asks for more."""
    global _blas_limit
    if _blas_limit is None:
        from threadpoolctl import threadpool_limits

        _blas_limit = threadpool_limits(1, user_api="blas")


def current() -> _State:
    global _state
    mono = time.monotonic()
    st = _state
    if st is not None and mono < st.check_at:
        return st
    with _lock:
        st = _state
        mono = time.monotonic()
        if st is not None and mono < st.check_at:
            return st
        version = _shared_version()
        if st is None or version != st.version or mono >= st.reload_at:
            single_threaded_blas()
            st = build_index()
            st.version = version
            _state = st
        else:
            st.check_at = mono + CHECK_SECONDS
        return st


# ---------------------------------------------------------------------------------------------
# One learner


def reason_text(code: str, related_title: str | None, prof: LearnerProfile) -> str:
    if code == "post":
        return _("因为你是%(post)s") % {"post": Post(prof.post).label}
    if code == "history" and related_title:
        return _("与你学过的《%(t)s》相关") % {"t": related_title}
    if code == "costudy" and related_title:
        return _("学过《%(t)s》的党员也学了它") % {"t": related_title}
    if code == "branch":
        return _("本支部党员在学")
    if code == "fresh":
        return _("新上架的内容")
    return _("很多党员在学")


def _allowed_orgs(prof: LearnerProfile) -> set[int]:
    return {0, *(prof.branch.ancestor_ids() if prof.branch is not None else [])}


def member_state(prof: LearnerProfile, history: list[int], exclude: set[int]) -> MemberState:
    neighbors = {}
    if history:
        neighbors = {
            pk: [tuple(x) for x in n]
            for pk, n in ItemNeighbors.objects.filter(item_id__in=history[:20]).values_list(
                "item_id", "neighbors"
            )
        }
    branch_popular = branch_popularity(prof.branch_id) if prof.branch_id else {}
    return MemberState(
        post=prof.post,
        post_words=POST_WORDS.get(prof.post, ""),
        history=history,
        hidden_topics=frozenset(prof.hidden_topics),
        exclude=frozenset(exclude),
        neighbors=neighbors,
        branch_popular=branch_popular,
    )


def branch_popularity(branch_id: int) -> dict[int, int]:
    """The items most finished in a branch over the last 90 days; cached for BRANCH_CACHE_SECONDS
    (one aggregate over the branch's records, the costliest read of a live recommendation)."""
    from django.core.cache import cache

    key = f"dangqun:learning:branchpop:{branch_id}"
    try:
        hit = cache.get(key)
    except Exception:
        hit = None
    if hit is not None:
        return {int(k): v for k, v in hit}
    stored = BranchPopularity.objects.filter(branch_id=branch_id).values_list("items", flat=True).first()
    if stored is not None:
        return {int(k): v for k, v in stored}
    since = timezone.now() - timedelta(days=BRANCH_WINDOW_DAYS)
    found = list(
        StudyRecord.objects.filter(user__learner_profile__branch_id=branch_id, finished_at__gte=since)
        .values_list("item_id")
        .annotate(c=Count("pk"))
        .order_by("-c")
        .values_list("item_id", "c")[:30]
    )
    try:
        cache.set(key, found, BRANCH_CACHE_SECONDS)
    except Exception:
        log.warning("learning: cannot cache branch popularity", exc_info=True)
    return dict(found)


def _block_out_of_scope(st: _State, prof: LearnerProfile, exclude: set[int]) -> set[int]:
    """Items of organizations outside the learner's ancestors (per organization, not per item)."""
    allowed = _allowed_orgs(prof)
    by_org = st.__dict__.get("_by_org")
    if by_org is None:
        by_org = {}
        for pk, org in st.orgs.items():
            by_org.setdefault(org, []).append(pk)
        st.__dict__["_by_org"] = by_org
    outside = [org for org in by_org if org not in allowed]
    if not outside:  # the common case: one street
        return exclude
    return exclude.union(*(by_org[org] for org in outside))


def _diverse(entries: list, limit: int, topic_of) -> list:
    """The stored list (ranked for 30) cut to `limit` under the same per-topic cap as live."""
    cap = max(1, math.ceil(limit * MAX_PER_TOPIC_SHARE))
    per: dict[int, int] = {}
    out, rest = [], []
    for e in entries:
        t = topic_of(e[0])
        if per.get(t, 0) >= cap:
            rest.append(e)
            continue
        per[t] = per.get(t, 0) + 1
        out.append(e)
        if len(out) == limit:
            return out
    return out + rest[: limit - len(out)]


def recommendations(user: Any, limit: int = 10) -> dict[str, Any]:
    """The learner's list: required first (by due date), then ranked items with their reasons."""
    prof = queries.profile(user)
    st = current()
    today = timezone.localdate()
    # (year, credited seconds) too: the year's hours come from the same rows (queries.year_totals).
    records = list(
        StudyRecord.objects.filter(user=user)
        .order_by("-updated_at")
        .values_list("item_id", "finished_at", "year", "credited_seconds")
    )
    finished = {r[0] for r in records if r[1] is not None}
    history = [r[0] for r in records]  # opened or finished, most recent first
    out: list[dict[str, Any]] = []
    required_ids: set[int] = set()
    for req in queries.requirements_for(prof, today.year):
        required_ids.add(req.item_id)
        if req.item_id in finished or len(out) >= limit:
            continue
        out.append(
            {
                "item": req.item,
                "required": True,
                "due_on": req.due_on,
                "reason_code": "required",
                "reason": _("%(org)s要求 %(m)s月%(d)s日前完成")
                % {
                    "org": req.organization.short_name or req.organization.name,
                    "m": req.due_on.month,
                    "d": req.due_on.day,
                },
            }
        )
    rest = limit - len(out)
    source = "live"
    if rest > 0:
        picks = None
        stored = next(
            iter(StoredRecommendations.objects.filter(user=user).order_by()[:1]), None
        )  # one per user
        if (
            stored is not None
            and stored.computed_at >= prof.changed_at
            and stored.index_version == st.fingerprint
        ):
            hidden = set(prof.hidden_topics)
            picks = [
                e
                for e in stored.entries
                if e[0] not in finished
                and e[0] not in required_ids
                and st.index.row.get(e[0]) is not None
                and st.index.topic_names[st.index.topics[st.index.row[e[0]]]] not in hidden
            ]
            picks = _diverse(picks, rest, lambda pk: int(st.index.topics[st.index.row[pk]]))
            source = "stored"
        if picks is None:
            exclude = _block_out_of_scope(st, prof, set(required_ids))
            state = member_state(prof, history, exclude)
            picks = [(p.item_id, p.score, p.reason, p.related_id) for p in st.index.rank(state, rest)]
        items = ContentItem.objects.only(*CARD_FIELDS).in_bulk([p[0] for p in picks])
        for pk, score, code, related in picks:
            item = items.get(pk)
            if item is None:
                continue
            related_title = st.index.titles[st.index.row[related]] if related in st.index.row else None
            out.append(
                {
                    "item": item,
                    "required": False,
                    "due_on": None,
                    "reason_code": code,
                    "reason": reason_text(code, related_title, prof),
                    "score": score,
                }
            )
    return {
        "profile": prof,
        "items": out,
        "source": source,
        "index_version": st.fingerprint,
        "year": today.year,
        "year_totals": queries.year_totals(records, today.year),
    }


def search(user: Any, q: str, *, topic: str = "", kind: str = "", limit: int = 20) -> list[ContentItem]:
    """Chinese words, full pinyin or initials over the items the user may see."""
    st = current()
    hits, _total = st.search.search(q, life_event=topic or None, channel=kind or None, limit=limit * 3)
    if queries.can_edit(user):
        ids = [h.pk for h in hits]
        qs = queries.library(user).filter(pk__in=ids)
    else:
        prof = queries.profile(user)
        allowed = _allowed_orgs(prof)
        ids = [h.pk for h in hits if h.department_id in allowed]
        qs = queries.visible_items(prof).filter(pk__in=ids)
    found = qs.in_bulk()
    return [found[pk] for pk in ids if pk in found][:limit]


# ---------------------------------------------------------------------------------------------
# The daily batch


def run_batch(*, chunk: int = 1000, log_fn=None) -> dict[str, Any]:
    """Co-study neighbours for every item, then every learner's stored list. Idempotent."""
    from threadpoolctl import threadpool_limits

    started = time.monotonic()
    st = build_index()
    reset()
    histories: dict[int, list[int]] = {}
    for uid, pk in (
        StudyRecord.objects.order_by("user_id", "-updated_at")
        .values_list("user_id", "item_id")
        .iterator(10000)
    ):
        histories.setdefault(uid, []).append(pk)
    t_hist = time.monotonic()
    neighbors = co_study_neighbors(histories.values())
    ItemNeighbors.objects.all().delete()
    ItemNeighbors.objects.bulk_create(
        (
            ItemNeighbors(item_id=pk, neighbors=[list(x) for x in n])
            for pk, n in neighbors.items()
            if pk in st.index.row
        ),
        batch_size=2000,
    )
    t_co = time.monotonic()
    since = timezone.now() - timedelta(days=BRANCH_WINDOW_DAYS)
    branch_pop: dict[int, dict[int, int]] = {}
    for branch_id, pk, c in (
        StudyRecord.objects.filter(finished_at__gte=since, user__learner_profile__branch__isnull=False)
        .values_list("user__learner_profile__branch_id", "item_id")
        .annotate(c=Count("pk"))
        .iterator(10000)
    ):
        branch_pop.setdefault(branch_id, {})[pk] = c
    branch_pop = {b: dict(sorted(d.items(), key=lambda kv: -kv[1])[:30]) for b, d in branch_pop.items()}
    BranchPopularity.objects.all().delete()
    BranchPopularity.objects.bulk_create(
        [
            BranchPopularity(branch_id=b, items=[[k, v] for k, v in d.items()], computed_at=timezone.now())
            for b, d in branch_pop.items()
        ],
        batch_size=1000,
    )
    profiles = list(LearnerProfile.objects.select_related("branch").order_by("pk"))
    now = timezone.now()
    year = timezone.localdate().year
    from .models import Requirement

    reqs = list(Requirement.objects.filter(year=year).values_list("organization_id", "item_id", "audience"))
    written = 0
    t_rank = t_write = 0.0
    for i in range(0, len(profiles), chunk):
        part = profiles[i : i + chunk]
        states = []
        for prof in part:
            chain = set(prof.branch.ancestor_ids()) if prof.branch is not None else set()
            required = {pk for org, pk, aud in reqs if org in chain and (aud == "all" or prof.is_cadre)}
            exclude = _block_out_of_scope(st, prof, required)
            states.append(
                MemberState(
                    post=prof.post,
                    post_words=POST_WORDS.get(prof.post, ""),
                    history=histories.get(prof.user_id, []),
                    hidden_topics=frozenset(prof.hidden_topics),
                    exclude=frozenset(exclude),
                    neighbors=neighbors,
                    branch_popular=branch_pop.get(prof.branch_id or 0, {}),
                )
            )
        r0 = time.monotonic()
        with threadpool_limits(os.cpu_count() or 1, user_api="blas"):  # block products: all cores
            ranked = st.index.rank_many(states, STORED_SIZE)
        t_rank += time.monotonic() - r0
        rows = [
            StoredRecommendations(
                user_id=prof.user_id,
                computed_at=now,
                index_version=st.fingerprint,
                entries=[[p.item_id, p.score, p.reason, p.related_id] for p in picks],
            )
            for prof, picks in zip(part, ranked, strict=True)
        ]
        w0 = time.monotonic()
        StoredRecommendations.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["computed_at", "index_version", "entries"],
            batch_size=1000,
        )
        t_write += time.monotonic() - w0
        written += len(rows)
        if log_fn:
            log_fn(f"{written}/{len(profiles)}")
    return {
        "learners": written,
        "items": len(st.index),
        "neighbors": len(neighbors),
        "seconds": round(time.monotonic() - started, 1),
        "history_seconds": round(t_hist - started, 1),
        "costudy_seconds": round(t_co - t_hist, 1),
        "rank_seconds": round(t_rank, 1),
        "write_seconds": round(t_write, 1),
    }


def last_computed() -> Any:
    return StoredRecommendations.objects.aggregate(m=Max("computed_at"))["m"]
