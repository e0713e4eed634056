"""The provider's view of the index layer: pages and metadata, in batches.

Kept apart from the provider so the resolver can be driven by an in-memory source
in tests, and so the policy "network errors abort, unreadable metadata only rules
out that version" is written down in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from xv.errors import MetadataError, NetworkError
from xv.index.client import IndexClient, IndexSettings, remember_client
from xv.index.metadata import (
    MetadataResult,
    Unavailable,
    cached_metadata,
    fetch_metadata_job,
    file_to_plain,
    result_from_plain,
)
from xv.index.simple import DistFile, ProjectPage
from xv.pool import WorkerPool
from xv.resolver.candidates import Candidate
from xv.resolver.provider import MetadataSource


class IndexSource(MetadataSource):
    """Pages from the index client; metadata through the cache, misses on the pool."""

    def __init__(self, client: IndexClient, pool: WorkerPool) -> None:
        self.client = client
        self.pool = pool

    def pages(self, names: Iterable[str]) -> dict[str, ProjectPage | None]:
        return self.client.project_pages(names)

    def metadata(self, cands: Sequence[Candidate]) -> dict[str, object]:
        files = [c.metadata_file for c in cands if c.metadata_file is not None]
        out: dict[str, object] = {}
        for url, result in fetch_many(self.client, files, self.pool).items():
            if isinstance(result, NetworkError):
                raise result
            if isinstance(result, MetadataError):
                out[url] = f"has unreadable metadata ({result})"
            elif isinstance(result, Exception):
                raise result
            elif isinstance(result, Unavailable):
                out[url] = f"cannot be used: its metadata {result.reason}"
            else:
                out[url] = result
        return out


# Fetching metadata is waiting on the network, a few small requests per wheel; a
# batch of 50 on 4 worker processes would leave the connection mostly idle, so
# each worker takes a slice of the batch and fetches it on its own threads.
THREADS_PER_WORKER = 16


def fetch_many(
    client: IndexClient, files: Sequence[DistFile], pool: WorkerPool
) -> dict[str, MetadataResult | Exception]:
    """Metadata by URL: cache hits here, misses in slices on the pool's workers."""
    results: dict[str, MetadataResult | Exception] = {}
    misses: dict[str, DistFile] = {}
    for file in files:
        if not file.is_wheel:
            results[file.url] = Unavailable("needs a build")
        elif (hit := cached_metadata(client, file)) is not None:
            results[file.url] = hit
        else:
            misses.setdefault(file.url, file)
    if not misses:
        return results
    root = getattr(client.cache, "root", None)
    cache_root = str(root) if root is not None else None
    remember_client(client, cache_root)  # thread and serial pools reuse this client
    todo = list(misses.values())
    slices = [todo[i :: pool.workers] for i in range(min(pool.workers, len(todo)))]
    jobs = [
        (client.settings, cache_root, [file_to_plain(f) for f in part], THREADS_PER_WORKER)
        for part in slices
    ]
    for part, job in zip(slices, pool.map(fetch_slice_job, jobs), strict=True):
        for i, file in enumerate(part):
            if job.ok:
                results[file.url] = result_from_plain(job.value[i], file)
            elif isinstance(job.exception, Exception):
                results[file.url] = job.exception
            else:
                results[file.url] = MetadataError(f"{file.filename}: {job.error}", file.filename)
    return results


def fetch_slice_job(
    settings: IndexSettings, cache_root: str | None, plains: list[tuple[Any, ...]], threads: int
) -> list[tuple[Any, ...]]:
    """Worker job: :func:`fetch_metadata_job` for each file, on up to ``threads`` threads."""
    if len(plains) == 1:
        return [fetch_metadata_job(settings, cache_root, plains[0])]
    with ThreadPoolExecutor(min(threads, len(plains))) as executor:
        return list(executor.map(lambda p: fetch_metadata_job(settings, cache_root, p), plains))
