"""The index client: project pages from indexes and find-links, and file downloads.

**Indexes.** ``extra_index_urls`` come before ``index_url``, as in uv (an extra
index has priority over the default one). With ``index_strategy="first-index"``
(the default) the first index that has a project provides all of its files;
``unsafe-best-match`` and ``unsafe-first-match`` merge every index's files
(same filename: the higher-priority index wins; choosing among versions is the
provider's business). Files found through ``find_links`` (directories, or HTML
pages over http) are always added. ``no_index`` drops the indexes.

**Page cache.** The *parsed* page is stored in the ``simple-v2`` bucket together
with its fetch time and the response's caching headers; :mod:`xv.index.httpcache`
(CacheControl's ``CacheController``) decides from those headers whether a page may be
stored, whether it is fresh (``max-age``, ``Expires``; ``default_ttl`` when the server
gives no freshness) and how to revalidate it. A fresh entry is returned without any
request and without parsing; a stale one is revalidated with a conditional request (a
304 only renews it). ``refresh`` revalidates every page once per client; ``offline``
answers from the cache alone (stale is fine) and raises
:class:`~xv.errors.OfflineError` for what it lacks. "Not found" (404/410) is cached the
same way, so a warm run against two indexes makes no request.

**Why not CacheControl's adapter.** It would cache raw response bodies, so a warm
lookup would re-parse a multi-megabyte page, and it cannot express ``offline`` or
``refresh`` as defined here; so only its controller is used, and the session is a plain
``requests`` session (see :mod:`xv.index.http`). Everything else we fetch is immutable
and cached parsed by :mod:`xv.index.metadata` or by the installer.

No client is pickled: pool workers call :func:`client_for` with the
settings and the :class:`~xv.cache.Cache` and get a per-process client.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from xv import atomic, envelope
from xv.cache import Cache, CacheBucket
from xv.digests import sha256_for
from xv.errors import HashMismatchError, NetworkError, OfflineError
from xv.fast import trace
from xv.index import filenames, pageform, pageworker, simple
from xv.index.httpcache import PageRules
from xv.index.settings import DEFAULT_INDEX_URL, IndexSettings
from xv.index.simple import DistFile, ProjectPage
from xv.names import canonicalize_name
from xv.records import record
from xv.urls import redact as redact_url
from xv.urls import split_credentials, url2pathname

if TYPE_CHECKING:
    import requests
    from packaging.version import Version

    from xv.index.http import AnyResponse, Http

log = logging.getLogger(__name__)

PAGE_BUCKET = CacheBucket.SIMPLE
_PAGE_THREADS = 16


class _NeedsNetwork(Exception):
    """Raised by a cache-only lookup that would need a request."""


class IndexClient:
    """Project pages and downloads for one set of :class:`IndexSettings`; thread-safe."""

    def __init__(self, settings: IndexSettings, cache: Cache) -> None:
        self.settings = settings
        self.cache = cache
        self._http: Http | None = None  # made by the first request (see http)
        self._pages = cache.bucket(PAGE_BUCKET)
        self._memo: dict[str, ProjectPage | None] = {}
        self._revalidated: set[str] = set()
        # Pages a cache-only look (cached_project_page) found absent: the request that
        # follows skips looking again (one look fewer per page of a cold compile, each a
        # system call that gives up the interpreter lock). Taken once.
        self._absent: set[str] = set()
        self._rules = PageRules(settings.default_ttl)
        self._find_links: list[DistFile] | None = None
        self._lock = threading.Lock()
        self._http_lock = threading.Lock()  # not _lock: find-links fetch pages while holding it
        # Set by the caller to take cache writes off the path of the request that made
        # them (e.g. onto idle fetch threads); None: write at once.
        self.defer: Callable[[Callable[[], object]], None] | None = None
        # Whether the resolver waits for this project's page now: its page goes to the page
        # workers first (xv.index.pageworker). Set by the resolver's source.
        self.urgent: Callable[[str], bool] | None = None

    def later(self, write: Callable[[], object]) -> None:
        """Run a cache write now, or hand it to :attr:`defer`."""
        write = trace.owed(write)  # a run that exits before it is done is not recorded
        if self.defer is None:
            write()
        else:
            self.defer(write)

    @property
    def http(self) -> Http:
        """The HTTP layer, made (and the HTTP stack imported) on first use: a warm run
        answered from the cache sends no request and never needs it."""
        if self._http is None:
            with self._http_lock:
                if self._http is None:
                    from xv.allocator import fix_mmap_threshold
                    from xv.index.http import Http

                    fix_mmap_threshold()  # before the first body: see xv.allocator

                    self._http = Http(self.settings.http_config())
        return self._http

    @property
    def session(self) -> requests.Session:
        return self.http.session

    def get(self, url: str, headers: dict[str, str] | None = None) -> AnyResponse:
        """GET with auth and retries (any status below 500 is returned)."""
        return self.http.get(url, headers)

    # -- project pages ---------------------------------------------------------

    def project_page(
        self, name: str, *, remember: bool = True, version: Version | None = None
    ) -> ProjectPage | None:
        """All files of ``name`` (None: no index and no find-links location has it).

        ``remember=False`` for a page read once (a sync picks one file from each): it is
        not kept in memory, where hundreds of pages of thousands of files add up.

        ``version``: only that version's files are wanted (a hashed pin's, whose later
        syncs take its tree by hash, never by page). A page the cache holds fresh is read
        as usual; a page fetched is read for that version alone and not cached (see
        :func:`~xv.index.pageform.plain_from_body`'s ``only``), nor remembered. With
        ``--refresh`` or offline the whole page is read.
        """
        key = canonicalize_name(name)
        if key in self._memo:
            return self._memo[key]
        only = None
        if version is not None and not self.settings.refresh and not self.settings.offline:
            only = pageform.version_key(str(version)) or None
        page = self._lookup(key, network=True, only=only)
        if remember and only is None:
            self._memo[key] = page
        return page

    def cached_project_page(self, name: str) -> tuple[bool, ProjectPage | None]:
        """``(True, page)`` when the cache answers for ``name`` without a request
        (``page`` None: known not to exist), else ``(False, None)``."""
        key = canonicalize_name(name)
        if key not in self._memo:
            try:
                self._memo[key] = self._lookup(key, network=False)
            except (_NeedsNetwork, OfflineError):  # the error is for project_page to raise
                return False, None
        return True, self._memo[key]

    def project_pages(self, names: Iterable[str]) -> dict[str, ProjectPage | None]:
        """Pages of many projects; the cache answers first, misses are fetched in parallel."""
        wanted = {name: canonicalize_name(name) for name in names}
        misses: list[str] = []
        for key in dict.fromkeys(wanted.values()):
            if key in self._memo:
                continue
            try:
                self._memo[key] = self._lookup(key, network=False)
            except _NeedsNetwork:
                misses.append(key)
        if len(misses) == 1:
            self.project_page(misses[0])
        elif misses:
            # Here, not at the top: xv.pool brings concurrent.futures (~0.9 MB resident,
            # 15 modules), which a compile, whose fetches run on its own threads, never uses.
            from xv.pool import thread_map

            thread_map(self.project_page, misses, _PAGE_THREADS)
        return {name: self._memo[key] for name, key in wanted.items()}

    def _lookup(self, name: str, *, network: bool, only: str | None = None) -> ProjectPage | None:
        pages: list[ProjectPage] = []
        for index in self.settings.indexes:
            page = self._index_page(index, name, network, only)
            if page is not None:
                pages.append(page)
                if self.settings.index_strategy == "first-index":
                    break
        found = [f for f in self._find_links_files(network) if _is_file_of(f, name)]
        if found:
            location = pages[0].index_url if pages else "find-links"
            pages.append(ProjectPage(name=name, files=tuple(found), index_url=location))
        return _merge(name, pages)

    def _index_page(
        self, index: str, name: str, network: bool, only: str | None = None
    ) -> ProjectPage | None:
        """``only``: a fetched page is read for that version key alone (never cached)."""
        base, _ = split_credentials(index)
        if _is_local(base):
            return _local_index_page(base, name)
        url = base.rstrip("/") + "/" + name + "/"

        def parse(body: bytes, content_type: str, page_url: str) -> tuple[Any, ...]:
            return pageform.plain_from_body(body, content_type, page_url, name, base, only=only)

        return self._cached_page(
            url, name, parse, network, index_url=base, in_part=only is not None
        )

    # -- find-links ------------------------------------------------------------

    def _find_links_files(self, network: bool) -> list[DistFile]:
        if self._find_links is not None:
            return self._find_links
        with self._lock:
            if self._find_links is None:
                files: list[DistFile] = []
                for location in self.settings.find_links:
                    files.extend(self._find_links_location(location, network))
                self._find_links = files
            return self._find_links

    def _find_links_location(self, location: str, network: bool) -> list[DistFile]:
        clean, _ = split_credentials(location)
        if _is_local(clean):
            path = _local_path(clean)
            return simple.files_from_directory(path) if path.is_dir() else []

        def parse(body: bytes, content_type: str, page_url: str) -> tuple[Any, ...]:
            text = body.decode("utf-8", "replace")
            files = tuple(simple.parse_find_links_html(text, page_url))
            return pageform.page_to_plain(ProjectPage(name="", files=files, index_url=clean))

        page = self._cached_page(clean, clean, parse, network)
        return list(page.files) if page is not None else []

    # -- the page cache --------------------------------------------------------

    def _cached_page(
        self,
        url: str,
        name: str,
        parse: Callable[[bytes, str, str], tuple[Any, ...]],
        network: bool,
        index_url: str | None = None,
        in_part: bool = False,
    ) -> ProjectPage | None:
        """``index_url``: the page is an index's, which the page worker may parse.
        ``in_part``: ``parse`` keeps part of a page: what it gives is neither cached nor
        counted as the page revalidated."""
        try:
            self._absent.remove(url)  # a look that found nothing just now: the fetch follows
            entry = None
        except KeyError:
            entry = _read_entry(self._pages, url)
        if self.settings.offline:
            if entry is None:
                raise OfflineError(
                    f"offline, and the index page is not in the cache: {name}", redact_url(url)
                )
            log.debug("%s: index page from the cache (offline)", name)
            return entry.page
        revalidate = self.settings.refresh and url not in self._revalidated
        if self.settings.refresh:
            trace.stop()  # --refresh (however set) is never answered by the fast path
        if (
            entry is not None
            and not revalidate
            and self._rules.is_fresh(url, entry.headers, entry.fetched)
        ):
            log.debug("%s: index page from the cache", name)
            trace.fresh_until(self._rules.fresh_until(entry.headers, entry.fetched))
            return entry.page
        if not network:
            if entry is None:
                self._absent.add(url)
            raise _NeedsNetwork(url)
        page = self._fetch_page(url, name, parse, entry, index_url, in_part)
        if not in_part:
            self._revalidated.add(url)
        return page

    def _fetch_page(
        self,
        url: str,
        name: str,
        parse: Callable[[bytes, str, str], tuple[Any, ...]],
        entry: _PageEntry | None,
        index_url: str | None = None,
        in_part: bool = False,
    ) -> ProjectPage | None:
        headers = {"Accept": simple.ACCEPT}
        if entry is not None:
            headers.update(self._rules.conditional_headers(url, entry.headers))
        if index_url is not None:
            pageworker.start()  # if enabled: the workers start while the index answers
        response = self.http.get(url, headers)
        if response.status_code == 304 and entry is not None:
            log.debug("%s: index page from the cache, revalidated with the index", name)
            renewed = _PageEntry(
                entry.page, time.time(), self._rules.renewed(url, entry.headers, response.headers)
            )
            _write_entry(self._pages, url, renewed)
            trace.fresh_until(self._rules.fresh_until(renewed.headers, renewed.fetched))
            return renewed.page
        if response.status_code in (404, 410):
            log.debug("%s: not on %s (HTTP %d)", name, redact_url(url), response.status_code)
            self._store(url, response.status_code, response.headers, None, time.time())
            return None
        if response.status_code != 200:
            raise NetworkError(_status_message(url, response.status_code, name), redact_url(url))
        body = response.content
        worker = pageworker.running() if index_url is not None and not in_part else None
        if worker is not None and not _may_carry_credentials(body):
            try:
                return self._parse_elsewhere(worker, url, name, index_url or "", response, body)
            except pageworker.Gone as exc:
                log.debug("%s: %s; parsing here", name, exc)
        try:
            # Grouped by version once, for the cache and for the resolver alike: it judges
            # only the versions it looks at, decoding only their files. One page at a time:
            # parsing holds the GIL anyway, and a parsed page of thousands of files is tens
            # of MB of dicts, which fetch threads parsing side by side would each hold.
            with _PARSING:
                plain = parse(body, response.headers.get("Content-Type", ""), response.url)
        except ValueError as exc:
            raise _unreadable(url, exc) from None
        log.debug("%s: index page from the network", name)
        page = pageform.page_from_plain(plain)
        if in_part:
            return page  # part of the page: never written as the page
        if _may_carry_credentials(body) and _carries_credentials(page):
            # Credentials an index embeds in its file URLs stay in memory, never on disk.
            self._pages.delete(url)
        else:  # the write holds the cache form only, not the page or the response
            store = partial(self._store, url, 200, response.headers, plain, time.time())
            self.later(store)
        return page

    def _parse_elsewhere(
        self,
        worker: pageworker.PageWorkers,
        url: str,
        name: str,
        index_url: str,
        response: AnyResponse,
        body: bytes,
    ) -> ProjectPage:
        """:meth:`_fetch_page`'s parse and cache write, done by the page worker (a body
        that may carry credentials never goes there: its page is not written)."""
        fetched = time.time()
        kept = self._rules.to_store(url, 200, response.headers)
        target = (
            os.fspath(self._pages.path(url)) if kept is not None and self._pages.enabled else None
        )
        content_type = response.headers.get("Content-Type", "")
        try:
            urgent = self.urgent
            plain, checksum, failure, left = worker.parse(
                pageworker.PageRequest(
                    body, content_type, response.url, name, index_url, target, fetched, kept
                ),
                (lambda: urgent(name)) if urgent is not None else None,
            )
        except ValueError as exc:
            raise _unreadable(url, exc) from None
        log.debug("%s: index page from the network (parsed by the page worker)", name)
        elsewhere = None
        if left:  # the other versions' files are in the entry the worker wrote

            def load() -> Any:
                entry = self._pages.get(url)
                return entry[0] if isinstance(entry, tuple) and entry else None

            elsewhere = pageform.Elsewhere(name, load, dict(left))
        page = pageform.page_from_plain(plain, elsewhere)
        if target is None or kept is None:  # not to be kept, or no cache: as _store says
            self.later(partial(self._store, url, 200, response.headers, plain, fetched))
        elif failure is not None:
            log.warning("could not write cache entry %s: %s", target, failure)
            trace.stop()  # not kept: a warm run would not find it (xv.fast)
        else:
            if trace.recording():
                self.later(partial(_witness_entry, target, checksum))
            trace.fresh_until(self._rules.fresh_until(kept, fetched))
        return page

    def _store(
        self,
        url: str,
        status: int,
        headers: Mapping[str, str],
        plain: tuple[Any, ...] | None,
        fetched: float,
    ) -> None:
        """Keep a page's cache form (None: not found) if its caching headers allow it."""
        kept = self._rules.to_store(url, status, headers)
        if kept is None:
            self._pages.delete(url)
        else:
            self._pages.put(url, (plain, fetched, kept))
            trace.fresh_until(self._rules.fresh_until(kept, fetched))

    # -- downloads -------------------------------------------------------------

    def download(self, file: DistFile, dest_dir: Path) -> Path:
        """Fetch ``file`` into ``dest_dir`` (atomically), verifying its hash while streaming."""
        dest_dir.mkdir(parents=True, exist_ok=True)
        target = dest_dir / file.filename
        if _is_local(file.url):
            with open(_local_path(file.url), "rb") as source:
                _write_verified(file, (iter(lambda: source.read(1 << 16), b"")), target)
            return target
        if self.settings.offline:
            raise OfflineError(f"offline, cannot download {file.filename}", redact_url(file.url))

        from xv.index.http import raise_for_retry

        def attempt() -> Path:
            response = self.http.request(file.url, stream=True)
            try:
                raise_for_retry(response)
                if response.status_code != 200:
                    message = _status_message(file.url, response.status_code, file.filename)
                    raise NetworkError(message, redact_url(file.url))
                _write_verified(file, response.iter_content(1 << 16), target)
            finally:
                response.close()
            return target

        return self.http.with_retries(file.url, attempt)


