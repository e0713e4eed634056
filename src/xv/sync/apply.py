"""Applying a sync plan: prepare everything, then change the environment.

1. **Prepare** (:mod:`xv.sync.prepare`), one job per package on the worker pool:
   choose the file (:mod:`xv.sync.choose`), download what the cache lacks, check
   hashes, unpack each wheel once into the archive bucket; build the pins that
   have only an sdist.
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
import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.version import Version

from xv.env.installed import InstalledDist, metadata_headers
from xv.env.interpreter import Interpreter
from xv.errors import InstallError
from xv.install import compile_bytecode, install_from_archive, owned_files, uninstall, upgrade
from xv.install.archive import archive_layout, discard_archive, manifest_identity
from xv.install.journal import InstallStep, RemoveStep, Step, clear_journal, write_journal
from xv.install.place import InstalledRecord, planned_paths
from xv.install.validate import Placement, WheelLayout, validate_placement
from xv.names import canonicalize_name
from xv.records import record
from xv.sync.choose import BuildSdist, platform_of, target_of
from xv.sync.plan import Plan, Wanted
from xv.sync.policy import ANY_FILE, FilePolicy
from xv.sync.prepare import Clients, Progress, prepare, prepare_one


@dataclass(frozen=True)  # not @record: ruff's B008 knows this one as an immutable default
class ApplyOptions:
    """How files are placed (``--link-mode``) and whether bytecode is compiled."""

    link_mode: str = "hardlink"
    compile_bytecode: bool = False
    full_check: bool = False  # hash every cached file before use, not only sizes and mtimes
    # PEP 610 records of entries built from direct references (set by apply's ``ready``).
    direct_urls: Mapping[str, dict[str, Any]] = field(default_factory=dict)


@record
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
    clients: Clients,
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
    if clients.cache.root is None:
        raise ValueError("apply() needs a cache directory (a temporary one for --no-cache)")
    started = monotonic()
    wanted = [*plan.install, *(r.wanted for r in plan.reinstall)]
    ready = ready or {}
    todo = [w for w in wanted if w.canonical_name not in ready]
    early: dict[str, Early] = {}

    def foresee(want: Wanted, archive: str | None) -> None:  # while the trees are verified
        if archive is None:  # not that tree after all
            early.pop(want.canonical_name, None)
            return
        manifest = manifest_identity(archive)
        try:
            layout, placement = _validate(archive, *_pin_of(want, interp))
        except (InstallError, OSError, ValueError):  # a tree not verified yet: anything
            return  # validated again (and rebuilt) below, if it is the tree chosen
        if manifest is not None and manifest == manifest_identity(archive):
            early[want.canonical_name] = Early(archive, manifest, layout, placement)

    archives, prepared = prepare(
        todo, interp, clients, progress, full_check=options.full_check, build=build,
        policy=policy, foresee=foresee,
    )  # fmt: skip
    archives.update({name: archive for name, (archive, _) in ready.items()})
    direct_urls = {name: info for name, (_, info) in ready.items()}
    options = dataclasses.replace(options, direct_urls=direct_urls)

    def rebuild(want: Wanted) -> str:
        if want.canonical_name in ready:  # built a moment ago: building again won't help
            raise InstallError(f"the wheel built for {want.canonical_name} is not valid")
        target, platform = target_of(interp), platform_of(interp)  # rare: not before
        client = clients.get()
        return prepare_one(want, target, platform, client.settings, client.cache, True, policy)[0]

    layouts, placements = validate_all(wanted, archives, interp, rebuild, early)
    prepared_at = monotonic()
    warnings: list[str] = []
    records, removing = install(
        plan, archives, interp, options, progress, warnings.append,
        layouts=layouts, placements=placements,
    )  # fmt: skip
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


def check(
    plan: Plan,
    interp: Interpreter,
    clients: Clients,
    build: BuildSdist | None = None,
    policy: FilePolicy = ANY_FILE,
) -> None:
    """What a dry run does instead of :func:`apply`: every check of the prepare step
    (a usable wheel for the target, the lock's hashes against the index's, a local
    wheel present), raising as :func:`apply` would, but nothing is downloaded."""
    wanted = [*plan.install, *(r.wanted for r in plan.reinstall)]
    prepare(wanted, interp, clients, download=False, build=build, policy=policy)


# -- validate ------------------------------------------------------------------


def validate_all(
    wanted: Sequence[Wanted],
    archives: dict[str, str],
    interp: Interpreter,
    rebuild: Callable[[Wanted], str],
    early: Mapping[str, Early] | None = None,
) -> tuple[dict[str, WheelLayout], dict[str, Placement]]:
    """Check every prepared wheel against its pin and the target before anything changes;
    the layouts read, by name (the install uses them instead of reading each tree again).
    ``early``: trees validated already (while the cache was verified), by name, used when
    they are the ones prepared, from the same manifest (a tree that failed its
    verification was unpacked again: its manifest is a new file).

    A cached archive that fails is rebuilt once from its wheel (``rebuild``): the cache
    may have been damaged (garbled RECORD, WHEEL, entry_points.txt) without its sizes
    and mtimes changing. A wheel that fails again is refused.
    """
    layouts: dict[str, WheelLayout] = {}
    placements: dict[str, Placement] = {}
    for want in wanted:
        name = want.canonical_name
        known = (early or {}).get(name)
        if known is not None and known.is_of(archives[name]):
            layouts[name], placements[name] = known.layout, known.placement
            continue
        args = _pin_of(want, interp)
        try:
            layouts[name], placements[name] = _validate(archives[name], *args)
        except InstallError:
            discard_archive(archives[name])
            archives[name] = rebuild(want)
            layouts[name], placements[name] = _validate(archives[name], *args)
    return layouts, placements


@record
class Early:
    """A tree validated before its verification ended, and the manifest it was read from."""

    archive: str
    manifest: tuple[int, int, int]
    layout: WheelLayout
    placement: Placement

    def is_of(self, archive: str) -> bool:
        """Whether this validation holds for ``archive`` as it is now."""
        return archive == self.archive and manifest_identity(archive) == self.manifest


def _pin_of(
    want: Wanted, interp: Interpreter
) -> tuple[str, Version, str | None, Mapping[str, Path]]:
    """What a tree is validated against: the pin's name, version, wheel file name (of a
    wheel URL) and the target's scheme."""
    filename = None
    if want.url is not None and want.url.split("#", 1)[0].endswith(".whl"):
        filename = unquote(urlsplit(want.url).path.rsplit("/", 1)[-1])
    return want.canonical_name, want.version, filename, interp.paths


