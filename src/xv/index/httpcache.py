"""HTTP caching rules for index pages, decided by CacheControl's ``CacheController``.

xv keeps the *parsed* page in its msgpack bucket, so a warm run never re-parses a page;
beside it it keeps the response headers that HTTP caching reads (``Date``,
``Cache-Control``, ``Expires``, ``ETag``, ``Last-Modified``). Every decision about those
headers is the controller's (RFC 9111 as CacheControl implements it): whether a response
may be stored (``no-store``, ``Vary: *``, status), whether a stored one is still fresh
(``max-age``, else ``Expires`` against ``Date``), the conditional request headers
(``If-None-Match``, ``If-Modified-Since``) and how a 304 updates the stored headers. The
controller works on a throwaway one-entry cache that holds only those headers.

xv's own policy on top, where CacheController has none or differs:

* **Heuristic freshness**: a response with neither ``max-age`` nor ``Expires`` is fresh for
  ``default_ttl`` seconds (600 by default), applied at lookup time so the setting in force
  decides. (CacheControl leaves such responses uncached unless they carry an ``ETag``.)
* A stored response with ``no-cache`` is always revalidated (RFC 9111 §5.2.2.4); the
  controller only looks at ``no-cache`` in the request.
* 404/410 are stored like pages, so a warm run against several indexes makes no request.
* A response without ``Date`` is dated by its fetch time, and a 304 without ``Date``
  renews it to now (the controller would keep the old date and revalidate every time).

**Imports.** CacheControl pulls in requests and urllib3 (~100 ms). A warm run answers
every page from the cache, so the freshness test (:meth:`PageRules.is_fresh`) is done
here without them, by the same arithmetic as ``CacheController.cached_request`` (the
tests compare the two); the controller is imported only for what follows a request.
"""

from __future__ import annotations

import calendar
import io
import time
from collections.abc import Mapping

# email.utils's parsedate_tz, from the module that defines it: email.utils itself loads socket,
# random and email.charset (~9 ms), which a warm run has no other use for.
from email._parseaddr import parsedate_tz
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import msgpack

if TYPE_CHECKING:
    from cachecontrol.cache import DictCache
    from cachecontrol.controller import CacheController
    from requests import PreparedRequest
    from urllib3 import HTTPResponse

KEPT_HEADERS = ("date", "cache-control", "expires", "etag", "last-modified")
_STATUSES = (200, 203, 300, 301, 308, 404, 410)


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The caching headers of a response, lower-cased names.

    >>> kept_headers({"ETag": '"x"', "Content-Type": "text/html"})
    {'etag': '"x"'}
    """
    return {k.lower(): v for k, v in headers.items() if k.lower() in KEPT_HEADERS}


# CacheController.parse_cache_control's table: (value type, value required).
_DIRECTIVES: dict[str, tuple[type[int] | None, bool]] = {
    "max-age": (int, True), "max-stale": (int, False), "min-fresh": (int, True),
    "no-cache": (None, False), "no-store": (None, False), "no-transform": (None, False),
    "only-if-cached": (None, False), "must-revalidate": (None, False), "public": (None, False),
    "private": (None, False), "proxy-revalidate": (None, False), "s-maxage": (int, True),
}  # fmt: skip


def parse_cache_control(headers: Mapping[str, str]) -> dict[str, int | None]:
    """``Cache-Control`` directives exactly as ``CacheController.parse_cache_control``
    reads them (unknown ones and bad values dropped); hand-written only so that a cached
    page is judged without importing CacheControl and the HTTP stack.

    >>> parse_cache_control({"cache-control": "max-age=60, no-cache, max-age=x, foo"})
    {'max-age': 60, 'no-cache': None}
    """
    found: dict[str, int | None] = {}
    for directive in headers.get("cache-control", headers.get("Cache-Control", "")).split(","):
        if not directive.strip():
            continue
        parts = directive.split("=", 1)
        name = parts[0].strip()
        if name not in _DIRECTIVES:
            continue
        typ, required = _DIRECTIVES[name]
        if not typ or not required:
            found[name] = None
        if typ:
            try:
                found[name] = typ(parts[1].strip())
            except (IndexError, ValueError):
                pass
    return found


@lru_cache(maxsize=1)
def _headers_only() -> Any:
    """The controller's serializer (made on first use: it imports CacheControl)."""
    from cachecontrol.serialize import Serializer

    class HeadersOnly(Serializer):
        """The controller's cache entry: status and caching headers, never a body."""

        def dumps(
            self, request: PreparedRequest, response: HTTPResponse, body: bytes | None = None
        ) -> bytes:
            packed: bytes = msgpack.packb([response.status, kept_headers(response.headers)])
            return packed

        def loads(
            self, request: PreparedRequest, data: bytes, body_file: object = None
        ) -> HTTPResponse | None:
            status, headers = msgpack.unpackb(data)
            return _response(status, headers)

    return HeadersOnly()


