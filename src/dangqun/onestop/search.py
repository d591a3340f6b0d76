"""Catalog search by Chinese words, full pinyin and initials (社保 / shebao / sb), typo-tolerant.

The index text is stored with each item (ServiceItem.search_name / search_text: rjieba words,
their full pinyin and initials, joined by spaces; written by `index_texts`). Every process keeps
an in-memory inverted index built from those columns, because the target (p95 ≤ 20 ms over
100,000 items) and the tolerance for a wrong pinyin letter are out of reach for SQLite FTS5 and
PostgreSQL's tsvector alike (neither knows edit distance; both would need an extension).

Freshness across processes, as core.workcalendar does it: a catalog change bumps a version in
Django's cache after commit; a process compares at most every CHECK_SECONDS and then reads only
the items changed since its watermark (`updated_at`), so an edit costs one small query, not a
rebuild. Without a shared cache a process still re-reads changes every RELOAD_SECONDS.

Matching, per query term: exact token (1.0), a prefix of a pinyin/initials token (0.7), a token one
typo away (a wrong, missing or extra letter, or two letters swapped) through a deletion index (0.5,
terms of 4+ letters), and for Chinese words that
are not tokens (abbreviations like 社保 for 社会保险) all of their characters (0.4). A term scores
an item by its best match times the field weight (name and keywords 3, the rest 1). Items that
match every term rank first; if none does, items matching most terms are shown.
"""

from __future__ import annotations

import heapq
import logging
import re
import threading
import time
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

import rjieba
from pypinyin import lazy_pinyin

log = logging.getLogger(__name__)

VERSION_CACHE_KEY = "dangqun:onestop:catalog:version"
CHECK_SECONDS = 1.0
RELOAD_SECONDS = 30.0
MAX_QUERY = 50
NAME_WEIGHT, TEXT_WEIGHT = 3, 1
EXACT, PREFIX, FUZZY, CHARS = 1.0, 0.7, 0.5, 0.4
PHRASE_BONUS = 2.0  # the query as written appears in the name
COVERAGE_BONUS = 10.0  # per matched term, when no item matches them all
MAX_PREFIX_EXPANSION = 64

_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[\u3400-\u9fff]+|[a-z0-9]+")


def normalize(text: str) -> str:
    """Half-width, lower case, single spaces (NFKC turns ＳＢ into sb)."""
    return " ".join(unicodedata.normalize("NFKC", text or "").lower().split())[:MAX_QUERY]


def _pinyin_forms(word: str) -> tuple[str, str]:
    syllables = lazy_pinyin(word, errors="ignore")
    return "".join(syllables), "".join(s[0] for s in syllables if s)


def tokens_of(text: str, *, whole: bool = False) -> list[str]:
    """rjieba words of `text` with the full pinyin and the initials of every Chinese word.

    `whole` adds the pinyin and initials of each whole run of Chinese characters (名称的全拼/简拼),
    so that "shbz" or "shehuibaozhangka" finds 社会保障卡申领 by prefix.
    """
    out: list[str] = []
    seen: set[str] = set()

    def add(tok: str) -> None:
        if tok and tok not in seen:
            seen.add(tok)
            out.append(tok)

    norm = unicodedata.normalize("NFKC", text or "").lower()
    for run in _WORD.findall(norm):
        if not _CJK.match(run):
            add(run)
            continue
        for word in rjieba.cut_for_search(run):
            word = word.strip()
            if not word or not _CJK.match(word):
                continue
            add(word)
            full, initials = _pinyin_forms(word)
            add(full)
            if len(initials) > 1:
                add(initials)
        if whole and len(run) > 1:
            full, initials = _pinyin_forms(run)
            add(full)
            add(initials)
    return out


def index_texts(
    name: str, keywords: str, extras: Iterable[str]
) -> tuple[str, str]:  # (search_name, search_text)
    """The two index columns of an item: its name and keywords; everything else."""
    name_tokens = tokens_of(name, whole=True)
    name_tokens += [t for t in tokens_of(keywords, whole=True) if t not in set(name_tokens)]
    text_tokens = tokens_of(" ".join(e for e in extras if e))
    return " ".join(name_tokens), " ".join(t for t in text_tokens if t not in set(name_tokens))