# -- cache entries -------------------------------------------------------------


@record
class _PageEntry:
    page: ProjectPage | None  # None: the index answered 404/410
    fetched: float
    headers: dict[str, str]  # the response's caching headers (see xv.index.httpcache)


def _read_entry(bucket: Any, url: str) -> _PageEntry | None:
    value = bucket.get(url)
    if value is None:
        return None
    try:
        page_plain, fetched, headers = value
        page = pageform.page_from_plain(page_plain) if page_plain is not None else None
        if not isinstance(headers, dict):
            raise TypeError("headers")
        return _PageEntry(page, float(fetched), {str(k): str(v) for k, v in headers.items()})
    except (TypeError, ValueError):
        bucket.delete(url)  # an older or damaged layout: a miss
        return None


def _write_entry(bucket: Any, url: str, entry: _PageEntry) -> None:
    if entry.page is not None and _carries_credentials(entry.page):
        # Credentials an index embeds in its file URLs stay in memory, never on disk.
        bucket.delete(url)
        return
    page_plain = pageform.page_to_plain(entry.page) if entry.page is not None else None
    bucket.put(url, (page_plain, entry.fetched, entry.headers))


def _unreadable(url: str, exc: ValueError) -> NetworkError:
    """The error for an index page that does not parse (here or in a page worker)."""
    return NetworkError(f"{redact_url(url)}: unreadable index page: {exc}", redact_url(url))


