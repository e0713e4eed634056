"""The core metadata of a distribution file, fetched as cheaply as possible.

Order, as in uv: the PEP 658/714 metadata file when the index advertises one
(its hash checked when given) → HTTP range requests into the wheel
(:mod:`xv.index.zipread`: the end of the zip, its central directory, then only
``*.dist-info/METADATA``) → the whole wheel when the server ignores ranges.
An sdist is :class:`~xv.resolver.pubgrub.Unavailable` ("needs a build"): building is the builder's job.

Parsed results live in the ``metadata-v1`` cache bucket keyed by the file's
sha256 (or its URL when the index gives no hash); files are immutable, so
entries never expire. :func:`prefetch_metadata` answers from the cache first
and sends only the misses to the worker pool, so a warm run starts no worker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from xv import digests
from xv.cache import Cache, CacheBucket
from xv.errors import (
    HashMismatchError,
    MetadataError,
    NetworkError,
    OfflineError,
    XvError,
)
from xv.index.client import IndexClient, IndexSettings, client_for, remember_client
from xv.index.simple import DistFile
from xv.pool import thread_map
from xv.records import record
from xv.resolver.pubgrub import Unavailable
from xv.urls import redact as redact_url
from xv.urls import url2pathname

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # only the type: the pool is handed in
    from xv.pool import WorkerPool

METADATA_BUCKET = CacheBucket.METADATA


@record
class CoreMetadata:
    """What resolution needs from a distribution's METADATA (name as written there)."""

    name: str
    version: str
    requires_dist: tuple[str, ...]
    requires_python: str | None
    provides_extra: tuple[str, ...]

    def to_plain(self) -> tuple[Any, ...]:
        return (
            self.name,
            self.version,
            list(self.requires_dist),
            self.requires_python,
            list(self.provides_extra),
        )

    @classmethod
    def from_plain(cls, obj: Any) -> CoreMetadata:
        """Inverse of :meth:`to_plain`; :class:`ValueError` for anything else."""
        try:
            name, version, requires_dist, requires_python, provides_extra = obj
        except (TypeError, ValueError) as exc:
            raise ValueError(f"not cached metadata: {exc}") from None
        if not isinstance(name, str) or not isinstance(version, str):
            raise ValueError("not cached metadata: bad name or version")
        if requires_python is not None and not isinstance(requires_python, str):
            raise ValueError("not cached metadata: bad requires-python")
        return cls(
            name,
            version,
            tuple(map(str, requires_dist)),
            requires_python,
            tuple(map(str, provides_extra)),
        )


# Metadata that cannot be had without more work (an sdist needs a build) is the solver's
# own "cannot be used, because" value: one type from the index up to the failure report.
MetadataResult = CoreMetadata | Unavailable


def parse_metadata(data: bytes, source: str) -> CoreMetadata:
    """Parse METADATA leniently: odd fields are ignored, only name and version are required.

    >>> parse_metadata(b"Name: a\\nVersion: 1.0\\nRequires-Dist: b>=1\\nX-Odd: ?\\n", "a").requires_dist
    ('b>=1',)
    """
    # The email parser loads when METADATA is read, not on a warm run, whose metadata
    # comes from the cache. The fields as packaging.metadata.parse_email reads them.
    from xv.index.coremeta import read_fields

    fields = read_fields(data)
    name, version = fields.get("name", [""])[0], fields.get("version", [""])[0]
    if not name or not version:
        raise MetadataError(f"{source}: METADATA lacks Name or Version", package=source)
    return CoreMetadata(
        name=name,
        version=version,
        requires_dist=tuple(fields.get("requires-dist", ())),
        requires_python=fields.get("requires-python", [""])[0] or None,
        provides_extra=tuple(fields.get("provides-extra", ())),
    )


def cache_key(file: DistFile) -> str:
    sha256 = file.hashes.get("sha256")
    # A URL's credentials never reach the cache, not even in an entry's file name.
    return f"sha256:{sha256.lower()}" if sha256 else f"url:{redact_url(file.url)}"


def cached_metadata(client: IndexClient, file: DistFile) -> CoreMetadata | None:
    """The cached metadata of ``file`` (None on a miss; a damaged entry is dropped)."""
    bucket = client.cache.bucket(METADATA_BUCKET)
    key = cache_key(file)
    value = bucket.get(key)
    if value is None:
        return None
    try:
        found = CoreMetadata.from_plain(value)
    except ValueError:
        bucket.delete(key)
        return None
    log.debug("metadata of %s: from the cache", file.filename)
    return found


