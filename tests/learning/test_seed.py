"""The demo seeder: runs after `dangqun seed`, adds nothing the second time, wipes cleanly."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from dangqun.accounts.models import User
from dangqun.core import seeding
from dangqun.learning import recommend
from dangqun.learning.models import (
    ContentItem,
    LearnerProfile,
    Requirement,
    Source,
    StoredRecommendations,
    StudyRecord,
)
from dangqun.learning.seeding import ITEMS

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_wipes(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # The street only (core.seeding), then our seeder, as `dangqun seed` runs it.
    seeding.seed(residents=20, members=60, progress=False)
    call_command("seed_learning", stdout=StringIO())
    counts = (
        ContentItem.objects.count(),
        StudyRecord.objects.count(),
        Requirement.objects.count(),
        Source.objects.count(),
        LearnerProfile.objects.count(),
    )
    assert counts[0] == len(ITEMS)
    assert counts[1] > 0
    assert counts[2] == 2
    assert StoredRecommendations.objects.count() == counts[4]
    call_command("seed_learning", stdout=StringIO())
    assert (
        ContentItem.objects.count(),
        StudyRecord.objects.count(),
        Requirement.objects.count(),
        Source.objects.count(),
        LearnerProfile.objects.count(),
    ) == counts
    # the demo member gets recommendations with reasons, required first
    recommend.reset()
    data = recommend.recommendations(User.objects.get(username="member"), 10)
    assert data["items"][0]["required"]
    assert all(r["reason"] for r in data["items"])
    call_command("seed_learning", "--wipe", stdout=StringIO())
    assert ContentItem.objects.count() == 0
    assert LearnerProfile.objects.count() == 0
