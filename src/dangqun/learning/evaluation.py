"""Offline evaluation of the recommender against a popularity baseline (`dangqun learning evaluate`).

The generator (seeded, so every run with the same seed gives the same numbers):

* Items: `n_items` over the 12 topics (round robin). Each item's text is 12 tokens: 8 drawn from
  its topic's vocabulary of 40 words and 4 from a shared vocabulary of 200 general words; an item
  is meant for 1–2 posts, drawn from the posts related to its topic. Each item has an appeal
  drawn from a Zipf-like law (some items are liked by everyone), and an age of 0–365 days.
* Members: `n_members`, each with a post; their hidden topic preference is a Dirichlet(0.3) draw
  over the topics, boosted ×3 on the topics of their post. The recommender never sees it.
* Records: each member studies 8–40 items, drawn without replacement with probability
  ∝ preference(topic) × appeal, in a random order that stands for time.
* Split: each member's last 20% of records (at least one) are held out; the rest is training.
  The popularity baseline ranks items by training finishes; the recommender sees the training
  histories (its co-study neighbours are built from them) and each member's post.

Metrics at k = 10, averaged over members: Recall@k = |top-k ∩ held-out| / |held-out|;
NDCG@k with binary relevance; coverage = share of the items that appear in anybody's top-k.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from .choices import POST_WORDS, Post, Topic
from .engine import ItemData, ItemIndex, MemberState, co_study_neighbors, popularity_rank

# Which posts each topic is meant for (the generator's ground truth, also the items' post tags).
TOPIC_POSTS: dict[str, list[str]] = {
    Topic.THEORY: [Post.STUDENT, Post.CIVIL_SERVANT, Post.OTHER],
    Topic.CONSTITUTION: [Post.CIVIL_SERVANT, Post.OTHER, Post.STUDENT],
    Topic.HISTORY: [Post.RETIRED, Post.STUDENT, Post.TEACHER],
    Topic.POLICY: [Post.CIVIL_SERVANT, Post.ENTERPRISE, Post.FARMER],
    Topic.RURAL: [Post.VILLAGE_CADRE, Post.FARMER],
    Topic.GOVERNANCE: [Post.COMMUNITY_WORKER, Post.VILLAGE_CADRE],
    Topic.HEALTH: [Post.MEDICAL, Post.RETIRED],
    Topic.EDUCATION: [Post.TEACHER, Post.STUDENT],
    Topic.ENTERPRISE: [Post.ENTERPRISE],
    Topic.LAW: [Post.CIVIL_SERVANT, Post.COMMUNITY_WORKER],
    Topic.INTEGRITY: [Post.CIVIL_SERVANT, Post.VILLAGE_CADRE],
    Topic.SERVICE: [Post.COMMUNITY_WORKER, Post.MEDICAL],
}


@dataclass
class Metrics:
    recall: float
    ndcg: float
    coverage: float

    def row(self, name: str) -> str:
        return (
            f"{name:<14} Recall@10 {self.recall:.4f}   NDCG@10 {self.ndcg:.4f}   coverage {self.coverage:.4f}"
        )


@dataclass
class Dataset:
    items: list[ItemData]
    members: list[tuple[str, list[int], list[int]]]  # (post, training history recent-first, held out)
    popularity: dict[int, int]


def generate(n_items: int = 2000, n_members: int = 2000, seed: int = 2026) -> Dataset:
    rng = random.Random(seed)  # noqa: S311 — a seeded, reproducible data set, not secrets
    nrng = np.random.default_rng(seed)
    topics = list(Topic.values)
    vocab = {t: [f"{t}词{k}" for k in range(40)] for t in topics}
    common = [f"通用词{k}" for k in range(200)]
    post_topics: dict[str, list[str]] = {}
    for t, posts in TOPIC_POSTS.items():
        for p in posts:
            post_topics.setdefault(p, []).append(t)
    items: list[ItemData] = []
    appeal = np.empty(n_items)
    for i in range(n_items):
        t = topics[i % len(topics)]
        words = rng.sample(vocab[t], 8) + rng.sample(common, 4)
        posts = frozenset(rng.sample(TOPIC_POSTS[t], min(len(TOPIC_POSTS[t]), rng.randint(1, 2))))
        items.append(ItemData(i + 1, f"{t}-{i + 1}", " ".join(words), t, posts, rng.uniform(0, 365)))
        appeal[i] = 1.0 / (1 + rng.random() * 20) ** 1.2
    item_topic = np.array([topics.index(it.topic) for it in items])
    posts = [p for p in Post.values if p in post_topics]
    raw: list[tuple[str, list[int]]] = []
    for _ in range(n_members):
        post = rng.choice(posts)
        pref = nrng.dirichlet([0.3] * len(topics))
        for t in post_topics[post]:
            pref[topics.index(t)] *= 3
        pref /= pref.sum()
        w = pref[item_topic] * appeal
        w /= w.sum()
        k = rng.randint(8, 40)
        chosen = nrng.choice(n_items, size=k, replace=False, p=w)
        raw.append((post, [int(c) + 1 for c in chosen]))
    members, popularity = [], {}
    for post, seq in raw:
        cut = max(1, round(len(seq) * 0.2))
        train, held = seq[:-cut], seq[-cut:]
        for pk in train:
            popularity[pk] = popularity.get(pk, 0) + 1
        members.append((post, list(reversed(train)), held))
    items = [
        ItemData(it.id, it.title, it.tokens, it.topic, it.posts, it.age_days, popularity.get(it.id, 0))
        for it in items
    ]
    return Dataset(items, members, popularity)


def _score(ranked: list[list[int]], truth: list[list[int]], n_items: int, k: int = 10) -> Metrics:
    recall = ndcg = 0.0
    seen: set[int] = set()
    for recs, held in zip(ranked, truth, strict=True):
        rel = set(held)
        recs = recs[:k]
        seen.update(recs)
        hits = [1 if r in rel else 0 for r in recs]
        recall += sum(hits) / len(rel)
        dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
        ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(rel))))
        ndcg += dcg / ideal
    n = len(ranked) or 1
    return Metrics(recall / n, ndcg / n, len(seen) / max(n_items, 1))


def evaluate(n_items: int = 2000, n_members: int = 2000, seed: int = 2026) -> dict[str, Metrics]:
    data = generate(n_items, n_members, seed)
    index = ItemIndex(data.items)
    neighbors = co_study_neighbors([hist for _post, hist, _held in data.members])
    rec_lists, pop_lists, truth = [], [], []
    for post, hist, held in data.members:
        state = MemberState(post=post, post_words=POST_WORDS[post], history=hist, neighbors=neighbors)
        rec_lists.append([p.item_id for p in index.rank(state, 10)])
        pop_lists.append(popularity_rank(data.popularity, hist, 10))
        truth.append(held)
    return {
        "recommender": _score(rec_lists, truth, len(data.items)),
        "popularity": _score(pop_lists, truth, len(data.items)),
    }
