"""Applying a sync plan: prepare everything, then change the environment.

1. **Prepare**, one job per package on the worker pool (threads by default),
   so each download starts as soon as its project page arrives: choose the
   best wheel of the pinned version for the target's tags (an sdist alone is
   refused: building is not supported yet) or take the pin's wheel URL; refuse
   a file whose index hash contradicts the lock's ``--hash``; download what
   the cache lacks into ``wheels-v1/<sha256>/`` (verified while streaming),
   check lock hashes the index could not vouch for, and unpack the wheel once
   into ``archives-v1/<sha256>/``. A wheel whose archive exists costs nothing.
2. **Validate** every archive against its pin and the target
   (``xv.install.validate``): one bad wheel stops the sync before any change.
3. **Install** only when every archive is ready and valid: dependencies before their
   dependents (read from the archives' metadata), so an interrupted run leaves
   each visible distribution's requirements in place; upgrades install over
   the old version before removing its leftovers; removals come last, each
   distribution before those it requires. Every step is journalled inside the
   environment first (``xv.install.journal``), so the next run finishes an
   interrupted one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from xv.cache import Cache, CacheBucket
from xv.env.installed import InstalledDist, metadata_headers
from xv.env.interpreter import Interpreter
from xv.env.target import Target, interpreter_target
from xv.errors import HashMismatchError, InstallError, NetworkError, XvError
from xv.index.client import IndexClient, IndexSettings, client_for, remember_client
from xv.index.pageform import files_of_version
from xv.index.simple import DistFile, ProjectPage
from xv.install import compile_bytecode, install_from_archive, owned_files, uninstall, upgrade
from xv.install.archive import (
    discard_archive,
    file_sha256,
    unpack_wheel_to_archive,
    verify_archive,
)
from xv.install.journal import InstallStep, RemoveStep, Step, clear_journal, write_journal
from xv.install.place import InstalledRecord, planned_paths
from xv.install.validate import WheelLayout, validate_archive
from xv.pool import ENV_POOL_KIND, PoolKind, WorkerPool, cpu_count, thread_map
from xv.sync.hashes import Fetch, check_hashes, fetch_for
from xv.sync.plan import Plan, Wanted
from xv.sync.policy import ANY_FILE, FilePolicy

WHEELS_BUCKET = CacheBucket.WHEELS
ARCHIVES_BUCKET = CacheBucket.ARCHIVES

#: ``progress(phase, done, total)`` with phase ``"prepare"`` or ``"install"``.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ApplyOptions:
    """How files are placed (``--link-mode``) and whether bytecode is compiled."""

    link_mode: str = "hardlink"
    compile_bytecode: bool = False
    full_check: bool = False  # hash every cached file before use, not only sizes and mtimes
    # PEP 610 records of entries built from direct references (set by apply's ``ready``).
    direct_urls: Mapping[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplyReport:
    """What :func:`apply` did, for the summary lines.

    ``uninstall_seconds`` is the time spent removing the distributions no longer
    pinned; the old files of an upgrade or reinstall go in the same step that
    installs their replacement (so the package imports throughout), which is
    counted in ``install_seconds``.
    """

    prepared: int  # wheels that had to be downloaded or unpacked
    prepare_seconds: float
    installed: int
    uninstalled: int
    install_seconds: float
    uninstall_seconds: float = 0.0
    warnings: tuple[str, ...] = ()  # e.g. a RECORD listing paths outside the environment


def apply(
    plan: Plan,
    interp: Interpreter,
    client: IndexClient,
    options: ApplyOptions = ApplyOptions(),
    progress: Progress | None = None,
    *,
    ready: Mapping[str, tuple[str, dict[str, Any]]] | None = None,
    build: BuildSdist | None = None,
    policy: FilePolicy = ANY_FILE,
) -> ApplyReport:
    """Prepare every wheel the plan installs, then change the environment.

    ``ready`` maps names to archives already prepared (built from direct references)
    and their PEP 610 ``direct_url.json``; ``build`` makes the wheel of a pin that has
    only an sdist (without it such a pin is an error).

    Nothing in the environment changes unless every wheel is ready: a missing
    distribution, a hash mismatch or a failed download raises (InstallError,
    HashMismatchError, NetworkError) with the environment untouched.
    """
    if client.cache.root is None:
        raise ValueError("apply() needs a cache directory (a temporary one for --no-cache)")
    started = monotonic()
    wanted = [*plan.install, *(r.wanted for r in plan.reinstall)]
    ready = ready or {}
    todo = [w for w in wanted if w.canonical_name not in ready]
    archives, prepared = prepare(
        todo, interp, client, progress, full_check=options.full_check, build=build, policy=policy
    )
    archives.update({name: archive for name, (archive, _) in ready.items()})
    direct_urls = {name: info for name, (_, info) in ready.items()}
    options = dataclasses.replace(options, direct_urls=direct_urls)
    target, platform = target_of(interp), platform_of(interp)

    def rebuild(want: Wanted) -> str:
        if want.canonical_name in ready:  # built a moment ago: building again won't help
            raise InstallError(f"the wheel built for {want.canonical_name} is not valid")
        return prepare_one(want, target, platform, client.settings, client.cache, True, policy)[0]

    layouts = validate_all(wanted, archives, interp, rebuild)
    prepared_at = monotonic()
    warnings: list[str] = []
    records, removing = install(
        plan, archives, interp, options, progress, warnings.append, layouts=layouts
    )
    if options.compile_bytecode:
        compile_all(records, interp)
    return ApplyReport(
        prepared=prepared,
        prepare_seconds=prepared_at - started,
        installed=len(wanted),
        uninstalled=len(plan.remove) + len(plan.reinstall),
        install_seconds=monotonic() - prepared_at - removing,
        uninstall_seconds=removing,
        warnings=tuple(warnings),
    )


# -- choosing a file -----------------------------------------------------------


def target_of(interp: Interpreter) -> Target:
    """The resolver's view of the interpreter: its markers and wheel tags, best first."""
    return interpreter_target(interp)


