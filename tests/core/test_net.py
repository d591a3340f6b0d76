"""The client's address behind a reverse proxy: only the proxies' own X-Forwarded-For entries count."""

import pytest
from django.test import RequestFactory

from dangqun.core.net import client_ip


def _request(forwarded: str | None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", **extra)


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "127.0.0.1"),  # no proxy declared: the header is the client's word
        (1, "203.0.113.9", "203.0.113.9"),  # nginx appended the address it saw
        (1, "10.6.6.6, 203.0.113.9", "203.0.113.9"),  # a forged left entry is ignored
        (2, "10.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),  # CDN + nginx
        (2, "203.0.113.9", "127.0.0.1"),  # fewer entries than proxies: not behind them
        (1, None, "127.0.0.1"),
    ],
)
def test_the_client_address_is_the_one_our_proxies_saw(settings, hops, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = hops
    assert client_ip(_request(forwarded)) == expected


def test_each_forwarded_client_has_its_own_tracking_limit(settings, client, db):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ONESTOP_TRACK_LIMIT = 2
    url = "/api/v1/track/NOPE?code=AAAAAA"
    statuses = [client.get(url, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
    assert client.get(url, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 404
    # a client writing its own header in front of the proxy's entry is still the same client
    assert client.get(url, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1").status_code == 429