def _deletes(term: str) -> set[str]:
    return {term[:i] + term[i + 1 :] for i in range(len(term))}


# ---------------------------------------------------------------------------------------------


@dataclass
class Doc:
    pk: int
    code: str
    name: str
    department_id: int
    department: str
    life_events: frozenset[str]
    channels: frozenset[str]
    tokens: dict[str, int]  # token -> field weight
    stamp: Any = None  # updated_at when read


@dataclass
class Hit:
    pk: int
    code: str
    name: str
    department_id: int
    department: str
    score: float


def _tiebreak(name: str) -> float:
    """Below any real score difference (≥ 0.1): among equal scores, shorter names first."""
    return (200 - min(len(name), 199)) * 1e-6


@dataclass
class SearchIndex:
    """An inverted index over the active items: postings, a sorted vocabulary, a deletion index.

    A posting's weight is the field weight plus a tiny tie-break, so that the ranking is the
    score itself and the top hits come from heapq over the postings (C speed), without a Python
    key function per candidate: that keeps a 15,000-hit query over 100,000 items in a few ms.
    """

    docs: dict[int, Doc] = field(default_factory=dict)
    postings: dict[str, dict[int, float]] = field(default_factory=dict)
    by_department: dict[int, set[int]] = field(default_factory=dict)
    by_event: dict[str, set[int]] = field(default_factory=dict)
    by_channel: dict[str, set[int]] = field(default_factory=dict)
    stamps: dict[int, Any] = field(default_factory=dict)  # pk -> updated_at of every row read
    _vocab: list[str] | None = None
    _del_index: dict[str, set[str]] | None = None
    _chars: dict[str, set[int]] | None = None  # character -> items, built on first need

    # --- building ---

    def _index_chars(self, doc: Doc) -> None:
        assert self._chars is not None  # noqa: S101 — only called once the table exists
        for tok in doc.tokens:
            if _CJK.match(tok):
                for ch in tok:
                    self._chars.setdefault(ch, set()).add(doc.pk)

    @property
    def chars(self) -> dict[str, set[int]]:
        if self._chars is None:
            self._chars = {}
            for doc in self.docs.values():
                self._index_chars(doc)
        return self._chars

    def add(self, doc: Doc) -> None:
        self.remove(doc.pk)
        self.docs[doc.pk] = doc
        tb = _tiebreak(doc.name)
        postings = self.postings
        for tok, weight in doc.tokens.items():
            posting = postings.get(tok)
            if posting is None:
                posting = postings[tok] = {}
            posting[doc.pk] = weight + tb
        if self._chars is not None:
            self._index_chars(doc)
        self.by_department.setdefault(doc.department_id, set()).add(doc.pk)
        for ev in doc.life_events:
            self.by_event.setdefault(ev, set()).add(doc.pk)
        for ch in doc.channels:
            self.by_channel.setdefault(ch, set()).add(doc.pk)
        self._vocab = self._del_index = None

    def remove(self, pk: int) -> None:
        doc = self.docs.pop(pk, None)
        if doc is None:
            return
        for tok in doc.tokens:
            posting = self.postings.get(tok)
            if posting is not None:
                posting.pop(pk, None)
                if not posting:
                    del self.postings[tok]
            if self._chars is not None and _CJK.match(tok):
                for ch in tok:
                    self._chars.get(ch, set()).discard(pk)
        self.by_department.get(doc.department_id, set()).discard(pk)
        for ev in doc.life_events:
            self.by_event.get(ev, set()).discard(pk)
        for ch in doc.channels:
            self.by_channel.get(ch, set()).discard(pk)
        self._vocab = self._del_index = None

    @property
    def vocab(self) -> list[str]:
        if self._vocab is None:
            self._vocab = sorted(t for t in self.postings if t.isascii())
        return self._vocab

    @property
    def del_index(self) -> dict[str, set[str]]:
        if self._del_index is None:
            index: dict[str, set[str]] = {}
            for tok in self.vocab:
                if len(tok) >= 4 and tok.isalpha():
                    index.setdefault(tok, set()).add(tok)
                    for d in _deletes(tok):
                        index.setdefault(d, set()).add(tok)
            self._del_index = index
        return self._del_index

    # --- matching ---

    def _term_matches(self, term: str) -> list[tuple[str, float]]:
        """Vocabulary tokens for one query term with their match quality."""
        found: dict[str, float] = {}
        if term in self.postings:
            found[term] = EXACT
        if term.isascii():
            if len(term) >= 2:
                vocab = self.vocab
                i = bisect_left(vocab, term)
                n = 0
                while i < len(vocab) and vocab[i].startswith(term) and n < MAX_PREFIX_EXPANSION:
                    found.setdefault(vocab[i], PREFIX)
                    i += 1
                    n += 1
            if len(term) >= 4 and term.isalpha() and not found:
                index = self.del_index
                candidates: set[str] = set(index.get(term, ()))
                for d in _deletes(term):
                    candidates |= index.get(d, set())
                for tok in candidates:
                    if _edit_distance_le1(term, tok):
                        found.setdefault(tok, FUZZY)
        return list(found.items())

    def _score_term(self, term: str) -> dict[int, float]:
        """pk -> the term's score for every matching item (the best match per item)."""
        matches = self._term_matches(term)
        if len(matches) == 1 and matches[0][1] == EXACT:
            return self.postings[matches[0][0]]  # the common case: no copy at all
        scores: dict[int, float] = {}
        # lowest quality first, so that a better match of the same item overwrites a worse one
        for tok, quality in sorted(matches, key=lambda m: m[1]):
            posting = self.postings[tok]
            if quality == EXACT:
                scores.update(posting)
            else:
                scores.update(
                    {pk: w * quality for pk, w in posting.items() if w * quality > scores.get(pk, 0.0)}
                )
        if not scores and _CJK.match(term):
            # An abbreviation (社保) or an unknown word: items holding every character of it.
            sets = [self.chars.get(ch) for ch in dict.fromkeys(term)]
            if sets and all(sets):
                common = set.intersection(*sets)  # type: ignore[arg-type]
                for pk in common:
                    doc = self.docs[pk]
                    weight = NAME_WEIGHT if term[0] in doc.name else TEXT_WEIGHT
                    scores[pk] = CHARS * weight + _tiebreak(doc.name)
        return scores

    def search(
        self,
        query: str,
        *,
        department: int | None = None,
        life_event: str | None = None,
        channel: str | None = None,
        limit: int = 20,
    ) -> tuple[list[Hit], int]:
        """Ranked hits (best first) and how many matched."""
        q = normalize(query)
        allowed: set[int] | None = None
        for wanted, table in (
            (department, self.by_department),
            (life_event, self.by_event),
            (channel, self.by_channel),
        ):
            if wanted is not None and wanted != "":
                subset = table.get(wanted, set())  # type: ignore[call-overload]
                allowed = set(subset) if allowed is None else allowed & subset
        terms = query_terms(q)
        if not terms:
            return [], 0  # browsing without words: the caller lists from the database
        per_term = sorted((self._score_term(t) for t in terms), key=len)
        totals = self._all_terms(per_term, allowed)
        if not totals:
            totals = self._most_terms(per_term, allowed)
        if not totals:
            return [], 0
        phrase = q.replace(" ", "")
        # The phrase bonus (the query as written inside the name) reorders the best candidates.
        pool = heapq.nlargest(max(limit * 3, 30), totals.items(), key=itemgetter(1))
        ranked = sorted(
            ((pk, s + (PHRASE_BONUS if phrase in self.docs[pk].name else 0.0)) for pk, s in pool),
            key=itemgetter(1),
            reverse=True,
        )[:limit]
        return [self._hit(self.docs[pk], score) for pk, score in ranked], len(totals)

    @staticmethod
    def _all_terms(per_term: list[dict[int, float]], allowed: set[int] | None) -> dict[int, float]:
        """Items matching every term, with the sum of the term scores (smallest posting first)."""
        first = per_term[0]
        if len(per_term) == 1 and allowed is None:
            return first
        keys = first.keys() & allowed if allowed is not None else first.keys()
        for other in per_term[1:]:
            keys = keys & other.keys()
        return {pk: sum(scores[pk] for scores in per_term) for pk in keys}

    @staticmethod
    def _most_terms(per_term: list[dict[int, float]], allowed: set[int] | None) -> dict[int, float]:
        """No item matches every term: rank by how many terms match, then by score."""
        totals: dict[int, float] = {}
        for scores in per_term:
            for pk, s in scores.items():
                if allowed is None or pk in allowed:
                    totals[pk] = totals.get(pk, 0.0) + s + COVERAGE_BONUS
        return totals

    @staticmethod
    def _hit(doc: Doc, score: float) -> Hit:
        return Hit(doc.pk, doc.code, doc.name, doc.department_id, doc.department, round(score, 2))