def best_file(
    want: Wanted,
    page: ProjectPage | None,
    target: Target,
    platform: str,
    policy: FilePolicy = ANY_FILE,
) -> DistFile:
    """The best wheel of the pinned version for the target, or a clear InstallError
    (:class:`NeedsBuild` when the sdist is the file to use: no wheel, or ``--no-binary``)."""
    name = want.canonical_name
    spec = f"{name}=={want.version}"
    files = files_of_version(page, want.version) if page is not None else ()
    if not files:
        raise InstallError(f"{spec} was not found on the package index", name)
    files = tuple(f for f in files if policy.uploaded_in_time(f))
    if not files:
        raise InstallError(f"{spec} has no file uploaded before --exclude-newer", name)
    usable = []
    for f in files if policy.wheels_allowed(name) else ():
        rank = target.wheel_priority(f.filename) if f.is_wheel else None
        if rank is not None and target.allows_requires_python(f.requires_python):
            usable.append((rank, f.is_yanked, f))
    if usable:
        return min(usable, key=lambda item: item[:2])[2]
    sdists = [f for f in files if not f.is_wheel and f.filename.endswith((".tar.gz", ".zip"))]
    wheels = [f for f in files if f.is_wheel]
    if sdists and (not wheels or not policy.wheels_allowed(name)):
        if not policy.sdists_allowed(name):
            raise InstallError(f"{spec} has only an sdist, and --only-binary refuses it", name)
        raise NeedsBuild(
            f"{spec} is only available as a source distribution, which needs a build",
            name,
            sdists[0],
        )
    if not policy.wheels_allowed(name):
        raise InstallError(f"{spec} has no sdist, and --no-binary refuses its wheels", name)
    raise InstallError(
        f"{spec} has no wheel for this platform ({platform}); "
        f"available: {', '.join(sorted(f.filename for f in files))}",
        want.canonical_name,
    )


class NeedsBuild(InstallError):
    """A pin whose only file is an sdist: :func:`apply`'s ``build`` makes its wheel."""

    def __init__(self, message: str, package: str, sdist: DistFile) -> None:
        super().__init__(message, package)
        self.sdist = sdist

    def __reduce__(self) -> tuple[Any, ...]:  # from a process pool's worker, intact
        return (NeedsBuild, (str(self), self.package, self.sdist))


#: ``build(want, sdist) -> archive directory``: an sdist built into a wheel and unpacked.
BuildSdist = Callable[[Wanted, DistFile], str]


def platform_of(interp: Interpreter) -> str:
    markers = interp.markers
    return (
        f"{interp.implementation} {interp.python_version} on "
        f"{markers.get('sys_platform', '?')} {markers.get('platform_machine', '?')}"
    )


# -- prepare -------------------------------------------------------------------


def check(
    plan: Plan,
    interp: Interpreter,
    client: IndexClient,
    build: BuildSdist | None = None,
    policy: FilePolicy = ANY_FILE,
) -> None:
    """What a dry run does instead of :func:`apply`: every check of the prepare step
    (a usable wheel for the target, the lock's hashes against the index's, a local
    wheel present), raising as :func:`apply` would, but nothing is downloaded."""
    wanted = [*plan.install, *(r.wanted for r in plan.reinstall)]
    prepare(wanted, interp, client, download=False, build=build, policy=policy)