def _witness_entry(target: str, checksum: str | None) -> None:
    """Witness a cache entry a page worker wrote by the sha256 of its bytes, read back,
    when they are the worker's: their envelope's checksum is the one the worker gave
    (another process may have replaced the entry since; then the run is not recorded).

    The entry is mapped, not read: hashed in one call, which lets go of the interpreter
    lock once (read a MB at a time, each read and each update let go of it and took it
    back, against the fetch threads and the solver: data-science's compile took ~100 ms
    more CPU), and no copy of it is made (read whole, several read at once put up to 14 MB
    on the command's peak)."""
    import mmap

    digest = None
    with trace.paused():  # this read is not one the answer depends on
        try:
            with (
                open(target, "rb") as handle,
                mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
            ):
                found = envelope.stored_checksum(data[: envelope.HEAD_SIZE])
                if checksum is not None and found is not None and found.hex() == checksum:
                    # OpenSSL's once its module is loaded (for a big entry: it loads once):
                    # the built-in sha256 took 20 ms of airflow's 4.6 MB of small entries.
                    hasher = sha256_for(len(data))
                    with memoryview(data) as view:  # released before the map closes
                        hasher.update(view)
                    digest = hasher.hexdigest()
        except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
            pass
    trace.wrote_elsewhere(target, digest)