def query_terms(q: str) -> list[str]:
    """Query words: rjieba words for Chinese runs (whole words, not search sub-words), ASCII runs as is."""
    terms: list[str] = []
    for run in _WORD.findall(q):
        if _CJK.match(run):
            terms.extend(w for w in rjieba.cut(run) if w.strip() and _CJK.match(w))
        else:
            terms.append(run)
    return list(dict.fromkeys(terms))[:10]


def _edit_distance_le1(a: str, b: str) -> bool:
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        # one substitution, or two neighbours swapped (yangloa → yanglao)
        return a[i + 1 :] == b[i + 1 :] or (
            i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
        )
    return a[i:] == b[i + 1 :]


# ---------------------------------------------------------------------------------------------
# The per-process index and its freshness
# ---------------------------------------------------------------------------------------------


@dataclass
class _State:
    index: SearchIndex
    watermark: datetime | None
    version: Any
    check_at: float
    reload_at: float


_state: _State | None = None
_lock = threading.Lock()


def doc_from_row(row: dict[str, Any]) -> Doc:
    tokens: dict[str, int] = {}
    for tok in (row["search_text"] or "").split():
        tokens[tok] = TEXT_WEIGHT
    for tok in (row["search_name"] or "").split():
        tokens[tok] = NAME_WEIGHT
    return Doc(
        pk=row["pk"],
        code=row["code"],
        name=row["name"],
        department_id=row["department_id"],
        department=row["department__short_name"] or row["department__name"],
        life_events=frozenset(row["life_events"] or ()),
        channels=frozenset(row["channels"] or ()),
        tokens=tokens,
    )


