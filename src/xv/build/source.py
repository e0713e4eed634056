"""The resolver's metadata source, with sdists answered by the build path.

An index version that has only an sdist (``docopt==0.6.2``, ``gunicorn==19.0.0``)
is no longer passed over: its sdist is downloaded once into
``sdists-v1/<sha256>/`` and its metadata taken from PKG-INFO (PEP 643), a static
``[project]`` table, or the backend's hooks, then cached by the sdist's sha256 as
for any file. The provider's prefetch of the picks of dependencies it just met
includes their sdists (uv's prefetches are wheels only): several sdists are then
prepared at once, bounded by the CPUs, instead of one build after another; guesses
further ahead (batches of older versions) use only what the cache knows.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from xv.build.builder import Builder
from xv.cache import CacheBucket
from xv.errors import XvError
from xv.index.client import IndexClient
from xv.index.metadata import CoreMetadata, cached_metadata
from xv.index.simple import DistFile
from xv.pool import WorkerPool, cpu_count, thread_map
from xv.resolver.candidates import Candidate
from xv.resolver.index_source import IndexSource
from xv.resolver.pubgrub import Unavailable

SDISTS_BUCKET = CacheBucket.SDISTS

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

    def metadata(self, cands: Sequence[Candidate]) -> Mapping[str, CoreMetadata | Unavailable]:
        sdists = [c for c in cands if _is_sdist(c)]
        out = dict(super().metadata([c for c in cands if c not in sdists]))
        out.update(self._sdists(sdists, guess=False))
        return out

    def prefetch(
        self, cands: Sequence[Candidate], builds: bool
    ) -> Mapping[str, CoreMetadata | Unavailable]:
        """Wheels as :class:`IndexSource` guesses them; sdists too when ``builds`` (the
        picks of dependencies just met, which the solver will almost surely ask for next):
        several sdists are then prepared at once, on up to one thread per CPU (the
        frontend lets as many hooks run), instead of one build after another. A guess
        that fails is left out: the solver's own request, if it comes, reports it."""
        sdists = [c for c in cands if _is_sdist(c)]
        out = dict(super().prefetch([c for c in cands if c not in sdists], builds))
        if builds:
            out.update(self._sdists(sdists, guess=True))
        else:  # a guess further ahead: only what the cache already knows
            for cand in sdists:
                file = cand.metadata_file
                assert file is not None
                hit = cached_metadata(self.client, file)
                if hit is not None:
                    out[file.url] = hit
        return out

    def _sdists(self, cands: Sequence[Candidate], guess: bool) -> dict[str, CoreMetadata]:
        """Metadata of sdists: the cache, else download and PKG-INFO/static/hooks, on up
        to one thread per CPU; ``guess`` leaves a failure out instead of raising it."""
        out: dict[str, CoreMetadata] = {}
        todo: list[Candidate] = []
        for cand in cands:
            file = cand.metadata_file
            assert file is not None
            hit = cached_metadata(self.client, file)  # built before: not even the download
            if hit is not None:
                log.debug("metadata of %s: from the cache", file.filename)
                out[file.url] = hit
            else:
                todo.append(cand)
        if not todo:
            return out
        builder = self.builder()  # made here, not on the threads below

        def one(cand: Candidate) -> CoreMetadata | None:
            file = cand.metadata_file
            assert file is not None
            label = f"{_name(file)}=={cand.version}"
            try:
                path = fetch_sdist(self.client, file)
                return builder.sdist_metadata(path, label, file.hashes.get("sha256"))
            except XvError as exc:
                if not guess:
                    raise
                log.debug("metadata of %s: not prefetched (%s)", label, exc)
                return None

        log.debug("metadata: preparing %d sdist(s)", len(todo))
        if self.threads == 1:
            found = [one(cand) for cand in todo]
        else:
            found = thread_map(one, todo, self.threads)
        for cand, meta in zip(todo, found, strict=True):
            if meta is not None and cand.metadata_file is not None:
                out[cand.metadata_file.url] = meta
        return out


def _is_sdist(cand: Candidate) -> bool:
    return cand.metadata_file is not None and not cand.metadata_file.is_wheel


def fetch_sdist(client: IndexClient, file: DistFile) -> Path:
    """The sdist in the cache (downloaded and verified once)."""
    sha = file.hashes.get("sha256")
    key = sha.lower() if sha else "url-" + hashlib.sha256(file.url.encode()).hexdigest()[:32]
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
