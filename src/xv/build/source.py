"""The resolver's metadata source, with sdists answered by the build path.

An index version that has only an sdist (``docopt==0.6.2``, ``gunicorn==19.0.0``)
is no longer passed over: its sdist is downloaded once into
``sdists-v1/<sha256>/`` and its metadata taken from PKG-INFO (PEP 643), a static
``[project]`` table, or the backend's hooks, then cached by the sdist's sha256 as
for any file. The provider's guesses of the picks of dependencies it just met
include their sdists (uv's prefetches are wheels only): each is prepared in the
background as soon as its pick is known, beside the others (one per CPU), instead of
one build after another; guesses further ahead (batches of older versions) use only
what the cache knows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, cast

from xv import digests
from xv.cache import CacheBucket
from xv.errors import XvError
from xv.index.client import IndexClient
from xv.index.metadata import CoreMetadata, cached_metadata
from xv.index.simple import DistFile
from xv.pool import WorkerPool, cpu_count
from xv.resolver.background import URGENT
from xv.resolver.candidates import Candidate
from xv.resolver.index_source import IndexSource
from xv.resolver.pubgrub import Unavailable

if TYPE_CHECKING:  # handed in: the builder's modules load when a build needs them
    from xv.build.builder import Builder

SDISTS_BUCKET = CacheBucket.SDISTS
BUILD_LANE = "build"  # the fetcher's lane for sdist builds: one thread per CPU

log = logging.getLogger(__name__)


class BuildingSource(IndexSource):
    """:class:`IndexSource` whose sdists are built (metadata only) instead of refused."""

    def __init__(
        self,
        client: IndexClient,
        pool: WorkerPool,
        builder: Callable[[], Builder],
        threads: int | None = None,
    ) -> None:
        super().__init__(client, pool)
        self.builder = builder  # made on first use: most resolutions build nothing
        self.threads = threads or cpu_count()  # sdists prepared at once (1: on this thread)
        if self.threads > 1:
            self.fetcher.add_lane(BUILD_LANE, self.threads)

    def metadata(self, cands: Sequence[Candidate]) -> Mapping[str, CoreMetadata | Unavailable]:
        sdists = [c for c in cands if _is_sdist(c)]
        out = dict(super().metadata([c for c in cands if c not in sdists]))
        for cand in sdists:
            assert cand.metadata_file is not None
            out[cand.metadata_file.url] = self._sdist_metadata(cand)
        return out

    def prefetch(
        self, cands: Sequence[Candidate], builds: bool
    ) -> Mapping[str, CoreMetadata | Unavailable]:
        """Wheels as :class:`IndexSource` guesses them; sdists from the cache, and when
        ``builds`` (the picks of dependencies just met, which the solver will almost surely
        ask for next) the others are queued to be prepared in the background, up to one at
        a time per CPU: each build starts as soon as its pick is known, beside the builds
        already running, and arrives through :meth:`finished`. A guess that fails is left
        out: the solver's own request, if it comes, builds again and reports it."""
        sdists = [c for c in cands if _is_sdist(c)]
        out = dict(super().prefetch([c for c in cands if c not in sdists], builds))
        for cand in sdists:
            file = cand.metadata_file
            assert file is not None
            hit = cached_metadata(self.client, file)
            if hit is not None:
                out[file.url] = hit
            elif builds and self.threads > 1:
                build = partial(self._build, cand, self.builder(), True)  # builder made here
                self.fetcher.submit(("meta", file.url), build, lane=BUILD_LANE)
        return out

    def flush(self) -> None:
        """Guessed builds nobody asked for are dropped, running ones finished: no build
        outlives the resolution (its build context is closed after it)."""
        self.fetcher.settle(BUILD_LANE)
        super().flush()

    def _sdist_metadata(self, cand: Candidate) -> CoreMetadata:
        """An sdist's metadata for the solver: a guessed build waited for (the solver
        guesses on meanwhile), else the cache, else built now; a failure is raised."""
        file = cand.metadata_file
        assert file is not None
        key = ("meta", file.url)
        if self.fetcher.job(key) is not None:
            job = self.fetcher.wait(key, self.while_waiting)
            if job.error is None:
                return cast(CoreMetadata, job.value)
            self.fetcher.forget(key)  # a failed guess: built again below, its error raised
        hit = cached_metadata(self.client, file)  # built before: not even the download
        if hit is not None:
            log.debug("metadata of %s: from the cache", file.filename)
            return hit
        if self.threads == 1:  # on this thread: it may hold the build requirements' lock
            return self._build(cand, self.builder(), False)
        self.sync_fetches += 1
        build = partial(self._build, cand, self.builder(), False)
        self.fetcher.submit(key, build, URGENT, lane=BUILD_LANE)
        job = self.fetcher.wait(key, self.while_waiting, counted=False)
        if job.error is not None:
            raise job.error
        return cast(CoreMetadata, job.value)

    def _build(self, cand: Candidate, builder: Builder, guess: bool) -> CoreMetadata:
        """Download the sdist and read or build its metadata (runs on a build thread)."""
        file = cand.metadata_file
        assert file is not None
        label = f"{_name(file)}=={cand.version}"
        if guess:
            log.debug("metadata of %s: preparing the sdist ahead of the solver", label)
        try:
            path = fetch_sdist(self.client, file)
            return builder.sdist_metadata(path, label, file.hashes.get("sha256"))
        except XvError as exc:
            if guess:
                log.debug("metadata of %s: not prefetched (%s)", label, exc)
            raise


def _is_sdist(cand: Candidate) -> bool:
    return cand.metadata_file is not None and not cand.metadata_file.is_wheel


def fetch_sdist(client: IndexClient, file: DistFile) -> Path:
    """The sdist in the cache (downloaded and verified once)."""
    sha = file.hashes.get("sha256")
    key = sha.lower() if sha else "url-" + digests.sha256(file.url.encode()).hexdigest()[:32]
    bucket = client.cache.bucket(SDISTS_BUCKET)
    folder = bucket.path(key) if bucket.enabled else None
    if folder is None:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="xv-sdist-"))
    path = folder / file.filename
    if not path.is_file():
        client.download(file, folder)
    return path


def _name(file: DistFile) -> str:
    return file.filename.rsplit("-", 1)[0]
