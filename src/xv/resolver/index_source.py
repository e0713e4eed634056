"""The provider's view of the index layer: pages and metadata, fetched ahead.

Kept apart from the provider so the resolver can be driven by an in-memory source
in tests, and so the policy "network errors abort, unreadable metadata only rules
out that version" is written down in one place. It lives below both use cases:
xv-compile resolves with it, and ``build`` resolves build requirements with it.

Guesses (``prefetch_pages``, ``prefetch_metadata``) are fetched on threads while the
solver works (:mod:`xv.resolver.background`); ``pages`` and ``metadata`` wait only
for what they are asked, which jumps the queue. A guess that failed on the network
is fetched again when it is needed, and the error reported then.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import cast

from xv.errors import MetadataError, NetworkError
from xv.index.client import IndexClient
from xv.index.metadata import RANGE_STATS, CoreMetadata, cached_metadata, get_metadata
from xv.index.simple import ProjectPage
from xv.pool import WorkerPool
from xv.resolver.background import URGENT, Fetcher
from xv.resolver.candidates import Candidate
from xv.resolver.provider import MetadataSource
from xv.resolver.pubgrub import Unavailable

ENV_STATS = "XV_FETCH_STATS"  # set: print the fetch counts to stderr at exit (benchmarks)


class IndexSource(MetadataSource):
    """Pages from the index client; metadata through the cache, fetched ahead on threads."""

    def __init__(self, client: IndexClient, pool: WorkerPool) -> None:
        self.client = client
        self.pool = pool
        self.fetcher = Fetcher(MAX_REQUESTS_IN_FLIGHT)
        self.sync_fetches = 0  # blocking fetches of what no guess had queued
        # Cache writes go behind every fetch, onto threads that would idle otherwise:
        # a waited-for page or metadata is used before it is written.
        self._writes: list[tuple[str, int]] = []
        self.writes = 0
        # Writes are deferred from the fetch threads too: a key flush took before its job
        # was queued made flush's wait a KeyError.
        self._writes_lock = threading.Lock()
        client.defer = self._write_later
        client.urgent = self._urgent
        if os.environ.get(ENV_STATS):
            atexit.register(self._print_stats)

    def _urgent(self, name: str) -> bool:
        """Whether the solver waits for the page of ``name`` now."""
        return self.fetcher.awaited == ("page", name)

    # -- guesses ---------------------------------------------------------------

    def prefetch_pages(self, names: Iterable[str], priority: int = 0) -> None:
        for name in names:
            key = ("page", name)
            if self.fetcher.known(key):
                continue
            # A page the cache answers is read here: a thread would only add a hop and the GIL.
            found, page = self.client.cached_project_page(name)
            if found:
                self.fetcher.put(key, page)
            else:
                self.fetcher.submit(key, partial(self.client.project_page, name), priority)

    def prefetch_metadata(self, cands: Iterable[Candidate], priority: int = 0) -> None:
        for c in cands:
            file = c.metadata_file
            # An sdist's metadata needs a build: that is never started on a guess.
            if file is None or not file.is_wheel or self.fetcher.known(("meta", file.url)):
                continue
            # A cache hit is taken at once: a thread would only add a hop and the GIL.
            if (hit := cached_metadata(self.client, file)) is not None:
                self.fetcher.put(("meta", file.url), hit)
            else:
                job = partial(get_metadata, self.client, file, looked=True)
                self.fetcher.submit(("meta", file.url), job, priority)

    def finished(self) -> tuple[list[str], list[str]]:
        """Project names and metadata URLs whose guesses arrived since the last call;
        failed ones are dropped (fetched again if needed)."""
        names: list[str] = []
        urls: list[str] = []
        for key in self.fetcher.take_finished():
            kind, what = cast(tuple[str, str], key)
            if kind == "write":
                continue
            job = self.fetcher.job(key)
            if job is None:
                continue  # failed and forgotten by the solver's own wait meanwhile
            if job.error is not None:
                self.fetcher.forget(key)
            else:
                (names if kind == "page" else urls).append(what)
        return names, urls

    # -- what the solver needs now ---------------------------------------------

    def pages(self, names: Iterable[str]) -> dict[str, ProjectPage | None]:
        out: dict[str, ProjectPage | None] = {}
        rest: list[str] = []
        for name in names:
            key = ("page", name)
            if self.fetcher.known(key):
                job = self.fetcher.wait(key, self.while_waiting)
                if job.error is None:
                    out[name] = job.value
                    continue
                self.fetcher.forget(key)
            rest.append(name)
        if rest:
            self.sync_fetches += 1
            out.update(self.client.project_pages(rest))
        return out

    def metadata(self, cands: Sequence[Candidate]) -> Mapping[str, CoreMetadata | Unavailable]:
        out: dict[str, CoreMetadata | Unavailable] = {}
        rest = []
        for c in cands:
            file = c.metadata_file
            if file is None:
                continue
            key = ("meta", file.url)
            if self.fetcher.known(key):
                job = self.fetcher.wait(key, self.while_waiting)
                result = job.error if job.error is not None else job.value
                if not isinstance(result, NetworkError):
                    out[file.url] = _as_answer(result)
                    continue
                self.fetcher.forget(key)
            rest.append(file)
        if rest:
            # Fetched on the same threads, first in line: worker processes would cost
            # ~100 MB and a second of start-up for a few small requests.
            self.sync_fetches += 1
            for file in rest:
                fetch = partial(get_metadata, self.client, file)
                self.fetcher.submit(("meta", file.url), fetch, URGENT)
            for file in rest:
                done = self.fetcher.wait(("meta", file.url), self.while_waiting, counted=False)
                out[file.url] = _as_answer(done.error if done.error is not None else done.value)
        return out

    def _write_later(self, write: Callable[[], object]) -> None:
        with self._writes_lock:  # queued before flush can see its key
            self.writes += 1
            key = ("write", self.writes)
            self.fetcher.submit(key, write, WRITE_PRIORITY)
            self._writes.append(key)

    def flush(self) -> None:
        """Wait for the cache writes queued so far (their errors are the cache's: logged)."""
        with self._writes_lock:
            writes, self._writes = self._writes, []
        for key in writes:
            self.fetcher.wait(key, counted=False)
            self.fetcher.forget(key)

    def _print_stats(self) -> None:
        f = self.fetcher
        print(
            f"xv fetch: {f.stalls} waits on guesses ({f.stall_seconds:.2f} s),"
            f" {self.sync_fetches} unguessed fetches,"
            f" {f.submitted - self.writes} guesses, {RANGE_STATS.wheels} wheels read by"
            f" {RANGE_STATS.requests} range requests",
            file=sys.stderr,
        )
        if os.environ.get(ENV_STATS) == "2":  # what the solver waited for, and how long
            for key, seconds in f.stalled:
                print(f"xv fetch: waited {seconds:.3f} s for {key}", file=sys.stderr)


def _as_answer(result: object) -> CoreMetadata | Unavailable:
    """Core metadata or why it is unavailable; network errors and other failures are raised."""
    if isinstance(result, NetworkError):
        raise result
    if isinstance(result, MetadataError):
        return Unavailable(f"has unreadable metadata ({result})")
    if isinstance(result, BaseException):
        raise result
    if isinstance(result, Unavailable):
        return Unavailable(f"cannot be used: its metadata {result.reason}")
    return cast(CoreMetadata, result)


# Fetching metadata is waiting on the network, a few small requests per wheel, so it
# runs on threads. The total is capped: 97 wheels took 0.9 s with 16 requests in
# flight, 1.2 s with 24, but 5.5 s with 32 and 11 s with 64, where the index began
# to stall connections (measured here on a cold cache).
MAX_REQUESTS_IN_FLIGHT = 24
WRITE_PRIORITY = 1 << 20  # after every guess