def _may_carry_credentials(body: bytes) -> bool:
    """False when no URL on the page can hold an ``@``: none in the body, nor an escape
    that could spell one (JSON ``\\u0040``, an HTML character reference). Spares reading
    every file of a page of thousands for :func:`_carries_credentials`.

    Single bytes first: their search is a ``memchr``, the two-byte ``\\u``'s is not (~10x
    slower: 25 ms for the 24 MB of data-science's pages), and JSON has no escape without a
    backslash, which PEP 691 pages seldom hold (1 page of 113 there)."""
    return b"@" in body or b"&" in body or (b"\\" in body and b"\\u" in body)


def _carries_credentials(page: ProjectPage) -> bool:
    # The cheap test first: the pages of a 300-pin lock list 200k URLs, urlsplit is slow.
    return any("@" in f.url and "@" in urlsplit(f.url).netloc for f in page.files)


# -- helpers -------------------------------------------------------------------


def _merge(name: str, pages: list[ProjectPage]) -> ProjectPage | None:
    if not pages:
        return None
    if len(pages) == 1:
        return pages[0]
    files: dict[str, DistFile] = {}
    for page in pages:
        for dist in page.files:
            files.setdefault(dist.filename, dist)
    return ProjectPage(name=name, files=tuple(files.values()), index_url=pages[0].index_url)