def prepare(
    wanted: Sequence[Wanted],
    interp: Interpreter,
    client: IndexClient,
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
    assert client.cache.enabled
    if not wanted:
        return {}, 0
    done = 0

    def report(index: int, result: Any) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress("prepare", done, len(wanted))

    target, platform = target_of(interp), platform_of(interp)
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


def choose(
    want: Wanted,
    client: IndexClient,
    target: Target,
    platform: str,
    policy: FilePolicy = ANY_FILE,
) -> Fetch:
    """The file to install for a pin (its wheel URL, or the best wheel on the index),
    with the lock's hashes checked against the index's."""
    if want.url is not None:
        filename = unquote(urlsplit(want.url).path.rsplit("/", 1)[-1])
        file = DistFile(filename, want.url)
    else:  # a pylock.toml lists the files to choose from; else the index's page
        page = (
            ProjectPage(want.canonical_name, want.files, "")
            if want.files
            else client.project_page(want.canonical_name, remember=False)
        )
        file = best_file(want, page, target, platform, policy)
    return fetch_for(want, file)


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
        return Path(url2pathname(urlsplit(url).path))
    return Path(url) if "://" not in url else None


def _fetch_error(fetch: Fetch, exc: XvError) -> XvError:
    """One clear error naming the package, keeping the failure's type (and exit code)."""
    if isinstance(exc, NetworkError):
        return NetworkError(f"Failed to download {fetch.name} ({fetch.filename}): {exc}")
    return InstallError(f"Failed to prepare {fetch.name} ({fetch.filename}): {exc}", fetch.name)


# -- validate ------------------------------------------------------------------


def validate_all(
    wanted: Sequence[Wanted],
    archives: dict[str, str],
    interp: Interpreter,
    rebuild: Callable[[Wanted], str],
) -> dict[str, WheelLayout]:
    """Check every prepared wheel against its pin and the target before anything changes;
    the layouts read, by name (the install uses them instead of reading each tree again).

    A cached archive that fails is rebuilt once from its wheel (``rebuild``): the cache
    may have been damaged (garbled RECORD, WHEEL, entry_points.txt) without its sizes
    and mtimes changing. A wheel that fails again is refused.
    """
    layouts: dict[str, WheelLayout] = {}
    for want in wanted:
        filename = None
        if want.url is not None and want.url.split("#", 1)[0].endswith(".whl"):
            filename = unquote(urlsplit(want.url).path.rsplit("/", 1)[-1])
        name = want.canonical_name
        args = (name, want.version, filename, interp.paths)
        try:
            layouts[name] = validate_archive(Path(archives[name]), *args)
        except InstallError:
            discard_archive(archives[name])
            archives[name] = rebuild(want)
            layouts[name] = validate_archive(Path(archives[name]), *args)
    return layouts


# -- install -------------------------------------------------------------------


def install(
    plan: Plan,
    archives: Mapping[str, str],
    interp: Interpreter,
    options: ApplyOptions,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    *,
    layouts: Mapping[str, WheelLayout] | None = None,
) -> tuple[list[InstalledRecord], float]:
    """Change the environment: installs in dependency order, then removals, dependents
    before their dependencies; every step journalled first (see ``install.journal``).

    Returns what was installed, and the seconds spent on the removals.
    """
    replaced: dict[str, InstalledDist] = {d.canonical_name: d for d in plan.remove}
    replaced.update({r.wanted.canonical_name: r.installed for r in plan.reinstall})
    wanted = {w.canonical_name: w for w in (*plan.install, *(r.wanted for r in plan.reinstall))}
    order = install_order(sorted(wanted), lambda name: requirements_of(archives[name]))
    removals = removal_order({n: replaced[n] for n in set(replaced) - set(wanted)})
    layouts = layouts or {}
    steps = journal_steps(order, removals, wanted, archives, replaced, interp, options, layouts)
    write_journal(interp, steps)
    records = []
    total = len(order) + len(removals)
    for done, name in enumerate(order, 1):
        records.append(
            _install_one(
                wanted[name],
                archives[name],
                replaced.get(name),
                interp,
                options,
                warn,
                layouts.get(name),
            )  # fmt: skip
        )
        if progress is not None:
            progress("install", done, total)
    removing_from = monotonic()
    for done, name in enumerate(removals, len(order) + 1):
        uninstall(replaced[name], interp, warn=warn)
        if progress is not None:
            progress("install", done, total)
    clear_journal(interp)
    return records, monotonic() - removing_from


def removal_order(dists: Mapping[str, InstalledDist]) -> list[str]:
    """Names to remove, each before the distributions it requires (the reverse of install
    order), so an interruption never leaves a distribution whose requirements are gone."""
    order = install_order(
        sorted(dists), lambda name: _requires_in(dists[name].dist_info_path / "METADATA")
    )
    return order[::-1]


def journal_steps(
    order: Sequence[str],
    removals: Sequence[str],
    wanted: Mapping[str, Wanted],
    archives: Mapping[str, str],
    replaced: Mapping[str, InstalledDist],
    interp: Interpreter,
    options: ApplyOptions,
    layouts: Mapping[str, WheelLayout] | None = None,
) -> list[Step]:
    """What :func:`install` will do, path by path, for the journal."""
    steps: list[Step] = []
    for name in order:
        old = replaced.get(name)
        olds = [old, *old.duplicates] if old is not None else []
        meta, targets = planned_paths(archives[name], interp, (layouts or {}).get(name))
        steps.append(
            InstallStep(
                name,
                archives[name],
                str(meta),
                tuple(targets),
                tuple(str(p) for d in olds for p in owned_files(d, missing_ok=True)),
                tuple(str(d.dist_info_path) for d in olds),
                _direct_url(wanted[name], archives[name], options),
                options.link_mode,
            )
        )
    for name in removals:
        dists = [replaced[name], *replaced[name].duplicates]
        files = tuple(str(p) for d in dists for p in owned_files(d))
        steps.append(RemoveStep(name, files, tuple(str(d.dist_info_path) for d in dists)))
    return steps


def _install_one(
    want: Wanted,
    archive: str,
    old: InstalledDist | None,
    interp: Interpreter,
    options: ApplyOptions,
    warn: Callable[[str], None] | None = None,
    layout: WheelLayout | None = None,
) -> InstalledRecord:
    direct_url = _direct_url(want, archive, options)
    # Every pin of the files was asked for (as uv pip sync marks them), dependencies too.
    extra: dict[str, Any] = {
        "link_mode": options.link_mode, "direct_url": direct_url, "requested": True,
        "layout": layout,
    }  # fmt: skip
    if old is None:
        return install_from_archive(archive, interp, **extra)
    return upgrade(old, archive, interp, warn, **extra)[0]


def _direct_url(want: Wanted, archive: str, options: ApplyOptions) -> dict[str, Any] | None:
    """PEP 610: what the build step recorded for a built entry, else the wheel URL's."""
    if want.canonical_name in options.direct_urls:
        return options.direct_urls[want.canonical_name]
    if want.url is None:
        return None
    digest = Path(archive).name  # the archive is keyed by the wheel's sha256
    return {
        "url": want.url.split("#", 1)[0],
        "archive_info": {"hash": f"sha256={digest}", "hashes": {"sha256": digest}},
    }


def requirements_of(archive: str) -> set[str]:
    """The names an unpacked wheel's METADATA requires (markers ignored: order only)."""
    names: set[str] = set()
    for metadata in Path(archive).glob("*.dist-info/METADATA"):
        names |= _requires_in(metadata)
    return names


def _requires_in(metadata: Path) -> set[str]:
    names: set[str] = set()
    try:
        for key, value in metadata_headers(metadata):
            if key == "requires-dist":
                try:
                    names.add(canonicalize_name(Requirement(value).name))
                except InvalidRequirement:
                    continue
    except OSError:
        pass
    return names


def install_order(names: Sequence[str], requires: Callable[[str], set[str]]) -> list[str]:
    """``names`` with each one's requirements (among ``names``) before it; cycles broken
    where they close.

    >>> install_order(["a", "b", "c"], {"a": {"b"}, "b": {"c", "x"}, "c": {"a"}}.__getitem__)
    ['c', 'b', 'a']
    """
    members = set(names)
    done: list[str] = []
    state: dict[str, int] = {}  # 1: visiting, 2: done

    def visit(name: str) -> None:
        state[name] = 1
        for dep in sorted(requires(name) & members):
            if dep not in state:
                visit(dep)
        state[name] = 2
        done.append(name)

    for name in names:
        if name not in state:
            visit(name)
    return done


def compile_all(records: Iterable[InstalledRecord], interp: Interpreter) -> None:
    """Byte-compile the installed ``.py`` files, in chunks across the pool's threads."""
    sources = sorted(str(p) for r in records for p in r.paths if p.suffix == ".py")
    if not sources:
        return
    chunks = max(1, min(cpu_count(), len(sources) // 200 or 1))
    parts = [sources[i::chunks] for i in range(chunks)]
    with WorkerPool(chunks, kind="thread" if chunks > 1 else "serial") as pool:
        results = pool.map(_compile_chunk, [(part, interp) for part in parts])
    for result in results:
        if not result.ok:
            raise InstallError(f"Compiling bytecode failed: {result.error}")


def _compile_chunk(paths: list[str], interp: Interpreter) -> list[Path]:
    return compile_bytecode([Path(p) for p in paths], interp)