FIELDS = (
    "pk",
    "code",
    "name",
    "status",
    "department_id",
    "department__name",
    "department__short_name",
    "life_events",
    "channels",
    "search_name",
    "search_text",
    "updated_at",
)


def _load_rows(index: SearchIndex, since: datetime | None) -> datetime | None:
    """Read the catalog into `index`: everything, or the rows changed since the watermark.

    The re-read looks a few seconds behind the watermark (a transaction may commit after a
    later-stamped one was read) but first fetches only (pk, updated_at), so rows it already
    holds unchanged cost nothing more.
    """
    from .choices import ItemStatus
    from .models import ServiceItem

    watermark = since

    def take(row: dict[str, Any]) -> None:
        nonlocal watermark
        index.stamps[row["pk"]] = row["updated_at"]
        if row["status"] == ItemStatus.ACTIVE:
            doc = doc_from_row(row)
            doc.stamp = row["updated_at"]
            index.add(doc)
        else:
            index.remove(row["pk"])
        if watermark is None or row["updated_at"] > watermark:
            watermark = row["updated_at"]

    if since is None:
        for row in ServiceItem.objects.values(*FIELDS).iterator(chunk_size=5000):
            take(row)
        return watermark
    window = ServiceItem.objects.filter(updated_at__gte=since - timedelta(seconds=5))
    changed = [pk for pk, at in window.values_list("pk", "updated_at") if index.stamps.get(pk) != at]
    for i in range(0, len(changed), 1000):
        for row in ServiceItem.objects.filter(pk__in=changed[i : i + 1000]).values(*FIELDS):
            take(row)
    return watermark


def _shared_version() -> Any:
    from django.core.cache import cache

    try:
        return cache.get(VERSION_CACHE_KEY)
    except Exception:  # a cache outage must not stop the search: the periodic reload still holds
        log.warning("search: cannot read the shared cache version", exc_info=True)
        return None