def _is_file_of(dist: DistFile, name: str) -> bool:
    parsed = filenames.dist_name_version(dist.filename, name)
    return parsed is not None and parsed[0] == name


def _is_local(url: str) -> bool:
    return url.startswith("file:") or "://" not in url


def _local_path(url: str) -> Path:
    if url.startswith("file:"):
        # Here, not at the top: urllib.request loads http.client and ssl (~20 ms), which a
        # run answered from the cache never needs.

        return Path(url2pathname(urlsplit(url).path))
    return Path(url)


def _local_index_page(base: str, name: str) -> ProjectPage | None:
    """A simple index on disk: ``<root>/<name>/index.html`` or a directory of files."""
    directory = _local_path(base) / name
    html = directory / "index.html"
    if html.is_file():
        return simple.parse_html(
            html.read_text("utf-8", "replace"), html.as_uri(), name, index_url=base
        )
    if directory.is_dir():
        files = tuple(simple.files_from_directory(directory))
        return ProjectPage(name=name, files=files, index_url=base) if files else None
    return None


def _status_message(url: str, status: int, what: str) -> str:
    hint = ""
    if status in (401, 403):
        hint = " (check the credentials in the index URL or ~/.netrc)"
    return f"{redact_url(url)} answered HTTP {status} for {what}{hint}"