def _validate(
    archive: str, name: str, version: Version, filename: str | None, scheme: Mapping[str, Path]
) -> tuple[WheelLayout, Placement]:
    # Every archive was verified (or unpacked) by the prepare step: its manifest's layout,
    # checked when it was unpacked, stands for the tree (see archive_layout).
    known = archive_layout(archive)
    return validate_placement(Path(archive), name, version, filename, scheme, known)


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
    placements: Mapping[str, Placement] | None = None,
) -> tuple[list[InstalledRecord], float]:
    """Change the environment: installs in dependency order, then removals, dependents
    before their dependencies; every step journalled first (see ``install.journal``).

    A fresh environment's many files are installed by forked workers side by side
    (:mod:`xv.forked`), each install once those it must follow are done (see
    :func:`_install_constraints`): the links and directories of a 325-pin lock took
    0.70 s in one process, 0.50 s in two (tmpfs, 2 CPUs).

    Returns the records of what was installed when bytecode is compiled (else none: a
    worker's would cross a pipe for nothing), and the seconds spent on the removals.
    """
    replaced: dict[str, InstalledDist] = {d.canonical_name: d for d in plan.remove}
    replaced.update({r.wanted.canonical_name: r.installed for r in plan.reinstall})
    wanted = {w.canonical_name: w for w in (*plan.install, *(r.wanted for r in plan.reinstall))}
    layouts, placements = layouts or {}, placements or {}

    @functools.cache  # asked by the install order, then by the constraints of the workers
    def requires(name: str) -> set[str]:  # validation read METADATA once: not again here
        layout = layouts.get(name)
        if layout is None:
            return requirements_of(archives[name])
        return _requirement_names(layout.requires)

    order = install_order(sorted(wanted), requires)
    removals = removal_order({n: replaced[n] for n in set(replaced) - set(wanted)})
    steps = journal_steps(
        order, removals, wanted, archives, replaced, interp, options, layouts, placements
    )
    write_journal(interp, steps)
    records: list[InstalledRecord] = []
    total = len(order) + len(removals)

    def job(index: int) -> tuple[InstalledRecord | None, list[str]]:
        name, heard = order[index], list[str]()
        record = _install_one(
            wanted[name], archives[name], replaced.get(name), interp, options, heard.append,
            layouts.get(name), placements.get(name),
        )  # fmt: skip
        # A worker's record crosses a pipe: only when compiling needs it (pickling ~40 ms).
        return (record if options.compile_bytecode else None), heard

    installed = 0

    def finished(_: int, outcome: tuple[InstalledRecord | None, list[str]]) -> None:
        nonlocal installed
        record, heard = outcome
        if record is not None:
            records.append(record)
        for message in heard:
            if warn is not None:
                warn(message)
        installed += 1
        if progress is not None:
            progress("install", installed, total)

    from xv import forked

    workers = _install_workers(order, replaced, placements, layouts)
    after = _install_constraints(order, requires, placements) if workers > 1 else []
    forked.run_ordered(len(order), lambda i: after[i] if after else (), job, finished, workers)
    removing_from = monotonic()
    for done, name in enumerate(removals, len(order) + 1):
        uninstall(replaced[name], interp, warn=warn)
        if progress is not None:
            progress("install", done, total)
    clear_journal(interp)
    return records, monotonic() - removing_from