def current_index() -> SearchIndex:
    """This process's index, brought up to date with the catalog (see the module docstring).

    The shared version is (last change, last deletion): a deletion cannot be seen by reading
    changed rows, so a new deletion stamp makes the process rebuild its index.
    """
    global _state
    now = time.monotonic()
    st = _state
    if st is not None and now < st.check_at:
        return st.index
    with _lock:
        st = _state
        now = time.monotonic()
        if st is not None and now < st.check_at:
            return st.index
        version = _shared_version()
        rebuilt = st is None or (
            version != st.version and _deletion_stamp(version) != _deletion_stamp(st.version)
        )
        if st is None or rebuilt:
            index = SearchIndex()
            watermark = _load_rows(index, None)
            _state = _State(index, watermark, version, now + CHECK_SECONDS, now + RELOAD_SECONDS)
            return index
        if version != st.version or now >= st.reload_at:
            st.watermark = _load_rows(st.index, st.watermark)
            st.version, st.reload_at = version, now + RELOAD_SECONDS
        st.check_at = now + CHECK_SECONDS
        return st.index


def _deletion_stamp(version: Any) -> Any:
    return version[1] if isinstance(version, tuple | list) and len(version) == 2 else None


# Items as the submission hot path reads them (queries.item_for_submission), per process: valid
# while the catalog's shared version is unchanged and for RELOAD_SECONDS at most, like the index.
_items: dict[str, tuple[Any, float, Any]] = {}


def cached_item(code: str, load: Any) -> Any:
    """`load()`'s answer for `code`, kept until the catalog changes (see catalog_changed)."""
    version = _shared_version()
    now = time.monotonic()
    hit = _items.get(code)
    if hit is not None and hit[0] == version and now < hit[1]:
        return hit[2]
    value = load()
    _items[code] = (version, now + RELOAD_SECONDS, value)
    return value


FRAGMENT_PREFIX = "dangqun:onestop:fragment:"
FRAGMENT_SECONDS = 3600


def cached_fragment(key: str, stamp: Any, render: Any) -> str:
    """`render()`'s text for `key`, shared by every process through Django's cache (Redis in
    production) while the catalog's shared version and `stamp` are unchanged.

    `stamp` names what the text shows that a catalog write does not bump (the item's own version
    and update time, its department's name). The version is read in the same round trip as the
    text and before `render()` reads anything, so a text rendered from rows older than a change is
    stored under the version before it and never served after it. A cache outage renders anew.
    """
    from django.core.cache import cache

    full_key = FRAGMENT_PREFIX + key
    try:
        found = cache.get_many([VERSION_CACHE_KEY, full_key])
    except Exception:
        log.warning("search: cannot read a cached fragment", exc_info=True)
        return render()
    valid_for = (found.get(VERSION_CACHE_KEY), stamp)
    hit = found.get(full_key)
    if hit is not None and hit[0] == valid_for:
        return hit[1]
    text = render()
    try:
        cache.set(full_key, (valid_for, text), FRAGMENT_SECONDS)
    except Exception:
        log.warning("search: cannot store a cached fragment", exc_info=True)
    return text


def catalog_changed(*, deleted: bool = False) -> None:
    """Call after a catalog write: this process re-reads at once, others after commit via the cache."""
    global _state
    from django.db import transaction

    _items.clear()
    if deleted:
        _state = None
    elif _state is not None:
        _state.check_at = 0.0
        _state.reload_at = 0.0

    def bump() -> None:
        global _state
        from django.core.cache import cache

        _items.clear()
        if deleted:
            _state = None
        elif _state is not None:
            _state.check_at = _state.reload_at = 0.0
        try:
            previous = cache.get(VERSION_CACHE_KEY)
            stamp = time.time_ns()
            cache.set(
                VERSION_CACHE_KEY, (stamp, stamp if deleted else _deletion_stamp(previous)), timeout=None
            )
        except Exception:
            log.warning("search: cannot bump the shared cache version", exc_info=True)

    transaction.on_commit(bump)


def reset() -> None:
    """Forget the index (tests, after rows were written or rolled back)."""
    global _state
    _state = None
    _items.clear()
