"""Index-page caching rules (xv.index.httpcache): CacheController's decisions plus xv's policy."""

from __future__ import annotations

import time
from email.utils import formatdate

from xv.index import httpcache
from xv.index.httpcache import PageRules

URL = "https://index.example/simple/a/"


def _date(offset: float) -> str:
    return formatdate(time.time() + offset, usegmt=True)


def test_max_age_and_expires_decide_freshness() -> None:
    rules = PageRules(default_ttl=600)
    now = time.time()
    assert rules.is_fresh(URL, {"date": _date(-10), "cache-control": "max-age=60"}, now)
    assert not rules.is_fresh(URL, {"date": _date(-100), "cache-control": "max-age=60"}, now)
    assert rules.is_fresh(URL, {"date": _date(-10), "expires": _date(50)}, now)
    assert not rules.is_fresh(URL, {"date": _date(-10), "expires": _date(-5)}, now)


def test_default_ttl_applies_without_explicit_freshness() -> None:
    headers = {"etag": '"v1"'}  # no Date either: dated by the fetch time
    assert PageRules(600).is_fresh(URL, headers, time.time() - 500)
    assert not PageRules(600).is_fresh(URL, headers, time.time() - 700)
    assert not PageRules(0).is_fresh(URL, headers, time.time())


def test_no_cache_is_always_revalidated_and_no_store_never_kept() -> None:
    rules = PageRules(600)
    stored = {"date": _date(0), "cache-control": "no-cache", "etag": '"v1"'}
    assert not rules.is_fresh(URL, stored, time.time())
    assert rules.to_store(URL, 200, {"Cache-Control": "no-cache", "ETag": '"v1"'}) is not None
    assert rules.to_store(URL, 200, {"Cache-Control": "no-store", "ETag": '"v1"'}) is None
    assert rules.to_store(URL, 200, {"Vary": "*"}) is None
    assert rules.to_store(URL, 404, {}) == {}
    assert rules.to_store(URL, 500, {}) is None


def test_conditional_headers_and_304_renewal() -> None:
    rules = PageRules(600)
    stored = {"date": _date(-1000), "etag": '"v1"', "last-modified": _date(-5000)}
    assert rules.conditional_headers(URL, stored) == {
        "If-None-Match": '"v1"',
        "If-Modified-Since": stored["last-modified"],
    }
    renewed = rules.renewed(URL, stored, {"Date": _date(0), "Cache-Control": "max-age=60"})
    assert renewed["etag"] == '"v1"' and renewed["cache-control"] == "max-age=60"
    assert rules.is_fresh(URL, renewed, time.time())
    # A 304 without Date: the entry is dated by the new fetch time.
    assert "date" not in rules.renewed(URL, stored, {"ETag": '"v1"'})


def test_freshness_without_the_controller_matches_the_controller() -> None:
    """is_fresh judges a cached page without importing CacheControl; its answer is the
    controller's on every shape of stored headers."""
    rules = PageRules(default_ttl=300)
    now = time.time()
    cases = [
        {"date": _date(-10), "cache-control": "max-age=60"},
        {"date": _date(-100), "cache-control": "public, max-age=60"},
        {"date": _date(-100), "cache-control": "max-age=x"},  # a bad value: the heuristic
        {"date": _date(-100), "cache-control": "max-age"},
        {"date": _date(-10), "cache-control": "max-age=0"},
        {"date": _date(-10), "cache-control": "s-maxage=9999, must-revalidate"},
        {"date": _date(-10), "expires": _date(50)},
        {"date": _date(-10), "expires": _date(-5)},
        {"date": _date(-10), "expires": "0"},  # unparseable: not fresh
        {"date": _date(-10), "expires": _date(50), "cache-control": "max-age=1"},
        {"date": _date(100), "cache-control": "max-age=1"},  # dated in the future
        {"etag": '"v"'},
        {"last-modified": _date(-9999)},
        {},
    ]
    for headers in cases:
        for fetched in (now, now - 200, now - 400):
            effective = httpcache._with_heuristic(headers, fetched, rules.default_ttl)
            expected = rules.is_fresh_by_controller(URL, effective)
            assert rules.is_fresh(URL, headers, fetched) == expected, (headers, fetched)


def test_validators_without_the_controller_match_the_controller() -> None:
    """conditional_headers asks back a stored page's validators as the controller would,
    without importing CacheControl."""
    rules = PageRules(default_ttl=300)
    cases = [
        {},
        {"etag": '"v"'},
        {"last-modified": _date(-999)},
        {"etag": 'W/"v"', "last-modified": _date(-9), "date": _date(-5)},
        {"date": _date(-5), "cache-control": "max-age=60", "expires": _date(9)},
        httpcache.kept_headers({"ETag": '"x"', "Last-Modified": _date(-1), "Vary": "Accept"}),
    ]
    for stored in cases:
        expected = rules.conditional_headers_by_controller(URL, stored)
        assert rules.conditional_headers(URL, stored) == expected, stored


def test_a_304_renews_as_the_controller_renews() -> None:
    rules = PageRules(default_ttl=300)
    stored_cases = [
        {},
        {"etag": '"v"', "date": _date(-500), "cache-control": "max-age=60"},
        {"last-modified": _date(-999), "expires": _date(-9)},
    ]
    answers = [
        {},
        {"ETag": '"w"', "Date": _date(0)},
        {"Cache-Control": "max-age=600", "Content-Length": "0", "Server": "x"},
        {"date": _date(0), "expires": _date(99), "Last-Modified": _date(-5)},
    ]
    for stored in stored_cases:
        for headers in answers:
            expected = rules.renewed_by_controller(URL, stored, headers)
            if not any(k.lower() == "date" for k in headers):
                expected.pop("date", None)
            assert rules.renewed(URL, stored, headers) == expected, (stored, headers)


def test_storing_without_the_controller_matches_the_controller() -> None:
    """to_store decides without importing CacheControl; its answer is the controller's on
    every shape of response headers (after xv's heuristic freshness)."""
    rules = PageRules(default_ttl=300)
    cases = [
        {},
        {"Date": _date(0)},
        {"Cache-Control": "max-age=600"},
        {"Cache-Control": "max-age=0"},
        {"Cache-Control": "max-age=0", "Expires": _date(60)},
        {"Cache-Control": "no-cache"},
        {"Cache-Control": "no-cache", "Expires": ""},
        {"Cache-Control": "no-store"},
        {"Cache-Control": "no-store", "ETag": '"v"'},
        {"Cache-Control": "private, max-age=5", "Vary": "Accept-Encoding"},
        {"Vary": "*"},
        {"Vary": "Accept, *", "ETag": '"v"'},
        {"ETag": '"v"', "Cache-Control": "max-age=0"},
        {"ETag": '"v"', "Expires": "soon"},
        {"Expires": _date(60)},
        {"Expires": "0"},
        {"Expires": ""},
        {"Last-Modified": _date(-999)},
        {"Date": _date(-50), "Cache-Control": "max-age=x"},
        {"Date": _date(-50), "Cache-Control": "s-maxage=60, must-revalidate"},
    ]
    for headers in cases:
        for status in (200, 203, 300, 301, 308, 404, 410, 206, 500):
            every = {k.lower(): v for k, v in headers.items()}
            effective = httpcache._with_heuristic(every, time.time(), 300)
            expected = rules.storable_by_controller(URL, status, effective)
            assert httpcache._storable(status, effective) in (expected, None), (headers, status)
            found = rules.to_store(URL, status, headers)
            assert (found is not None) == expected, (headers, status)