def _response(status: int, headers: Mapping[str, str]) -> HTTPResponse:
    from urllib3 import HTTPResponse

    return HTTPResponse(
        body=io.BytesIO(b""), headers=dict(headers), status=status, preload_content=False
    )


def _with_heuristic(headers: Mapping[str, str], fetched: float, ttl: int) -> dict[str, str]:
    """``headers`` dated (fetch time) and, without explicit freshness, fresh for ``ttl`` s."""
    effective = dict(headers)
    if "date" not in effective:  # a stored page has its Date: formatdate loads only for a fetch
        from email.utils import formatdate

        effective["date"] = formatdate(fetched, usegmt=True)
    directives = parse_cache_control(effective)
    if not {"max-age", "no-cache"} & directives.keys() and "expires" not in effective:
        extra = f"max-age={max(0, ttl)}"
        old = effective.get("cache-control")
        effective["cache-control"] = f"{old}, {extra}" if old else extra
    return effective


def _storable(status: int, headers: Mapping[str, str]) -> bool | None:
    """Whether ``CacheController.cache_response`` stores a response with these (lower-cased)
    headers and no request directives, decided as it decides, so that storing a fetched page
    does not import CacheControl and the HTTP stack (the tests compare the two); None for
    the shapes left to the controller (a ``Date`` it cannot read, a permanent redirect)."""
    if status not in _STATUSES:
        return False
    if "date" in headers and parsedate_tz(headers["date"]) is None:
        return None  # the controller fails an assertion on it: its answer, whatever it is
    directives = parse_cache_control(headers)
    if "no-store" in directives or "*" in headers.get("vary", ""):
        return False
    if "etag" in headers:
        return True
    if status in (301, 308):
        return None
    if "date" not in headers:
        return False
    max_age = directives.get("max-age")
    if max_age is not None and max_age > 0:
        return True
    return bool(headers.get("expires"))


def _lifetime(effective: Mapping[str, str], directives: Mapping[str, int | None], date: int) -> int:
    """A stored page's freshness lifetime in seconds: ``max-age``, else ``Expires - Date``."""
    max_age = directives.get("max-age")
    if max_age is not None:
        return max_age
    if "expires" in effective:
        expires = parsedate_tz(effective["expires"])
        if expires is not None:
            return max(0, calendar.timegm(expires[:6]) - date)
    return 0


