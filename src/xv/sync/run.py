"""The ``xv-sync`` use case: :func:`sync` takes options, reports progress through hooks,
and returns a :class:`SyncReport`; printing and exit codes are the CLI's.

The flow: find the target environment, read the compiled files for it (direct entries
are made concrete by their metadata, :mod:`xv.sync.direct`), take the environment's
lock (finishing an interrupted sync first), plan, then check (``--dry-run``) or apply.
A run with nothing to change reads the files, the interpreter's cached facts and
site-packages, and stops: it never imports the HTTP stack nor starts a worker.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from xv import records
from xv.build.settings import BuildSettings
from xv.cache import Cache
from xv.env.discover import find_target
from xv.env.lock import environment_lock
from xv.fast import trace
from xv.pylock import is_pylock
from xv.settings import LinkMode, Settings
from xv.sync import record
from xv.sync.plan import Plan, SyncInputs, Wanted

# What only a sync that reads its files needs is imported where it is used: a sync answered
# from its record (xv.sync.record) stops before the parsers, site-packages and the installer.
if TYPE_CHECKING:
    from xv.build.context import BuildContext
    from xv.build.direct import DirectDist
    from xv.env.interpreter import Interpreter
    from xv.index.client import IndexClient
    from xv.index.simple import DistFile
    from xv.sync.apply import ApplyReport
    from xv.sync.policy import FilePolicy
    from xv.sync.prepare import Clients
    from xv.sync.strict import Broken


@records.record
class SyncOptions:
    """Everything ``xv-sync`` was asked, after merging the environment and config files."""

    src_files: tuple[str, ...]
    # index, cache and target settings, the command line over the environment and config files
    # (a mapping by name, ``{"python": ...}``, is accepted and made a Settings)
    settings: Settings = field(default_factory=Settings)
    system: bool = False
    break_system_packages: bool = False
    dry_run: bool = False
    check: bool = False
    reinstall: bool = False
    reinstall_packages: frozenset[str] = frozenset()
    link_mode: LinkMode = "hardlink"
    compile_bytecode: bool = False
    require_hashes: bool = False
    refresh: bool = False
    allow_empty_requirements: bool = False
    build: BuildSettings = BuildSettings()
    only_binary: frozenset[str] = frozenset()  # normalised names or ":all:"
    no_binary: frozenset[str] = frozenset()
    exclude_newer: datetime | None = None  # refuse pins with no file uploaded before it
    strict: bool = False  # check every installed distribution's requirements afterwards
    download_only: str | None = None  # fill this directory instead of syncing
    target: str | None = None  # --target DIR: a directory instead of an environment
    prefix: str | None = None  # --prefix DIR: a virtual environment's layout at DIR

    def __post_init__(self) -> None:
        given: object = self.settings
        if isinstance(given, Mapping):  # a library caller's {"python": ..., "index_url": ...}
            object.__setattr__(self, "settings", Settings(**given))


class SyncProgress:
    """What a sync tells while it runs; every hook does nothing unless overridden."""

    def environment(self, interp: Interpreter) -> None:
        """The target environment was found."""

    def warn(self, message: str) -> None:
        """Something the user should know that does not stop the sync."""

    def repaired(self, steps: int) -> None:
        """An interrupted sync was finished or rolled back first."""

    def keeping(self, names: Sequence[str]) -> None:
        """Packages xv needs to run that the plan keeps although the files omit them."""

    def planned(self, count: int, seconds: float) -> None:
        """The plan is known: ``count`` pins for this target, after ``seconds``."""

    def step(self, phase: str, done: int, total: int) -> None:
        """``phase`` ``"prepare"`` or ``"install"``: ``done`` of ``total``."""


Outcome = Literal["nothing-pinned", "unchanged", "would-change", "applied", "downloaded"]


@records.record
class SyncReport:
    """What :func:`sync` found and did."""

    outcome: Outcome
    interp: Interpreter
    inputs: SyncInputs
    plan: Plan = Plan()
    seconds: float = 0.0  # from the start until the plan was known
    applied: ApplyReport | None = None
    broken: tuple[Broken, ...] = ()  # --strict: requirements the environment does not meet
    downloaded: tuple[tuple[Path, bool], ...] = ()  # --download-only: (file, fetched now)
    # The pins that apply to the target. When the sync record answered (xv.sync.record),
    # the files were not read: ``inputs`` is then empty and this holds the count.
    audited: int = -1

    @property
    def pins(self) -> int:
        return self.audited if self.audited >= 0 else len(self.inputs.wanted)


def sync(opts: SyncOptions, progress: SyncProgress | None = None) -> SyncReport:
    """Make the target environment hold exactly the pins of ``opts.src_files``.

    Raises :class:`~xv.errors.XvError` subclasses (input, usage, install, network) with
    the environment unchanged where the apply step can promise it.
    """
    progress = progress or SyncProgress()
    started = time.monotonic()
    s = opts.settings
    cache = Cache.default(s.cache_dir, bool(s.no_cache))
    with cache.in_use():  # xv cache clean waits: archives are linked from until the end
        return _sync_in_cache(opts, progress, cache, started)


def _sync_in_cache(
    opts: SyncOptions, progress: SyncProgress, cache: Cache, started: float
) -> SyncReport:
    s = opts.settings
    if opts.target or opts.prefix or opts.download_only:
        from xv.sync.target_dir import directory_interpreter

        interp = directory_interpreter(opts.target, opts.prefix, s, opts.system, cache)
    else:
        interp = find_target(
            s.python,
            opts.system,
            opts.break_system_packages,
            Path.cwd(),
            os.environ,
            cache=cache if cache.enabled else None,
        )
    progress.environment(interp)
    files = _record_files(opts)
    if files is not None:
        answered = _answer_from_record(opts, interp, files, progress, started)
        if answered is not None:
            return answered
    trace.stop()  # no record answers this run: the console entry point records nothing
    from xv.sync.inputs import read_inputs

    inputs = read_inputs(opts.src_files, interp.markers, require_hashes=opts.require_hashes)
    if opts.download_only is not None:
        return _download(opts, interp, inputs, cache, started)
    with ExitStack() as stack:
        built = None
        if inputs.direct:  # sdists, directories, editables, VCS: named by their metadata
            from xv.sync.direct import resolve_entries

            ctx = stack.enter_context(_build_context(opts, inputs, cache, interp))
            inputs, dists = resolve_entries(inputs, ctx)
            built = _Built(ctx, dists)
        run = _Run(opts, interp, inputs, cache, progress, started, built, files)
        return run.locked()


def _record_files(opts: SyncOptions) -> str | None:
    """The files' digest when the sync record may answer this run (see xv.sync.record):
    not when asked to change or check more than a plan does."""
    if (
        opts.reinstall or opts.reinstall_packages or opts.refresh or opts.strict
        or opts.target or opts.prefix or opts.download_only is not None
        or any(is_pylock(path) for path in opts.src_files)
    ):  # fmt: skip
        return None
    return record.files_digest(opts.src_files)


def _record_flags(opts: SyncOptions) -> dict[str, bool]:
    return {
        "require_hashes": opts.require_hashes,
        "allow_empty_requirements": opts.allow_empty_requirements,
    }


def _answer_from_record(
    opts: SyncOptions, interp: Interpreter, files: str, progress: SyncProgress, started: float
) -> SyncReport | None:
    """ "Unchanged", when the record of the last sync still describes the environment."""
    with ExitStack() as stack:
        if not (opts.dry_run or opts.check):  # as the normal path: not while a sync runs
            stack.enter_context(environment_lock(interp.prefix))
        pins = record.lookup(record.key(interp, files, _record_flags(opts)), interp)
    if pins is None:
        return None
    seconds = time.monotonic() - started
    progress.planned(pins, seconds)
    return SyncReport("unchanged", interp, SyncInputs.unread(), seconds=seconds, audited=pins)


@records.record
class _Built:
    """The build context of a sync and the direct entries it resolved."""

    ctx: BuildContext
    dists: dict[str, DirectDist]


@records.record
class _Run:
    """One sync once its target and inputs are known."""

    opts: SyncOptions
    interp: Interpreter
    inputs: SyncInputs
    cache: Cache
    progress: SyncProgress
    started: float
    built: _Built | None
    files: str | None = None  # the files' digest for the sync record, when it may answer

    def locked(self) -> SyncReport:
        """Plan and apply under the environment's lock (not needed to change nothing)."""
        for path in self.inputs.empty_files:
            self.progress.warn(f"Requirements file `{path}` does not contain any dependencies")
        if not self.inputs.wanted and not self.opts.allow_empty_requirements:
            return SyncReport("nothing-pinned", self.interp, self.inputs)  # as uv: no change
        if self.opts.dry_run or self.opts.check:  # they may run on a read-only env
            return self.planned()
        if self.opts.target or self.opts.prefix:
            self.interp.prefix.mkdir(parents=True, exist_ok=True)  # a new directory's lock
        with environment_lock(self.interp.prefix):
            from xv.install.journal import repair

            # A run that was interrupted is finished (or rolled back) before planning.
            repaired = repair(self.interp, self.progress.warn)
            if repaired:
                self.progress.repaired(len(repaired))
            report = self.planned()
            self.remember(report)
            return report

    def remember(self, report: SyncReport) -> None:
        """Write the sync record when the environment now matches files whose bytes alone
        decide their pins (no include, no direct reference), unchanged since the start."""
        inputs, files = self.inputs, self.files
        if files is None or report.outcome not in ("unchanged", "applied") or inputs.direct:
            return
        if len(inputs.sources) != len(self.opts.src_files) or report.broken:
            return  # an include: its bytes are not in the digest
        if record.files_digest(self.opts.src_files) != files:
            return  # edited while this run read them
        key = record.key(self.interp, files, _record_flags(self.opts))
        record.remember(key, self.interp, len(inputs.wanted))

    def planned(self) -> SyncReport:
        the_plan = self.plan()
        seconds = time.monotonic() - self.started
        self.progress.planned(len(self.inputs.wanted), seconds)
        report = partial(
            SyncReport, interp=self.interp, inputs=self.inputs, plan=the_plan, seconds=seconds
        )
        if the_plan.is_empty:
            return report("unchanged", broken=self.broken())
        if self.opts.dry_run:
            self.check(the_plan)  # fails where a real run would
        if self.opts.dry_run or self.opts.check:
            return report("would-change")
        applied = self.apply(the_plan)
        return report("applied", applied=applied, broken=self.broken())

    def broken(self) -> tuple[Broken, ...]:
        """``--strict``: the installed distributions' unmet requirements, after the sync."""
        if not self.opts.strict:
            return ()
        from xv.env.installed import installed_distributions
        from xv.sync.strict import broken_requirements

        installed = installed_distributions(self.interp)
        return tuple(broken_requirements(installed, self.interp.markers))

    def plan(self) -> Plan:
        """The plan; in the environment xv runs from, never removing what xv needs to run
        (as pip-sync keeps its own), unless the files pin it."""
        from xv.env.installed import installed_distributions
        from xv.sync.plan import DEFAULT_KEEP, plan

        opts, interp = self.opts, self.interp
        planned = partial(
            plan, self.inputs.wanted, installed_distributions(interp),
            reinstall=opts.reinstall, reinstall_packages=opts.reinstall_packages,
        )  # fmt: skip
        the_plan = planned()
        if not the_plan.remove:
            return the_plan
        from xv.env.own import runs_from, runtime_tree  # (and packaging's requirement parser)

        if not runs_from(interp):
            return the_plan  # read xv's own tree only when it could matter
        needed = runtime_tree()
        removed = {d.canonical_name for d in the_plan.remove}
        spared = sorted(removed & needed - set(self.inputs.origins))
        if spared:
            self.progress.keeping(spared)
        return planned(keep=DEFAULT_KEEP | needed)

    def check(self, the_plan: Plan) -> None:
        from xv.sync.apply import check

        # A dry run builds nothing; an sdist-only pin only fails it under --no-build.
        build = None if self.opts.build.no_build else (lambda want, sdist: "")
        with _usable_cache(self.cache) as usable:
            clients = _clients(self.opts, self.inputs, usable)
            check(the_plan, self.interp, clients, build, _policy(self.opts))

    def apply(self, the_plan: Plan) -> ApplyReport:
        from xv.sync.apply import ApplyOptions, apply

        opts, interp = self.opts, self.interp
        full_check = opts.reinstall or bool(opts.reinstall_packages) or opts.refresh
        options = ApplyOptions(
            link_mode=opts.link_mode,
            compile_bytecode=opts.compile_bytecode,
            full_check=full_check,
        )
        with _usable_cache(self.cache) as cache, ExitStack() as stack:
            assert cache.root is not None  # _usable_cache
            clients = _clients(opts, self.inputs, cache)
            built, made = self.built, threading.Lock()

            def context() -> BuildContext:
                # Made when an sdist must be built: a lock of wheels never loads the frontend.
                nonlocal built
                with made:
                    if built is None:
                        ctx = stack.enter_context(_build_context(opts, self.inputs, cache, interp))
                        built = _Built(ctx, {})
                    return built.ctx

            ready = {}
            if self.built is not None:
                from xv.sync.direct import build_ready

                ready = build_ready(the_plan, self.built.dists, interp, self.built.ctx, cache.root)
            root = cache.root

            def build(want: Wanted, sdist: DistFile) -> str:
                from xv.sync.direct import sdist_builder  # loaded for a pin with only an sdist

                return sdist_builder(context, interp, root)(want, sdist)

            return apply(
                the_plan, interp, clients, options, progress=self.progress.step,
                ready=ready, build=build, policy=_policy(opts),
            )  # fmt: skip


