"""The provider's view of the index layer: pages and metadata, in batches.

Kept apart from the provider so the resolver can be driven by an in-memory source
in tests, and so the policy "network errors abort, unreadable metadata only rules
out that version" is written down in one place. It lives below both use cases:
xv-compile resolves with it, and ``build`` resolves build requirements with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from xv.errors import MetadataError, NetworkError
from xv.index.client import IndexClient
from xv.index.metadata import CoreMetadata, prefetch_metadata
from xv.index.simple import ProjectPage
from xv.pool import WorkerPool
from xv.resolver.candidates import Candidate
from xv.resolver.provider import MetadataSource
from xv.resolver.pubgrub import Unavailable


class IndexSource(MetadataSource):
    """Pages from the index client; metadata through the cache, misses on the pool."""

    def __init__(self, client: IndexClient, pool: WorkerPool) -> None:
        self.client = client
        self.pool = pool

    def pages(self, names: Iterable[str]) -> dict[str, ProjectPage | None]:
        return self.client.project_pages(names)

    def metadata(self, cands: Sequence[Candidate]) -> Mapping[str, CoreMetadata | Unavailable]:
        files = [c.metadata_file for c in cands if c.metadata_file is not None]
        out: dict[str, CoreMetadata | Unavailable] = {}
        for url, result in prefetch_metadata(
            self.client, files, self.pool, max(1, MAX_REQUESTS_IN_FLIGHT // self.pool.workers)
        ).items():
            if isinstance(result, NetworkError):
                raise result
            if isinstance(result, MetadataError):
                out[url] = Unavailable(f"has unreadable metadata ({result})")
            elif isinstance(result, Exception):
                raise result
            elif isinstance(result, Unavailable):
                out[url] = Unavailable(f"cannot be used: its metadata {result.reason}")
            else:
                out[url] = result
        return out


# Fetching metadata is waiting on the network, a few small requests per wheel; a
# batch of 50 on 4 worker processes would leave the connection mostly idle, so
# each worker takes a slice of the batch and fetches it on its own threads. The
# total is capped: 97 wheels took 0.9 s with 16 requests in flight, 1.2 s with
# 24, but 5.5 s with 32 and 11 s with 64, where the index began to stall
# connections (measured here on a cold cache).
MAX_REQUESTS_IN_FLIGHT = 24
