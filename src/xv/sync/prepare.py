"""Preparing a sync plan's wheels: fetch jobs per package, so each download starts as
soon as its project page arrives, and unpack jobs fed as each download completes.

Each fetch job chooses the file (:mod:`xv.sync.choose`), refuses one whose index hash
contradicts the lock's ``--hash``, downloads what the cache lacks into
``wheels-v1/<sha256>/`` (verified while streaming), checks lock hashes the index could
not vouch for; only then is the wheel handed to an unpack job, which unpacks it once
into ``archives-v1/<sha256>/`` (every member checked against RECORD). Nothing from a
wheel is read before all of its bytes were checked: a zip's directory is at its end,
and a wheel that fails its hash must never reach the unpacker. A wheel whose archive
exists costs nothing. Pins that have only an sdist are built afterwards, side by side,
through the caller's ``build``.

Why the unpackers are processes (one per CPU) when there are many wheels: on threads,
they and the fetchers wait on each other's hold of the GIL. The 325-pin lock of
``benchmarks/bench_sync.py`` (2 CPUs, cache and environment on tmpfs) synced cold in
10.4 s on threads, 7.0 s on processes; the 27-pin web lock in 1.0 s and 0.9 s. A few
wheels unpack on threads: a process pool's start (~0.1 s) would cost more than it saves.
``XV_POOL`` (``thread``, ``process``) chooses for every sync.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from packaging.version import InvalidVersion, Version

from xv import digests
from xv.cache import Cache, CacheBucket
from xv.env.interpreter import Interpreter
from xv.env.tagtext import wheel_parts
from xv.env.target import Target
from xv.errors import HashMismatchError, InstallError, NetworkError, XvError
from xv.install.archive import (
    archive_wheel_name,
    discard_archive,
    file_sha256,
    unpack_wheel_to_archive,
    verify_archive,
)
from xv.names import canonicalize_name
from xv.records import record
from xv.sync.choose import BuildSdist, NeedsBuild, choose, platform_of, target_of
from xv.sync.hashes import Fetch, check_hashes
from xv.sync.plan import Wanted
from xv.sync.policy import ANY_FILE, FilePolicy
from xv.sync.unpack import unpack_job

# The index client (and the pool it brings) loads when a pin needs its page: a hashed
# lock whose wheels are all in the cache is installed without either.
if TYPE_CHECKING:
    from concurrent.futures import Future

    from xv.index.client import IndexClient, IndexSettings
    from xv.index.simple import DistFile
    from xv.pool import JobResult, PoolKind, WorkerPool

WHEELS_BUCKET = CacheBucket.WHEELS
ARCHIVES_BUCKET = CacheBucket.ARCHIVES

#: ``progress(phase, done, total)`` with phase ``"prepare"`` or ``"install"``.
Progress = Callable[[str, int, int], None]
#: ``foresee(pin, archive)``: the tree a cached pin will likely be installed from; then
#: ``foresee(pin, None)`` if it is not (its verification failed).
Foresee = Callable[[Wanted, str | None], None]


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


def from_cache(
    want: Wanted,
    target: Target,
    tags: tuple[str, ...],
    cache_root: Path,
    present: frozenset[str] | None = None,
    *,
    verify: bool = True,
) -> str | None:
    """The archive of a hashed pin found in the cache without its project page, as uv's
    installer takes a cached wheel: the best (by the target's tags) of the verified trees
    named by the pin's sha256 ``--hash`` values whose wheel is the pin's and fits the
    target (tags, Requires-Python); else the wheel built before from a hashed sdist of the
    pin. The lock's hash is the tree's name, so the bytes are those the lock allows. None
    when nothing fits: the pin goes the page's way. ``present``: the names in the archive
    bucket, when the caller listed it (the others are not looked for). Without ``verify``,
    a guess: the tree chosen if it verifies (no built wheel is looked for)."""
    if want.url is not None or want.files:
        return None
    shas = _sha256s(want)
    archives = os.path.join(cache_root, ARCHIVES_BUCKET)
    fits = []
    for sha in shas:
        if present is not None and sha not in present:
            continue
        found = archive_wheel_name(os.path.join(archives, sha))
        if found is None:
            continue
        filename, requires_python = found
        rank = target.wheel_priority(filename)
        if rank is None or not _names_pin(filename, want):
            continue
        if target.allows_requires_python(requires_python):
            fits.append((rank, sha))
    if not verify:
        return os.path.join(archives, min(fits)[1]) if fits else None
    for _, sha in sorted(fits):
        if verify_archive(os.path.join(archives, sha)):
            return os.path.join(archives, sha)
    return _built_before(shas, tags, cache_root)


def _sha256s(want: Wanted) -> list[str]:
    """The pin's sha256 ``--hash`` values (the names of its possible cached trees)."""
    return sorted({h[7:].lower() for h in want.hashes if h.startswith("sha256:")})


FORK_FROM_PINS = 32  # fewer cached trees verify in ~30 ms: not worth forking for


def _from_cache_all(
    wanted: Sequence[Wanted],
    target: Target,
    interp: Interpreter,
    clients: Clients,
    meanwhile: Foresee | None = None,
) -> list[str | None]:
    """:func:`from_cache` of every pin; on forked workers (:mod:`xv.forked`) when many
    have a tree in the cache: verifying is a ``stat`` of every cached file (43,000 for a
    325-pin lock, 0.30 s on one CPU), and threads would wait on each other's Python
    between the calls. The archive bucket is listed once, instead of a ``stat`` for each
    of the lock's hashes (5,500 for those 325 pins); a cold sync forks nothing.

    While the workers verify, this process hands ``meanwhile`` each pin's likely tree
    (the one chosen if it verifies): the caller validates them in that time. A guess the
    verification did not confirm is taken back (``meanwhile(pin, None)``)."""
    from xv import forked

    root = _root(clients.cache)
    try:
        present = frozenset(os.listdir(os.path.join(root, ARCHIVES_BUCKET)))
    except OSError:
        present = frozenset()
    cached = sum(1 for w in wanted if not present.isdisjoint(_sha256s(w)))
    workers = forked.workers_for(cached >= FORK_FROM_PINS)
    tags = interp.tags
    pending = forked.start_map(lambda w: from_cache(w, target, tags, root, present), wanted, workers)  # fmt: skip
    if meanwhile is None or not pending.forked:
        return pending.results()
    guesses = []
    for want in wanted:  # each guess validated at once: its manifest is decoded just now
        guess = from_cache(want, target, tags, root, present, verify=False)
        guesses.append(guess)
        if guess is not None:
            meanwhile(want, guess)
    found = pending.results()
    for want, guess, verified in zip(wanted, guesses, found, strict=True):
        if guess is not None and verified != guess:
            meanwhile(want, None)  # that tree failed its verification: not that one
    return found


def _names_pin(filename: str, want: Wanted) -> bool:
    """Whether a cached archive's wheel file name names the pin (its name normalised, its
    version equal). Read from the name's parts, not by packaging.utils, which loads
    packaging.tags: the installer checks METADATA and the .dist-info against the pin too."""
    parts = wheel_parts(filename)
    if parts is None or canonicalize_name(parts[0]) != want.canonical_name:
        return False
    try:
        return Version(parts[1]) == want.version
    except InvalidVersion:
        return False


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


@record
class Fetched:
    """A wheel on disk whose bytes were checked against the index's hash (while streaming,
    or by hashing the cached file) and the lock's ``--hash`` values: only such a file is
    handed to the unpackers."""

    name: str
    filename: str
    wheel: str
    sha256: str | None  # the wheel's digest, when the check computed it
    from_cache: bool  # from an earlier run: if unpacking fails, download it once more
    local: bool = False  # the user's own file (a path or file: URL): never deleted


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
    foresee: Foresee | None = None,
) -> tuple[dict[str, str], int]:
    """Archive directories by name, and how many wheels needed work (download or unpack).
    ``foresee`` hears of cached trees while they are verified (see :func:`_from_cache_all`),
    and of trees unpacked while others are still being fetched and unpacked.

    Two stages overlap. Fetchers (threads: they wait on the network) run each
    package's project page, file choice, hash checks and download, so a download
    starts as soon as its page arrives; each verified wheel goes at once to the
    unpackers (one per CPU), while other downloads go on. Raises the first failure,
    in pin order. Without ``download``, the fetchers stop after the checks (a dry run).
    """
    assert clients.cache.enabled
    if not wanted:
        return {}, 0
    target, platform = target_of(interp), platform_of(interp)
    tick = _ticker(progress, len(wanted))
    cached: dict[str, str] = {}
    if download and not full_check and policy == ANY_FILE:  # --refresh, --reinstall: the page
        for want, found in zip(wanted, _from_cache_all(wanted, target, interp, clients, foresee), strict=True):  # fmt: skip
            if found is not None:
                cached[want.canonical_name] = found
                tick(-len(cached))  # indexes below 0: the pins the cache answered
        wanted = [w for w in wanted if w.canonical_name not in cached]
        if not wanted:
            return cached, 0
    from xv.index.client import remember_client
    from xv.pool import WorkerPool, workers_from_env

    client = clients.get()
    settings = client.settings
    jobs = [
        (w, target, platform, settings, client.cache, full_check, policy, download) for w in wanted
    ]
    archives = str(_root(client.cache) / ARCHIVES_BUCKET)
    submitted: dict[int, tuple[Future[Any], tuple[Any, ...]]] = {}
    with (
        WorkerPool(workers_from_env() or FETCHERS, kind="thread") as fetchers,
        WorkerPool(kind=_unpack_kind(len(wanted)), work="cpu", preload_main=False) as unpackers,
    ):
        remember_client(client)

        unpacked_now: deque[int] = deque()  # appended by the unpackers' threads

        def fetched(index: int, result: JobResult) -> None:
            if result.ok and isinstance(result.value[0], Fetched):
                got = result.value[0]
                args = (got.wheel, archives, full_check, got.sha256)
                future = unpackers.submit(unpack_job, *args)
                submitted[index] = (future, args)
                future.add_done_callback(partial(_note_done, unpacked_now, index))
            else:
                tick(index)
            while unpacked_now:  # progress is reported from this thread only
                done = unpacked_now.popleft()
                tick(done)
                if foresee is not None:
                    _foresee_unpacked(foresee, jobs[done][0], submitted[done][0])

        # The unpackers start while the first pages and wheels arrive (see WorkerPool.warm),
        # their fork server from here (see WorkerPool.start_server).
        unpackers.start_server(unpack_job)
        threading.Thread(target=_warm, args=(unpackers,), daemon=True).start()
        results = fetchers.map(fetch_one, jobs, on_result=fetched)
        order = sorted(submitted)
        unpacked = unpackers.outcomes(unpack_job, [submitted[i] for i in order])
    for index, outcome in zip(order, unpacked, strict=True):
        tick(index)
        results[index] = _finish(jobs[index], results[index].value[0], outcome)
    prepared, worked = _collect(wanted, results, build, download)
    return {**cached, **prepared}, worked