def _client(opts: SyncOptions, inputs: SyncInputs, cache: Cache) -> IndexClient:
    # Imported here: the HTTP stack and the pool are not needed when nothing changes.
    from xv.index.client import IndexClient
    from xv.index.settings import index_settings

    settings = index_settings(opts.settings, inputs.options, refresh=opts.refresh)
    return IndexClient(settings, cache)


def _clients(opts: SyncOptions, inputs: SyncInputs, cache: Cache) -> Clients:
    """The index client, made when a pin needs the index (see xv.sync.prepare.Clients)."""
    from xv.sync.prepare import Clients

    return Clients(cache, partial(_client, opts, inputs, cache))


def _policy(opts: SyncOptions) -> FilePolicy:
    from xv.sync.policy import FilePolicy

    return FilePolicy(opts.only_binary, opts.no_binary, exclude_newer=opts.exclude_newer)


def _download(
    opts: SyncOptions, interp: Interpreter, inputs: SyncInputs, cache: Cache, started: float
) -> SyncReport:
    """``--download-only DIR``: the files of every pin for the target, verified, in DIR."""
    from xv.errors import UsageError
    from xv.sync.download import download_all

    if inputs.direct:  # a directory or VCS checkout is not a file a wheelhouse can hold
        where = ", ".join(str(item.origin) for item in inputs.direct[:3])
        raise UsageError(f"--download-only takes pins of released files only, not ({where})")
    assert opts.download_only is not None
    with _usable_cache(cache) as usable:
        client = _client(opts, inputs, usable)
        files = download_all(inputs.wanted, interp, client, Path(opts.download_only), _policy(opts))
    seconds = time.monotonic() - started
    return SyncReport("downloaded", interp, inputs, seconds=seconds, downloaded=tuple(files))


def _build_context(
    opts: SyncOptions, inputs: SyncInputs, cache: Cache, interp: Interpreter
) -> BuildContext:
    from xv.build.context import BuildContext

    # --only-binary refuses builds of direct entries too (editables aside), as in uv.
    settings = dataclasses.replace(
        opts.build, only_binary=opts.only_binary, no_binary=opts.no_binary
    )
    return BuildContext(_client(opts, inputs, cache), settings, interpreter=interp)


@contextmanager
def _usable_cache(cache: Cache) -> Iterator[Cache]:
    """The cache, or for ``--no-cache`` a temporary one removed afterwards (installs link
    from it, so it must be a real directory)."""
    if cache.enabled:
        yield cache
        return
    import tempfile  # here: only --no-cache needs it (~10 ms of start-up otherwise)

    root = tempfile.mkdtemp(prefix="xv-sync-")
    try:
        yield Cache(root)
    finally:
        import shutil  # here: only --no-cache needs it

        shutil.rmtree(root, ignore_errors=True)
