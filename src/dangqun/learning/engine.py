"""The recommender's core: pure (no database, no request), shared by the live API, the daily
batch and the offline evaluation.

Items are embedded once: TF-IDF over their rjieba tokens (scikit-learn), reduced by truncated SVD
to at most `DIMS` dimensions when the library is large (latent semantic analysis: the same
similarities, a dense matrix that a matrix-vector product scores in about a millisecond for
50,000 items), rows L2-normalised. A learner is embedded from their post's words and their study
history (recent first). The score of an unseen item is

    W_POST · cos(item, post) + W_HIST · cos(item, history) + W_POST_TAG · [item meant for the post]
    + W_CO · co-study (learners who finished the learner's items also finished this one)
    + W_BRANCH · studied in the learner's branch + W_FRESH · freshness + W_POP · popularity

and the top is picked greedily under a diversity cap (at most MAX_PER_TOPIC_SHARE of the list on
one topic). Each pick carries the reason of its largest term, in words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

DIMS = 64
W_POST, W_HIST = 0.35, 0.65  # shares of the profile similarity once there is a history
W_POST_TAG = 0.15
W_CO = 0.35
W_BRANCH = 0.1
W_FRESH = 0.05
W_POP = 0.05
FRESH_DAYS = 30.0
MAX_PER_TOPIC_SHARE = 0.3  # 3 of 10
HISTORY_USED = 20  # the most recent items that make the profile
REASON_MIN_COS = 0.1
REASONS = ("post", "history", "costudy", "branch", "fresh", "popular")


@dataclass(frozen=True)
class ItemData:
    id: int
    title: str
    tokens: str  # space-separated tokens (rjieba words, pinyin)
    topic: str
    posts: frozenset[str] = frozenset()
    age_days: float = 0.0
    popularity: int = 0


@dataclass
class MemberState:
    post: str
    post_words: str
    history: Sequence[int] = ()  # item ids, most recent first
    hidden_topics: frozenset[str] = frozenset()
    exclude: frozenset[int] = frozenset()  # e.g. the required items shown above
    neighbors: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # history item -> co-studied
    branch_popular: dict[int, int] = field(default_factory=dict)  # item id -> finishes in the branch


@dataclass(frozen=True)
class Pick:
    item_id: int
    score: float
    reason: str  # "post" | "history" | "costudy" | "branch" | "fresh" | "popular"
    related_id: int | None = None  # the history item a "history"/"costudy" reason names


def _normalize(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return m / norms


class ItemIndex:
    """Item embeddings and the arrays the scorer needs, built once per library version."""

    def __init__(self, items: Sequence[ItemData], *, dims: int = DIMS, version: str = ""):
        self.version = version
        self.ids = np.array([i.id for i in items], dtype=np.int64)
        self.row = {int(pk): r for r, pk in enumerate(self.ids)}
        self.titles = [i.title for i in items]
        topics = sorted({i.topic for i in items})
        self.topic_names = topics
        code = {t: k for k, t in enumerate(topics)}
        self.topics = np.array([code[i.topic] for i in items], dtype=np.int32)
        self.topic_code = code
        self.post_rows: dict[str, np.ndarray] = {}
        for r, i in enumerate(items):
            for p in i.posts:
                self.post_rows.setdefault(p, []).append(r)  # type: ignore[arg-type]
        self.post_rows = {p: np.array(rows, dtype=np.int64) for p, rows in self.post_rows.items()}
        self.item_posts = [i.posts for i in items]
        self.fresh = np.array([math.exp(-i.age_days / FRESH_DAYS) for i in items], dtype=np.float32)
        pop = np.log1p(np.array([i.popularity for i in items], dtype=np.float32))
        self.pop = pop / pop.max() if len(pop) and pop.max() > 0 else pop
        self.vectorizer = TfidfVectorizer(
            tokenizer=str.split, lowercase=False, token_pattern=None, sublinear_tf=True, dtype=np.float32
        )
        self.svd: TruncatedSVD | None = None
        if not items:
            self.emb = np.zeros((0, 1), dtype=np.float32)
            return
        x = self.vectorizer.fit_transform([i.tokens or i.title for i in items])
        if min(x.shape) > 2 * dims:
            self.svd = TruncatedSVD(n_components=dims, random_state=0, algorithm="randomized", n_iter=4)
            emb = self.svd.fit_transform(x)
        else:
            emb = x.toarray()
        self.emb = np.ascontiguousarray(_normalize(emb.astype(np.float32)))
        self._text_cache: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def embed_text(self, text: str) -> np.ndarray:
        """A text (e.g. a post's words) in the item space, cached."""
        vec = self._text_cache.get(text)
        if vec is None:
            x = self.vectorizer.transform([text])
            v = self.svd.transform(x)[0] if self.svd is not None else x.toarray()[0]
            vec = self._text_cache[text] = _normalize(v.astype(np.float32))
        return vec

    def history_vector(self, history: Iterable[int]) -> np.ndarray | None:
        rows = [self.row[h] for h in history if h in self.row][:HISTORY_USED]
        if not rows:
            return None
        weights = np.array([0.9**k for k in range(len(rows))], dtype=np.float32)
        return _normalize(weights @ self.emb[rows])

    # ------------------------------------------------------------------------------------------

    def post_scores(self, post_words: str) -> np.ndarray:
        """cos(item, post) for every item, cached per post (there are a dozen posts)."""
        cache = self.__dict__.setdefault("_post_scores", {})
        scores = cache.get(post_words)
        if scores is None:
            scores = cache[post_words] = self.emb @ self.embed_text(post_words)
        return scores

    def rank(self, m: MemberState, limit: int = 10, *, diversity: float = MAX_PER_TOPIC_SHARE) -> list[Pick]:
        if len(self.ids) == 0 or limit <= 0:
            return []
        hist_vec = self.history_vector(m.history)
        s_hist = self.emb @ hist_vec if hist_vec is not None else None
        return self._rank_scored(m, s_hist, limit, diversity)

    def rank_many(
        self, states: Sequence[MemberState], limit: int = 10, *, diversity: float = MAX_PER_TOPIC_SHARE
    ) -> list[list[Pick]]:
        """The batch: one matrix product per block of members for the history similarities."""
        if len(self.ids) == 0 or limit <= 0:
            return [[] for _ in states]
        out: list[list[Pick]] = []
        block_size = 256  # 256 × 50,000 float32 = 51 MB per block
        for start in range(0, len(states), block_size):
            part = states[start : start + block_size]
            vecs = [self.history_vector(m.history) for m in part]
            with_hist = [k for k, v in enumerate(vecs) if v is not None]
            sims: dict[int, np.ndarray] = {}
            if with_hist:
                block = np.stack([vecs[k] for k in with_hist]) @ self.emb.T
                sims = {k: block[j] for j, k in enumerate(with_hist)}
            out.extend(self._rank_scored(m, sims.get(k), limit, diversity) for k, m in enumerate(part))
        return out

    def _static(self, m: MemberState, with_history: bool) -> tuple[np.ndarray, np.ndarray]:
        """(base score, post part) that depend only on the post: cached, a dozen posts × 2."""
        cache = self.__dict__.setdefault("_static_cache", {})
        key = (m.post, m.post_words, with_history)
        hit = cache.get(key)
        if hit is None:
            s_post = self.post_scores(m.post_words) * (W_POST if with_history else 1.0)
            tag = np.zeros(len(self.ids), dtype=np.float32)
            rows = self.post_rows.get(m.post)
            if rows is not None:
                tag[rows] = W_POST_TAG
            post_part = (s_post + tag).astype(np.float32)
            base = post_part + W_FRESH * self.fresh + W_POP * self.pop
            hit = cache[key] = (base, post_part)
        return hit

    def _boosts(self, m: MemberState) -> tuple[dict[int, float], dict[int, int], dict[int, float]]:
        """Co-study (row -> weight, row -> the history item behind it) and branch popularity."""
        co: dict[int, float] = {}
        co_src: dict[int, int] = {}
        for h in list(m.history)[:HISTORY_USED]:
            for other, w in m.neighbors.get(h, ()):
                r = self.row.get(other)
                if r is not None and w > co.get(r, 0.0):
                    co[r], co_src[r] = w, h
        if co:
            top = max(co.values())
            co = {r: W_CO * w / top for r, w in co.items()}
        br: dict[int, float] = {}
        if m.branch_popular:
            top = max(m.branch_popular.values())
            for pk, c in m.branch_popular.items():
                r = self.row.get(pk)
                if r is not None:
                    br[r] = W_BRANCH * c / top
        return co, co_src, br

    def _rank_scored(
        self, m: MemberState, s_hist_raw: np.ndarray | None, limit: int, diversity: float
    ) -> list[Pick]:
        n = len(self.ids)
        base, post_part = self._static(m, s_hist_raw is not None)
        score = base + W_HIST * s_hist_raw if s_hist_raw is not None else base.copy()
        co, co_src, br = self._boosts(m)
        for boost in (co, br):
            if boost:
                rows = np.fromiter(boost.keys(), dtype=np.int64, count=len(boost))
                score[rows] += np.fromiter(boost.values(), dtype=np.float32, count=len(boost))
        blocked = [self.row[h] for h in (*m.history, *m.exclude) if h in self.row]
        if blocked:
            score[blocked] = -np.inf
        for t in m.hidden_topics:
            k = self.topic_code.get(t)
            if k is not None:
                score[self.topic_rows(k)] = -np.inf
        pool = min(n, limit * 8)
        cand = self._top(score, pool)
        cand = cand[np.argsort(-score[cand], kind="stable")]
        cand_scores = score[cand].tolist()
        cand_topics = self.topics[cand].tolist()
        cap = max(1, math.ceil(limit * diversity)) if diversity else limit
        per_topic: dict[int, int] = {}
        chosen: list[int] = []
        leftovers: list[int] = []
        for r, sc, t in zip(cand.tolist(), cand_scores, cand_topics, strict=True):
            if sc == -math.inf:
                break
            if per_topic.get(t, 0) >= cap:
                leftovers.append(r)
                continue
            per_topic[t] = per_topic.get(t, 0) + 1
            chosen.append(r)
            if len(chosen) == limit:
                break
        # A small library or many hidden topics: fill up rather than show fewer items.
        chosen += leftovers[: limit - len(chosen)]
        return self._picks(chosen, score, post_part, s_hist_raw, co, co_src, br, m)

    def _top(self, score: np.ndarray, pool: int) -> np.ndarray:
        """Rows of the `pool` highest scores, unordered. A threshold from a fixed random sample
        (1 in 16) keeps the full partition off the hot path (a compare over the array instead);
        when the sample misjudges, the exact argpartition decides."""
        n = len(score)
        if pool >= n:
            return np.arange(n)
        step = 16
        if n >= pool * step * 2:
            rows = self.__dict__.get("_sample_rows")
            if rows is None:
                rng = np.random.default_rng(0)
                rows = self.__dict__["_sample_rows"] = np.sort(rng.choice(n, n // step, replace=False))
            sample = score[rows]
            k = min(len(sample), pool // step + 8)
            thr = np.partition(sample, len(sample) - k)[len(sample) - k]
            if np.isfinite(thr):
                cand = np.flatnonzero(score >= thr)
                if pool <= len(cand) <= pool * 8:
                    return cand[np.argpartition(score[cand], len(cand) - pool)[len(cand) - pool :]]
        return np.argpartition(score, n - pool)[n - pool :]

    def _picks(self, chosen, score, post_part, s_hist_raw, co, co_src, br, m) -> list[Pick]:
        """Each pick with the reason of its largest term (computed for all picks at once)."""
        if not chosen:
            return []
        rows = np.array(chosen, dtype=np.int64)
        tag_half = np.array([W_POST_TAG * 0.5 if m.post in self.item_posts[r] else 0.0 for r in chosen])
        # A reason is named only when it holds: a post or history similarity below REASON_MIN_COS
        # says nothing (the item then gets "new" or "popular" rather than a false "related to …").
        post_cos = self.post_scores(m.post_words)[rows]
        post_term = np.where(
            (post_cos >= REASON_MIN_COS) | (tag_half > 0), post_part[rows] * 0.5 + tag_half, 0.0
        )
        if s_hist_raw is not None:
            hist_cos = s_hist_raw[rows]
            hist_term = np.where(hist_cos >= REASON_MIN_COS, W_HIST * hist_cos * 0.6, 0.0)
        else:
            hist_term = np.zeros(len(rows))
        parts = np.stack(
            [
                post_term,
                hist_term,
                np.array([co.get(r, 0.0) for r in chosen]),
                np.array([br.get(r, 0.0) for r in chosen]),
                W_FRESH * self.fresh[rows],
                W_POP * self.pop[rows],
            ]
        )
        best = np.argmax(parts, axis=0).tolist()
        hist_rows = [self.row[h] for h in list(m.history)[:HISTORY_USED] if h in self.row]
        related_hist: list[int] = []
        if hist_rows and 1 in best:
            sims = self.emb[rows] @ self.emb[hist_rows].T
            related_hist = [int(self.ids[hist_rows[j]]) for j in np.argmax(sims, axis=1).tolist()]
        ids = self.ids[rows].tolist()
        scores = np.round(score[rows].astype(np.float64), 4).tolist()
        out = []
        for k, r in enumerate(chosen):
            reason = REASONS[best[k]]
            related = (
                co_src.get(r) if reason == "costudy" else related_hist[k] if reason == "history" else None
            )
            out.append(Pick(ids[k], scores[k], reason, related))
        return out

    def topic_rows(self, k: int) -> np.ndarray:
        cache = self.__dict__.setdefault("_topic_rows", {})
        if k not in cache:
            cache[k] = np.flatnonzero(self.topics == k)
        return cache[k]


def co_study_neighbors(
    histories: Iterable[Sequence[int]], *, top: int = 20, min_count: int = 2
) -> dict[int, list[tuple[int, float]]]:
    """Item-to-item co-study: for each item, the items most often finished by the same learners,
    weighted by cosine (count / sqrt(n_a · n_b)) so that popular items do not dominate."""
    from scipy import sparse

    rows, cols, item_ids = [], [], {}
    for u, hist in enumerate(histories):
        for pk in set(hist):
            cols.append(item_ids.setdefault(pk, len(item_ids)))
            rows.append(u)
    if not cols:
        return {}
    ids = np.array(list(item_ids), dtype=np.int64)
    u = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(max(rows) + 1, len(ids))
    )
    co = (u.T @ u).tocsr()
    counts = np.asarray(u.sum(axis=0)).ravel()
    co.setdiag(0)
    co.eliminate_zeros()
    out: dict[int, list[tuple[int, float]]] = {}
    for a in range(co.shape[0]):
        start, end = co.indptr[a], co.indptr[a + 1]
        if start == end:
            continue
        js, vals = co.indices[start:end], co.data[start:end]
        keep = vals >= min_count
        js, vals = js[keep], vals[keep]
        if not len(js):
            continue
        w = vals / np.sqrt(counts[a] * counts[js])
        order = np.argsort(-w)[:top]
        out[int(ids[a])] = [(int(ids[js[k]]), round(float(w[k]), 4)) for k in order]
    return out


def popularity_rank(popularity: dict[int, int], seen: Iterable[int], limit: int) -> list[int]:
    """The baseline: the most-studied items the learner has not studied."""
    seen = set(seen)
    out = []
    for pk, _c in sorted(popularity.items(), key=lambda kv: (-kv[1], kv[0])):
        if pk not in seen:
            out.append(pk)
            if len(out) == limit:
                break
    return out
