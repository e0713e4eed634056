"""Preparing a sync plan's wheels: one pool job per package, so each download starts
as soon as its project page arrives.

Each job chooses the file (:mod:`xv.sync.choose`), refuses one whose index hash
contradicts the lock's ``--hash``, downloads what the cache lacks into
``wheels-v1/<sha256>/`` (verified while streaming), checks lock hashes the index could
not vouch for, and unpacks the wheel once into ``archives-v1/<sha256>/``. A wheel whose
archive exists costs nothing. Pins that have only an sdist are built afterwards, side by
side, through the caller's ``build``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from xv.cache import Cache, CacheBucket
from xv.env.interpreter import Interpreter
from xv.env.target import Target
from xv.errors import HashMismatchError, InstallError, NetworkError, XvError
from xv.install.archive import (
    archive_wheel_name,
    discard_archive,
    file_sha256,
    unpack_wheel_to_archive,
    verify_archive,
)
from xv.sync.choose import BuildSdist, NeedsBuild, choose, platform_of, target_of
from xv.sync.hashes import Fetch, check_hashes
from xv.sync.plan import Wanted
from xv.sync.policy import ANY_FILE, FilePolicy

# The index client (and the pool it brings) loads when a pin needs its page: a hashed
# lock whose wheels are all in the cache is installed without either.
if TYPE_CHECKING:
    from xv.index.client import IndexClient, IndexSettings
    from xv.index.simple import DistFile

WHEELS_BUCKET = CacheBucket.WHEELS
ARCHIVES_BUCKET = CacheBucket.ARCHIVES

#: ``progress(phase, done, total)`` with phase ``"prepare"`` or ``"install"``.
Progress = Callable[[str, int, int], None]


class Clients:
    """The index client of a sync, made on first use (a hashed lock whose wheels are all in
    the cache needs none)."""

    def __init__(self, cache: Cache, make: Callable[[], IndexClient]) -> None:
        self.cache = cache
        self._make = make
        self._client: IndexClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, client: IndexClient) -> Clients:
        return cls(client.cache, lambda: client)

    def get(self) -> IndexClient:
        with self._lock:
            if self._client is None:
                self._client = self._make()
            return self._client


def from_cache(want: Wanted, target: Target, tags: tuple[str, ...], cache_root: Path) -> str | None:
    """The archive of a hashed pin found in the cache without its project page, as uv's
    installer takes a cached wheel: the best (by the target's tags) of the verified trees
    named by the pin's sha256 ``--hash`` values whose wheel is the pin's and fits the
    target (tags, Requires-Python); else the wheel built before from a hashed sdist of the
    pin. The lock's hash is the tree's name, so the bytes are those the lock allows. None
    when nothing fits: the pin goes the page's way."""
    if want.url is not None or want.files:
        return None
    shas = sorted({h[7:].lower() for h in want.hashes if h.startswith("sha256:")})
    archives = os.path.join(cache_root, ARCHIVES_BUCKET)
    fits = []
    for sha in shas:
        found = archive_wheel_name(os.path.join(archives, sha))
        if found is None:
            continue
        filename, requires_python = found
        try:
            name, version = parse_wheel_filename(filename)[:2]
        except InvalidWheelFilename:
            continue
        rank = target.wheel_priority(filename)
        if name != want.canonical_name or version != want.version or rank is None:
            continue
        if target.allows_requires_python(requires_python):
            fits.append((rank, sha))
    for _, sha in sorted(fits):
        if verify_archive(os.path.join(archives, sha)):
            return os.path.join(archives, sha)
    return _built_before(shas, tags, cache_root)


def _built_before(shas: Sequence[str], tags: tuple[str, ...], cache_root: Path) -> str | None:
    from xv.build.wheels import built_wheel  # light: finds a wheel, loads no frontend

    for sha in shas:
        wheel = built_wheel(cache_root, sha, tags)
        if wheel is not None:
            try:
                return unpack_wheel_to_archive(str(wheel), str(cache_root / ARCHIVES_BUCKET))
            except InstallError:
                return None  # the usual way rebuilds it
    return None


def prepare(
    wanted: Sequence[Wanted],
    interp: Interpreter,
    clients: Clients,
    progress: Progress | None = None,
    *,
    download: bool = True,
    full_check: bool = False,
    build: BuildSdist | None = None,
    policy: FilePolicy = ANY_FILE,
) -> tuple[dict[str, str], int]:
    """Archive directories by name, and how many wheels needed work (download or unpack).

    One job per package runs its whole pipeline (project page, file choice, hash
    check, download, unpack), so downloads start as soon as their page arrives.
    The jobs run on threads unless ``XV_POOL`` says otherwise: they wait on the
    network, and hashing, inflating and writing release the GIL (on this
    project's benchmark threads beat processes, which pay for a start-up, a
    re-import and fresh connections). Raises the first failure, in pin order.
    Without ``download``, the jobs stop after the checks (for a dry run).
    """
    assert clients.cache.enabled
    if not wanted:
        return {}, 0
    done, total = 0, len(wanted)

    def report(index: int, result: Any) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress("prepare", done, total)

    target, platform = target_of(interp), platform_of(interp)
    cached: dict[str, str] = {}
    if download and not full_check and policy == ANY_FILE:  # --refresh, --reinstall: the page
        for want in wanted:
            found = from_cache(want, target, interp.tags, _root(clients.cache))
            if found is not None:
                cached[want.canonical_name] = found
                report(len(cached), None)
        wanted = [w for w in wanted if w.canonical_name not in cached]
        if not wanted:
            return cached, 0
    from xv.index.client import remember_client
    from xv.pool import ENV_POOL_KIND, PoolKind, WorkerPool

    client = clients.get()
    settings = client.settings
    jobs = [
        (w, target, platform, settings, client.cache, full_check, policy, download) for w in wanted
    ]
    kind: PoolKind | None = None if os.environ.get(ENV_POOL_KIND) else "thread"
    # The pool's default for I/O work (2 per CPU, 4 to 16): more threads only add
    # contention for the GIL while pages are decoded and wheels unpacked.
    with WorkerPool(kind=kind, work="io", preload=[__name__]) as pool:
        if pool.kind != "process":
            remember_client(client)
        results = pool.map(prepare_one, jobs, on_result=report)
    archives: dict[str, str] = dict(cached)
    built = 0
    needs = [
        (want, r.exception.sdist)
        for want, r in zip(wanted, results, strict=True)
        if not r.ok and isinstance(r.exception, NeedsBuild)
    ]
    # A dry run checks that a build is allowed, but builds nothing.
    made = _build_all(build, needs) if download and build is not None else {}
    for want, result in zip(wanted, results, strict=True):
        if not result.ok and isinstance(result.exception, NeedsBuild) and build is not None:
            if download:
                archive = made[want.canonical_name]
                if isinstance(archive, XvError):
                    raise archive  # the failures are raised in pin order, builds or not
                archives[want.canonical_name] = archive
                built += 1
            continue
        if not result.ok:
            if isinstance(result.exception, XvError):
                raise result.exception
            raise InstallError(f"Failed to prepare {want.canonical_name}: {result.error}")
        archives[want.canonical_name] = result.value[0]
    return archives, built + sum(1 for r in results if r.ok and r.value[1])


def _build_all(
    build: BuildSdist, needs: Sequence[tuple[Wanted, DistFile]]
) -> dict[str, str | XvError]:
    """The sdists of ``needs`` built side by side (the frontend runs one hook per CPU)."""
    from xv.pool import cpu_count, thread_map

    def one(item: tuple[Wanted, DistFile]) -> str | XvError:
        try:
            return build(*item)
        except XvError as exc:
            return exc

    found = thread_map(one, needs, cpu_count())
    return {want.canonical_name: got for (want, _), got in zip(needs, found, strict=True)}


def prepare_one(
    want: Wanted,
    target: Target,
    platform: str,
    settings: IndexSettings,
    cache: Cache,
    full_check: bool = False,
    policy: FilePolicy = ANY_FILE,
    download: bool = True,
) -> tuple[str, bool]:
    """Pool job: ``(archive directory, whether it had to be downloaded or unpacked)``.

    A cached archive is used when its manifest verifies (see
    :func:`xv.install.archive.verify_archive` for what that proves): the same files, sizes
    and mtimes, and every file's hash with ``full_check`` (``--reinstall``, ``--refresh``).
    A pin's ``--hash`` is checked against the wheel's sha256, which names the archive and
    was verified before its manifest was written, so a hashed lock reads no cached byte
    again. Without ``download`` (a dry run) the job stops after the checks that need no
    download: ``("", False)``.
    """
    from xv.index.client import client_for

    fetch = choose(want, client_for(settings, cache), target, platform, policy)
    local = _local_file(fetch.url)
    if local is not None and not local.is_file():
        raise InstallError(
            f"Failed to prepare {fetch.name} ({fetch.filename}): {local} does not exist",
            fetch.name,
        )
    if not download:
        return "", False
    full = full_check
    ready = Path(_root(cache), ARCHIVES_BUCKET, fetch.sha256) if fetch.sha256 else None
    if ready is not None and not fetch.lock_hashes:
        if verify_archive(ready, full=full):
            return str(ready), False
        discard_archive(ready)  # damaged, or from before manifests: rebuilt from the wheel
    try:
        archive = fetch_wheel(
            settings, cache, fetch.name, fetch.filename, fetch.url,
            dict(fetch.index_hashes), fetch.lock_hashes, full,
        )  # fmt: skip
    except HashMismatchError as exc:
        if str(exc).startswith("Hash mismatch"):
            raise
        message = f"Hash mismatch for {fetch.name}: {exc}"
        raise HashMismatchError(message, fetch.name) from None
    except XvError as exc:
        raise _fetch_error(fetch, exc) from None
    except OSError as exc:
        raise InstallError(f"Failed to prepare {fetch.name} ({fetch.filename}): {exc}") from None
    return archive, True


def fetch_wheel(
    settings: IndexSettings,
    cache: Cache,
    name: str,
    filename: str,
    url: str,
    index_hashes: dict[str, str],
    lock_hashes: tuple[str, ...],
    full_check: bool = False,
) -> str:
    """Pool job: the wheel's archive directory, downloading and unpacking as needed.

    A cached wheel that fails its index hash, the lock's hashes or unpacking is damaged:
    it is deleted and downloaded once more, so the cache heals instead of failing forever.
    """
    from xv.index.client import client_for
    from xv.index.simple import DistFile

    cache_root = _root(cache)
    archives = str(cache_root / ARCHIVES_BUCKET)
    local = _local_file(url)
    if local is not None:
        check_hashes(name, local, [f"sha256:{index_hashes['sha256']}"] if "sha256" in index_hashes else [])  # fmt: skip
        check_hashes(name, local, lock_hashes)
        return unpack_wheel_to_archive(str(local), archives, full_check=full_check)
    key = index_hashes.get("sha256") or "url-" + hashlib.sha256(url.encode()).hexdigest()[:32]
    path = Path(cache_root, WHEELS_BUCKET, key, filename)
    cached = path.is_file() and (
        "sha256" not in index_hashes or file_sha256(str(path)) == index_hashes["sha256"]
    )
    for from_cache in (True, False) if cached else (False,):
        if not from_cache:
            path.unlink(missing_ok=True)
            client_for(settings, cache).download(DistFile(filename, url, index_hashes), path.parent)
        try:
            check_hashes(name, path, lock_hashes)
            # The index's sha256 was checked: while streaming, or just above for a cached file.
            known = index_hashes.get("sha256")
            return unpack_wheel_to_archive(str(path), archives, full_check=full_check, sha256=known)
        except (HashMismatchError, InstallError):
            if not from_cache:
                path.unlink(missing_ok=True)  # never keep a file the lock or unpacking refuses
                raise
    raise AssertionError("unreachable")


def _root(cache: Cache) -> Path:
    """Installing needs a cache on disk (xv-sync makes a temporary one for --no-cache)."""
    if cache.root is None:
        raise RuntimeError("installing needs an enabled cache")
    return cache.root


def _local_file(url: str) -> Path | None:
    if url.startswith("file:"):
        from urllib.request import url2pathname  # loads http.client and ssl: only here

        return Path(url2pathname(urlsplit(url).path))
    return Path(url) if "://" not in url else None


def _fetch_error(fetch: Fetch, exc: XvError) -> XvError:
    """One clear error naming the package, keeping the failure's type (and exit code)."""
    if isinstance(exc, NetworkError):
        return NetworkError(f"Failed to download {fetch.name} ({fetch.filename}): {exc}")
    return InstallError(f"Failed to prepare {fetch.name} ({fetch.filename}): {exc}", fetch.name)
