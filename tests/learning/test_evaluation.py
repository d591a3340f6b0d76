"""The offline evaluation: the recommender beats the popularity baseline on NDCG@10, reproducibly."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from dangqun.learning.evaluation import evaluate, generate


def test_the_recommender_beats_popularity_clearly():
    result = evaluate(n_items=300, n_members=300, seed=7)
    rec, pop = result["recommender"], result["popularity"]
    assert rec.ndcg > 1.5 * pop.ndcg
    assert rec.recall > pop.recall
    assert rec.coverage > pop.coverage


def test_the_generator_is_seeded():
    a, b = generate(50, 40, seed=3), generate(50, 40, seed=3)
    assert [m[1] for m in a.members] == [m[1] for m in b.members]
    assert generate(50, 40, seed=4).members != a.members


@pytest.mark.django_db
def test_the_command_prints_both_rows():
    out = StringIO()
    call_command("learning", "evaluate", "--items", "200", "--members", "200", stdout=out)
    text = out.getvalue()
    assert "recommender" in text
    assert "popularity" in text
    assert "NDCG@10" in text
