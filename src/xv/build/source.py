"""The resolver's metadata source, with sdists answered by the build path.

An index version that has only an sdist (``docopt==0.6.2``, ``gunicorn==19.0.0``)
is no longer passed over: its sdist is downloaded once into
``sdists-v1/<sha256>/`` and its metadata taken from PKG-INFO (PEP 643), a static
``[project]`` table, or the backend's hooks, then cached by the sdist's sha256 as
for any file. The provider never asks for an sdist speculatively (its prefetches
are wheels only, as uv's), so only versions the solver really tries get built.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from xv.build.builder import Builder
from xv.cache import CacheBucket
from xv.compile.sources import IndexSource
from xv.index.client import IndexClient
from xv.index.metadata import CoreMetadata, cached_metadata
from xv.index.simple import DistFile
from xv.pool import WorkerPool
from xv.resolver.candidates import Candidate
from xv.resolver.pubgrub import Unavailable

SDISTS_BUCKET = CacheBucket.SDISTS


class BuildingSource(IndexSource):
    """:class:`IndexSource` whose sdists are built (metadata only) instead of refused."""

    def __init__(
        self, client: IndexClient, pool: WorkerPool, builder: Callable[[], Builder]
    ) -> None:
        super().__init__(client, pool)
        self.builder = builder  # made on first use: most resolutions build nothing

    def metadata(self, cands: Sequence[Candidate]) -> Mapping[str, CoreMetadata | Unavailable]:
        sdists = [c for c in cands if c.metadata_file is not None and not c.metadata_file.is_wheel]
        out = dict(super().metadata([c for c in cands if c not in sdists]))
        for cand in sdists:
            file = cand.metadata_file
            assert file is not None
            hit = cached_metadata(self.client, file)  # built before: not even the download
            if hit is not None:
                out[file.url] = hit
                continue
            label = f"{_name(file)}=={cand.version}"
            path = fetch_sdist(self.client, file)
            out[file.url] = self.builder().sdist_metadata(path, label, file.hashes.get("sha256"))
        return out


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