FETCHERS = 8  # concurrent downloads: they wait on the network, the unpackers on the disk


UNPACK_PROCESSES_FROM = 8  # wheels to fetch: from this many, unpacked by processes


def _unpack_kind(wheels: int) -> PoolKind:
    """Processes for many wheels, threads for a few, unless ``XV_POOL`` says (see the
    module's notes)."""
    from xv.pool import ENV_POOL_KIND, kind_from_env

    if os.environ.get(ENV_POOL_KIND):
        return kind_from_env()
    return "process" if wheels >= UNPACK_PROCESSES_FROM else "thread"


def _warm(unpackers: WorkerPool) -> None:
    """:meth:`WorkerPool.warm` for the unpack jobs; a failure to start is left for the first
    job's submit to meet (and report)."""
    try:
        unpackers.warm(unpack_job)
    except Exception:
        pass


def _foresee_unpacked(foresee: Foresee, want: Wanted, unpacked: Future[Any]) -> None:
    """Hand ``foresee`` a tree just unpacked, while the other wheels are still on their
    way: its validation then overlaps theirs, instead of following the last of them (the
    parent's 0.26 s for a 325-pin lock, on one CPU while the other waited). Anything
    it raises is ignored: the tree is validated again after the prepare step unless the
    early validation holds (see :class:`xv.sync.apply.Early`)."""
    try:
        archive = unpacked.result(timeout=0)
        if isinstance(archive, str):
            foresee(want, archive)
    except Exception:  # a failed unpack, reported by the prepare step itself
        pass