def _pick_hash(hashes: dict[str, str]) -> tuple[str, str] | None:
    for algorithm in ("sha256", "sha384", "sha512", "sha224", "sha1", "md5"):
        if algorithm in hashes:
            return algorithm, hashes[algorithm].lower()
    return None


def _write_verified(file: DistFile, chunks: Iterable[bytes], target: Path) -> None:
    expected = _pick_hash(file.hashes)
    import hashlib  # any algorithm an index names: only where a file is downloaded

    digest = hashlib.new(expected[0]) if expected else None
    with atomic.atomic_writer(target, follow=False) as out:
        for chunk in chunks:
            out.write(chunk)
            if digest is not None:
                digest.update(chunk)
        if expected and digest is not None and digest.hexdigest() != expected[1]:
            raise HashMismatchError(
                f"{file.filename}: {expected[0]} is {digest.hexdigest()}, expected {expected[1]}",
                package=file.filename,
            )


# -- per-process clients for pool workers --------------------------------------

_CLIENTS: dict[tuple[int, IndexSettings, Cache], IndexClient] = {}
_CLIENTS_LOCK = threading.Lock()
_PARSING = threading.Lock()  # see IndexClient._fetch_page


def client_for(settings: IndexSettings, cache: Cache) -> IndexClient:
    """This process's client for these settings and cache (built on first use)."""
    key = (os.getpid(), settings, cache)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = IndexClient(settings, cache)
        return client


def remember_client(client: IndexClient) -> None:
    """Let :func:`client_for` in this process hand out ``client`` (thread and serial pools)."""
    with _CLIENTS_LOCK:
        _CLIENTS.setdefault((os.getpid(), client.settings, client.cache), client)


__all__ = [
    "DEFAULT_INDEX_URL",
    "IndexClient",
    "IndexSettings",
    "client_for",
    "remember_client",
]