def _install_constraints(
    order: Sequence[str], requires: Callable[[str], set[str]], placements: Mapping[str, Placement]
) -> list[list[int]]:
    """For installing side by side: which earlier installs (by index in ``order``) each
    one must follow: those it requires, so an interruption still leaves each visible
    distribution's requirements in place; and any writing one of its paths, so the same
    install wins as in order."""
    index_of = {name: index for index, name in enumerate(order)}
    after: list[list[int]] = []
    owner: dict[str, int] = {}
    for index, name in enumerate(order):
        before = {i for dep in requires(name) if (i := index_of.get(dep, index)) < index}
        for target in placements[name].targets():
            previous = owner.setdefault(target, index)
            if previous != index:
                before.add(previous)
                owner[target] = index
        after.append(sorted(before))
    return after


FORK_FROM_FILES = 2000  # fewer files install in ~40 ms: not worth forking for


def _install_workers(
    order: Sequence[str],
    replaced: Mapping[str, InstalledDist],
    placements: Mapping[str, Placement],
    layouts: Mapping[str, WheelLayout],
) -> int:
    """How many forked workers install (1: here, in order). In order when an install
    replaces an installed version (its leftovers' removal prunes directories another
    install may be filling), when validation's placements are missing, and while a test
    counts the file operations (see :mod:`xv.install.killpoint`)."""
    from xv import forked
    from xv.install import killpoint

    if any(name in replaced or name not in placements for name in order):
        return 1
    # A test counting file operations (killpoint) counts them in this process: in order,
    # unless the test asks for workers (then each inherits the count).
    counted = killpoint.remaining() is not None and not os.environ.get(forked.ENV_TEST_FORK)
    files = sum(len(layout.files) for layout in layouts.values())
    return 1 if counted else forked.workers_for(files >= FORK_FROM_FILES)


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
    placements: Mapping[str, Placement] | None = None,
) -> list[Step]:
    """What :func:`install` will do, path by path, for the journal."""
    steps: list[Step] = []
    for name in order:
        old = replaced.get(name)
        olds = [old, *old.duplicates] if old is not None else []
        layout, placement = (layouts or {}).get(name), (placements or {}).get(name)
        meta, targets = planned_paths(archives[name], interp, layout, placement)
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
    placement: Placement | None = None,
) -> InstalledRecord:
    direct_url = _direct_url(want, archive, options)
    # Every pin of the files was asked for (as uv pip sync marks them), dependencies too.
    extra: dict[str, Any] = {
        "link_mode": options.link_mode, "direct_url": direct_url, "requested": True,
        "layout": layout, "placement": placement,
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
    try:
        headers = metadata_headers(metadata)
    except OSError:
        return set()
    return _requirement_names(value for key, value in headers if key == "requires-dist")


def _requirement_names(values: Iterable[str]) -> set[str]:
    """The project names of Requires-Dist values (one that does not start as a requirement
    does is skipped).

    Only the leading PEP 508 name is read, by a pattern rather than packaging's parser:
    the names only order the installs (a wrong one orders nothing wrongly, as it names no
    package of the plan), and parsing each whole requirement cost more than the rest of
    the ordering (about 150 of them for a 27-pin lock).

    >>> sorted(_requirement_names(["Foo_Bar[x] >=1; extra == 'y'", "baz", "(bad", "not valid"]))
    ['baz', 'foo-bar']
    """
    names: set[str] = set()
    for value in values:
        match = _LEADING_NAME.match(value)
        if match is not None:
            names.add(canonicalize_name(match.group(1)))
    return names


# A name followed by nothing, extras, a version, a marker or a URL (``not valid !!`` is not).
_LEADING_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:$|[\[(;@<>=!~])")


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
    from xv.pool import WorkerPool, cpu_count  # multiprocessing: only when compiling

    chunks = max(1, min(cpu_count(), len(sources) // 200 or 1))
    parts = [sources[i::chunks] for i in range(chunks)]
    with WorkerPool(chunks, kind="thread" if chunks > 1 else "serial") as pool:
        results = pool.map(_compile_chunk, [(part, interp) for part in parts])
    for result in results:
        if not result.ok:
            raise InstallError(f"Compiling bytecode failed: {result.error}")


def _compile_chunk(paths: list[str], interp: Interpreter) -> list[Path]:
    return compile_bytecode([Path(p) for p in paths], interp)