def _note_done(into: deque[int], index: int, _: Future[Any]) -> None:
    into.append(index)  # deque.append is atomic: safe from the executor's thread


def _ticker(progress: Progress | None, total: int) -> Callable[[int], None]:
    """``tick(index)``: report one more package prepared (each index once)."""
    seen: set[int] = set()

    def tick(index: int) -> None:
        if index not in seen:
            seen.add(index)
            if progress is not None:
                progress("prepare", len(seen), total)

    return tick


def _collect(
    wanted: Sequence[Wanted], results: list[JobResult], build: BuildSdist | None, download: bool
) -> tuple[dict[str, str], int]:
    """The archives by name, after building the sdist-only pins; the first failure raised."""
    archives: dict[str, str] = {}
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
    """``(archive directory, whether it had to be downloaded or unpacked)``: one package's
    whole pipeline in this thread (:func:`fetch_one`, then the unpack)."""
    job = (want, target, platform, settings, cache, full_check, policy, download)
    got, worked = fetch_one(*job)
    if not isinstance(got, Fetched):
        return got, worked
    archives = str(_root(cache) / ARCHIVES_BUCKET)
    outcome = _run(unpack_job, (got.wheel, archives, full_check, got.sha256))
    result = _finish(job, got, outcome)
    if not result.ok:
        assert result.exception is not None
        raise result.exception
    return result.value  # type: ignore[no-any-return]


