from dangqun.core.models import Notification
from dangqun.core.notifications import notify


def test_notify_sends_once_per_recipient_and_key_and_counts_only_new(secretary, street_admin):
    assert notify([secretary, street_admin], "term-ending:1:2026-12-31", "任期即将届满") == 2
    assert notify([secretary, street_admin], "term-ending:1:2026-12-31", "任期即将届满") == 0
    assert notify([secretary], "term-ending:2:2026-12-31", "任期即将届满") == 1
    assert Notification.objects.filter(recipient=secretary).count() == 2