def get_metadata(client: IndexClient, file: DistFile, *, looked: bool = False) -> MetadataResult:
    """The core metadata of ``file``: cache, PEP 658 file, range requests, whole wheel.
    ``looked``: the cache was just asked and had none (not asked again)."""
    if not file.is_wheel:
        return Unavailable("needs a build")
    hit = None if looked else cached_metadata(client, file)
    if hit is not None:
        return hit
    if client.settings.offline and not file.url.startswith("file:"):
        raise OfflineError(
            f"offline, and the metadata is not in the cache: {file.filename}", redact_url(file.url)
        )
    meta = parse_metadata(_metadata_bytes(client, file), file.filename)
    log.debug("metadata of %s: fetched", file.filename)
    bucket = client.cache.bucket(METADATA_BUCKET)
    client.later(partial(bucket.put, cache_key(file), meta.to_plain()))
    return meta


def pick_metadata_file(files: Sequence[DistFile]) -> DistFile:
    """The file of one version whose metadata is cheapest to get.

    A file with a PEP 658 metadata file, then a wheel (universal, then smallest),
    then an sdist.
    """
    if not files:
        raise ValueError("no files to choose from")

    def cost(file: DistFile) -> tuple[bool, bool, bool, float]:
        universal = file.filename.endswith("-none-any.whl")
        size = float(file.size) if file.size is not None else float("inf")
        return (not file.has_metadata_file, not file.is_wheel, not universal, size)

    return min(files, key=cost)


# -- fetching ------------------------------------------------------------------


def _metadata_bytes(client: IndexClient, file: DistFile) -> bytes:
    from xv.index import zipread  # the fetching modules load with the first fetch, not warm

    chooser = _Chooser(file.filename)
    if file.url.startswith("file:"):  # a find-links directory: read it in place
        return _from_wheel_file(Path(url2pathname(urlsplit(file.url).path)), chooser)
    if file.has_metadata_file:
        data = _from_metadata_file(client, file)
        if data is not None:
            return data
    try:
        source = _HttpRangeSource(client, file.url)
        found = zipread.read_member(source, chooser, suffix=b"/METADATA")
    except _NoRanges:
        import tempfile  # here: tempfile and shutil (bz2, lzma) cost ~25 ms of the first fetch

        with tempfile.TemporaryDirectory(prefix="xv-wheel-") as tmp:
            return _from_wheel_file(client.download(file, Path(tmp)), chooser)
    except zipread.ZipFormatError as exc:
        raise MetadataError(f"{file.filename}: {exc}", package=file.filename) from None
    if found is None:
        raise MetadataError(f"{file.filename}: no .dist-info/METADATA", package=file.filename)
    return found


def _from_metadata_file(client: IndexClient, file: DistFile) -> bytes | None:
    response = client.get(file.metadata_url)
    if response.status_code in (404, 410):
        return None  # advertised but absent: fall back to the wheel
    if response.status_code != 200:
        raise NetworkError(
            f"{redact_url(file.metadata_url)} answered HTTP {response.status_code}",
            redact_url(file.metadata_url),
        )
    data = response.content
    expected = (file.metadata_hashes or {}).get("sha256")
    if expected and digests.sha256(data).hexdigest() != expected.lower():
        raise MetadataError(
            f"{file.filename}: the metadata file's sha256 is {digests.sha256(data).hexdigest()},"
            f" the index says {expected}",
            package=file.filename,
        )
    return data


def _from_wheel_file(path: Path, chooser: _Chooser) -> bytes:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            wanted = chooser(archive.namelist())
            if wanted is None:
                raise MetadataError(f"{path.name}: no .dist-info/METADATA", package=path.name)
            return archive.read(wanted)
    except (zipfile.BadZipFile, OSError) as exc:
        raise MetadataError(
            f"{path.name}: not a readable wheel: {exc}", package=path.name
        ) from None


class _Chooser:
    """Picks ``<name>-<version>.dist-info/METADATA`` at the top level of a wheel."""

    def __init__(self, filename: str) -> None:
        try:
            self.project: str | None = parse_wheel_filename(filename)[0]
        except (InvalidWheelFilename, ValueError):
            self.project = None

    def __call__(self, names: Sequence[str]) -> str | None:
        candidates = [
            n
            for n in names
            if n.count("/") == 1
            and n.endswith("/METADATA")
            and n.split("/")[0].endswith(".dist-info")
        ]
        for name in candidates:
            dist = name.split("/")[0].removesuffix(".dist-info").rsplit("-", 1)[0]
            if self.project is not None and canonicalize_name(dist) == self.project:
                return name
        return candidates[0] if len(candidates) == 1 else None


@dataclass
class RangeStats:
    """Wheels whose metadata was read by range requests, and the requests made (for
    XV_FETCH_STATS; counted without a lock, so approximate under threads)."""

    wheels: int = 0
    requests: int = 0


RANGE_STATS = RangeStats()


class _NoRanges(Exception):
    """The server does not answer range requests with 206."""