def fetch_one(
    want: Wanted,
    target: Target,
    platform: str,
    settings: IndexSettings,
    cache: Cache,
    full_check: bool = False,
    policy: FilePolicy = ANY_FILE,
    download: bool = True,
    *,
    use_cache: bool = True,
) -> tuple[str | Fetched, bool]:
    """Pool job: ``(archive directory, False)`` when a cached archive serves, else
    ``(Fetched, True)``: the wheel downloaded (or found in the cache) and verified.

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
    ready = Path(_root(cache), ARCHIVES_BUCKET, fetch.sha256) if fetch.sha256 else None
    if ready is not None and not fetch.lock_hashes and use_cache:
        if verify_archive(ready, full=full_check):
            return str(ready), False
        discard_archive(ready)  # damaged, or from before manifests: rebuilt from the wheel
    try:
        return verified_wheel(settings, cache, fetch, use_cache), True
    except (XvError, OSError) as exc:
        raise _prepare_error(fetch.name, fetch.filename, exc) from None


def verified_wheel(settings: IndexSettings, cache: Cache, fetch: Fetch, use_cache: bool) -> Fetched:
    """The pin's wheel on disk, checked against the index's sha256 and the lock's hashes.

    A cached wheel that fails a check is deleted and downloaded once more, so the cache
    heals instead of failing forever; a download that fails one is deleted (never kept).
    """
    name, index_hashes, lock_hashes = fetch.name, dict(fetch.index_hashes), fetch.lock_hashes
    local = _local_file(fetch.url)
    if local is not None:
        check_hashes(name, local, [f"sha256:{index_hashes['sha256']}"] if "sha256" in index_hashes else [])  # fmt: skip
        check_hashes(name, local, lock_hashes)
        return Fetched(name, fetch.filename, str(local), None, False, local=True)
    key = index_hashes.get("sha256") or "url-" + digests.sha256(fetch.url.encode()).hexdigest()[:32]
    path = Path(_root(cache), WHEELS_BUCKET, key, fetch.filename)
    # The index's sha256 is checked here for a cached file, while streaming for a download.
    known = index_hashes.get("sha256")
    if use_cache and path.is_file() and (known is None or file_sha256(str(path)) == known):
        try:
            check_hashes(name, path, lock_hashes)
            return Fetched(name, fetch.filename, str(path), known, True)
        except HashMismatchError:
            pass
    path.unlink(missing_ok=True)
    from xv.index.client import client_for
    from xv.index.simple import DistFile

    client_for(settings, cache).download(DistFile(fetch.filename, fetch.url, index_hashes), path.parent)  # fmt: skip
    try:
        check_hashes(name, path, lock_hashes)
    except HashMismatchError:
        path.unlink(missing_ok=True)  # never keep a file the lock refuses
        raise
    return Fetched(name, fetch.filename, str(path), known, False)


def _finish(job: tuple[Any, ...], got: Fetched, outcome: JobResult) -> JobResult:
    """The prepare result of a fetched wheel from its unpack's ``outcome``: a cached wheel
    that fails to unpack is downloaded once more; a fresh one is deleted, and fails."""
    from xv.pool import JobResult

    if outcome.ok:
        return JobResult.success((outcome.value, True))
    exc = outcome.exception if isinstance(outcome.exception, XvError | OSError) else None
    if got.from_cache and isinstance(exc, InstallError):
        Path(got.wheel).unlink(missing_ok=True)
        try:
            again = fetch_one(*job, use_cache=False)[0]
            assert isinstance(again, Fetched)
            archives = str(_root(job[4]) / ARCHIVES_BUCKET)
            outcome = _run(unpack_job, (again.wheel, archives, job[5], again.sha256))
            if outcome.ok:
                return JobResult.success((outcome.value, True))
            got = again
            exc = outcome.exception if isinstance(outcome.exception, XvError | OSError) else None
        except XvError as failed:
            return JobResult.failure(failed)
    if not got.local:
        Path(got.wheel).unlink(missing_ok=True)  # never keep a file unpacking refuses
    if exc is None:
        exc = InstallError(outcome.error or "unpacking failed")
    return JobResult.failure(_prepare_error(got.name, got.filename, exc))


def _run(fn: Callable[..., str], args: tuple[Any, ...]) -> JobResult:
    from xv.pool import JobResult

    try:
        return JobResult.success(fn(*args))
    except Exception as exc:
        return JobResult.failure(exc)


def _prepare_error(name: str, filename: str, exc: XvError | OSError) -> XvError:
    """One clear error naming the package, keeping the failure's type (and exit code)."""
    if isinstance(exc, HashMismatchError):
        if str(exc).startswith("Hash mismatch"):
            return exc
        return HashMismatchError(f"Hash mismatch for {name}: {exc}", name)
    if isinstance(exc, NetworkError):
        return NetworkError(f"Failed to download {name} ({filename}): {exc}")
    return InstallError(f"Failed to prepare {name} ({filename}): {exc}", name)


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