class PageRules:
    """Freshness, storing and revalidation of index pages; one per client."""

    def __init__(self, default_ttl: int) -> None:
        self.default_ttl = default_ttl

    def _controller(
        self, url: str, stored: Mapping[str, str] | None, status: int = 200
    ) -> tuple[CacheController, DictCache, PreparedRequest]:
        from cachecontrol.cache import DictCache
        from cachecontrol.controller import CacheController
        from requests import PreparedRequest
        from requests.structures import CaseInsensitiveDict

        cache = DictCache()
        controller = CacheController(cache, serializer=_headers_only(), status_codes=_STATUSES)
        request = PreparedRequest()
        request.url, request.headers = url, CaseInsensitiveDict()
        if stored is not None:
            cache.set(controller.cache_url(url), msgpack.packb([status, dict(stored)]))
        return controller, cache, request

    def is_fresh(self, url: str, stored: Mapping[str, str], fetched: float) -> bool:
        """May the stored page be used without asking the index?

        ``CacheController.cached_request``'s test for a stored 200 and a request without
        directives: age from ``Date``, lifetime from ``max-age``, else ``Expires - Date``.
        """
        effective = _with_heuristic(stored, fetched, self.default_ttl)
        directives = parse_cache_control(effective)
        if "no-cache" in directives:
            return False
        dated = parsedate_tz(effective["date"])
        if dated is None:  # a malformed Date: whatever the controller makes of it
            return self.is_fresh_by_controller(url, effective)
        date = calendar.timegm(dated[:6])
        age = max(0.0, time.time() - date)
        return _lifetime(effective, directives, date) > age

    def fresh_until(self, stored: Mapping[str, str], fetched: float) -> float | None:
        """The moment :meth:`is_fresh` starts answering False for this stored page (it is
        fresh while ``now < date + lifetime``), for the fast path's record of a compile run
        (:mod:`xv.fast`); None when it is never fresh or the controller would decide."""
        effective = _with_heuristic(stored, fetched, self.default_ttl)
        directives = parse_cache_control(effective)
        dated = parsedate_tz(effective["date"])
        if "no-cache" in directives or dated is None:
            return None
        date = calendar.timegm(dated[:6])
        lifetime = _lifetime(effective, directives, date)
        return float(date + lifetime) if lifetime > 0 else None

    def is_fresh_by_controller(self, url: str, effective: Mapping[str, str]) -> bool:
        """The controller's own answer for headers already through :func:`_with_heuristic`."""
        controller, cache, request = self._controller(url, None)
        cache.set(controller.cache_url(url), msgpack.packb([200, dict(effective)]))
        return controller.cached_request(request) is not False

    def conditional_headers(self, url: str, stored: Mapping[str, str]) -> dict[str, str]:
        """``CacheController.conditional_headers`` for a stored page, without importing
        CacheControl and requests (~0.14 s at the first stale page of a run): its
        validators, asked back as ``If-None-Match`` and ``If-Modified-Since``. Stored names
        are lower case (:func:`kept_headers`)."""
        asked = {}
        if "etag" in stored:
            asked["If-None-Match"] = stored["etag"]
        if "last-modified" in stored:
            asked["If-Modified-Since"] = stored["last-modified"]
        return asked

    def conditional_headers_by_controller(
        self, url: str, stored: Mapping[str, str]
    ) -> dict[str, str]:
        """The controller's own answer (the reference in the tests)."""
        controller, _, request = self._controller(url, stored)
        return controller.conditional_headers(request)

    def to_store(self, url: str, status: int, headers: Mapping[str, str]) -> dict[str, str] | None:
        """The headers to keep with a fresh response, or None when it must not be kept."""
        kept = kept_headers(headers)
        # Kept even when default_ttl is 0 (for --offline and revalidation): at least 1 s here.
        ttl = max(1, self.default_ttl)
        every = {k.lower(): v for k, v in headers.items()}  # Vary etc. count for the decision
        effective = _with_heuristic(every, time.time(), ttl)
        storable = _storable(status, effective)
        if storable is None:
            storable = self.storable_by_controller(url, status, effective)
        return kept if storable else None

    def storable_by_controller(self, url: str, status: int, effective: Mapping[str, str]) -> bool:
        """``CacheController.cache_response``'s own answer for headers already through
        :func:`_with_heuristic`."""
        controller, cache, request = self._controller(url, None)
        controller.cache_response(request, _response(status, effective), status_codes=_STATUSES)
        return cache.get(controller.cache_url(url)) is not None

    def renewed(
        self, url: str, stored: Mapping[str, str], headers: Mapping[str, str]
    ) -> dict[str, str]:
        """The stored headers updated by a 304's headers, as
        ``CacheController.update_cached_response`` updates them (without importing it)."""
        merged = {k.lower(): v for k, v in stored.items()}
        merged.update(kept_headers(headers))
        renewed = kept_headers(merged)
        if not any(k.lower() == "date" for k in headers):
            renewed.pop("date", None)  # dated by the new fetch time instead
        return renewed

    def renewed_by_controller(
        self, url: str, stored: Mapping[str, str], headers: Mapping[str, str]
    ) -> dict[str, str]:
        """The controller's update of ``stored`` by a 304 (the reference in the tests), before
        :meth:`renewed`'s own rule for ``Date``."""
        controller, _, request = self._controller(url, stored)
        merged = controller.update_cached_response(request, _response(304, kept_headers(headers)))
        return kept_headers(merged.headers)