class _HttpRangeSource:
    """:class:`zipread.RangeSource` over HTTP range requests, with retries."""

    def __init__(self, client: IndexClient, url: str) -> None:
        self.client = client
        self.url = url

    def tail(self, n: int) -> tuple[bytes, int]:
        RANGE_STATS.wheels += 1
        response_data, content_range = self._get(f"bytes=-{n}")
        total = _total_size(content_range, len(response_data))
        return response_data, total

    def read(self, start: int, end: int) -> bytes:
        return self._get(f"bytes={start}-{end - 1}")[0]

    def _get(self, spec: str) -> tuple[bytes, str]:
        from xv.index.http import raise_for_retry

        http = self.client.http
        RANGE_STATS.requests += 1

        def attempt() -> tuple[bytes, str]:
            response = http.request(self.url, {"Range": spec}, stream=True)
            try:
                raise_for_retry(response)
                if (
                    response.status_code in (200, 416)
                    or response.headers.get("Accept-Ranges") == "none"
                ):
                    raise _NoRanges(self.url)
                if response.status_code != 206:
                    raise NetworkError(
                        f"{redact_url(self.url)} answered HTTP {response.status_code}",
                        redact_url(self.url),
                    )
                return response.content, response.headers.get("Content-Range", "")
            finally:
                response.close()

        return http.with_retries(self.url, attempt)


def _total_size(content_range: str, fallback: int) -> int:
    """``bytes 100-199/1234`` -> 1234."""
    _, _, total = content_range.rpartition("/")
    return int(total) if total.strip().isdigit() else fallback


# -- the pool ------------------------------------------------------------------


def file_to_plain(file: DistFile) -> tuple[Any, ...]:
    return (
        file.filename,
        file.url,
        file.hashes,
        file.requires_python,
        file.yanked,
        file.upload_time,
        file.size,
        file.metadata_hashes,
    )


def file_from_plain(obj: Sequence[Any]) -> DistFile:
    return DistFile(*obj)


_ERRORS: dict[str, type[XvError]] = {
    "offline": OfflineError,
    "network": NetworkError,
    "hash": HashMismatchError,
    "metadata": MetadataError,
}


def fetch_metadata_job(
    settings: IndexSettings, cache: Cache, file_plain: tuple[Any, ...]
) -> tuple[Any, ...]:
    """Worker job: ``("ok", core_plain)``, ``("unavailable", reason)`` or ``("error", kind, msg)``."""
    file = file_from_plain(file_plain)
    try:
        result = get_metadata(client_for(settings, cache), file)
    except XvError as exc:
        kind = next((k for k, cls in _ERRORS.items() if isinstance(exc, cls)), "metadata")
        return ("error", kind, str(exc))
    if isinstance(result, Unavailable):
        return ("unavailable", result.reason)
    return ("ok", result.to_plain())


def result_from_plain(obj: Sequence[Any], file: DistFile) -> MetadataResult | Exception:
    """Inverse of what :func:`fetch_metadata_job` returns."""
    if obj[0] == "ok":
        return CoreMetadata.from_plain(obj[1])
    if obj[0] == "unavailable":
        return Unavailable(str(obj[1]))
    cls = _ERRORS.get(str(obj[1]), MetadataError)
    if issubclass(cls, NetworkError):
        return cls(str(obj[2]), redact_url(file.url))
    return cls(str(obj[2]), file.filename)


def prefetch_metadata(
    client: IndexClient,
    files: Sequence[DistFile],
    pool: WorkerPool,
    threads_per_worker: int = 1,
) -> dict[str, MetadataResult | Exception]:
    """Metadata of many files by URL; cache hits first, only misses go to ``pool``.

    With ``threads_per_worker`` above 1 the misses are cut into one slice per
    worker and each worker fetches its slice on that many threads: fetching is
    mostly waiting on a few small requests per wheel, which a handful of
    processes alone would leave idle.
    """
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
    remember_client(client)  # thread and serial pools reuse this client
    todo = list(misses.values())
    slices = [todo[i :: pool.workers] for i in range(min(pool.workers, len(todo)))]
    if threads_per_worker <= 1:
        slices = [[file] for file in todo]
    jobs = [
        (client.settings, client.cache, [file_to_plain(f) for f in part], threads_per_worker)
        for part in slices
    ]
    # Each file's own line comes from get_metadata, in the workers (shown when they are
    # threads of this process, as with XV_POOL=thread).
    log.debug("metadata: fetching %d files in %d worker job(s)", len(todo), len(jobs))
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
    settings: IndexSettings, cache: Cache, plains: list[tuple[Any, ...]], threads: int
) -> list[tuple[Any, ...]]:
    """Worker job: :func:`fetch_metadata_job` for each file, on up to ``threads`` threads."""
    if len(plains) == 1 or threads <= 1:
        return [fetch_metadata_job(settings, cache, p) for p in plains]
    return thread_map(lambda p: fetch_metadata_job(settings, cache, p), plains, threads)
