"""``xv-sync``: make an environment match one or more compiled requirements files exactly.

The flow is plan → prepare → install (:mod:`xv.sync`, :mod:`xv.sync.apply`). A run with
nothing to change reads the files, the interpreter's cached facts and site-packages, and
stops: it never imports the HTTP stack nor starts a worker.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from xv import __version__, config
from xv.build.settings import BuildSettings
from xv.cache import Cache
from xv.cli.build_args import build_option_decorators, build_settings
from xv.cli.compile_args import binary_set, shared_options
from xv.cli.output import Reporter, format_elapsed, run_command
from xv.env import find_target, installed_distributions
from xv.env.interpreter import Interpreter
from xv.env.lock import environment_lock
from xv.env.own import runs_from, runtime_tree
from xv.errors import UsageError
from xv.install.journal import repair
from xv.sync.inputs import SyncInputs, read_inputs
from xv.sync.plan import DEFAULT_KEEP, Plan, plan

if TYPE_CHECKING:
    from xv.build.context import BuildContext
    from xv.build.direct import DirectDist
    from xv.index.client import IndexClient
    from xv.resolver.candidates import BinaryPolicy

HELP = """Make the target environment hold exactly the packages pinned in SRC_FILES
(compiled requirements files, e.g. from xv-compile; default: requirements.txt).

\b
Target: -p/--python, else --system, else the active virtual environment
(VIRTUAL_ENV), else a .venv in this directory or a parent.
Packages missing from the files are removed, except pip, setuptools, wheel and xv
(and, in the environment xv runs from, what xv needs to run).
Files that pin nothing for the target change nothing, unless --allow-empty-requirements.
Every wheel is downloaded and unpacked into the cache before the environment changes.

\b
Exit status: 0 on success (and for --check when nothing differs); 1 when an install
or download fails or --check finds differences; 2 for bad arguments or input
files; 130 on Ctrl-C.
"""

_SHARED = (
    "--index-url", "--extra-index-url", "--find-links", "--no-index", "--index-strategy",
    "--trusted-host", "--keyring-provider", "--cache-dir", "--no-cache", "--refresh", "--offline", "--no-config",
    "-q", "-v", "--color",
)  # fmt: skip
_SETTINGS = (
    "index_url", "extra_index_url", "find_links", "no_index", "index_strategy",
    "allow_insecure_host", "keyring_provider", "cache_dir", "no_cache", "offline", "python",
)  # fmt: skip


@dataclass(frozen=True)
class SyncOptions:
    """Everything ``xv-sync`` was asked, after merging the environment and config files."""

    src_files: tuple[str, ...]
    settings: dict[str, Any]  # merged index, cache and target settings (config.Loaded spelling)
    system: bool = False
    break_system_packages: bool = False
    dry_run: bool = False
    check: bool = False
    reinstall: bool = False
    reinstall_packages: frozenset[str] = frozenset()
    link_mode: str = "hardlink"
    compile_bytecode: bool = False
    require_hashes: bool = False
    refresh: bool = False
    allow_empty_requirements: bool = False
    build: BuildSettings = BuildSettings()
    built: _Built | None = None  # set once direct entries are resolved
    only_binary: frozenset[str] = frozenset()  # normalised names or ":all:"
    no_binary: frozenset[str] = frozenset()


class SyncReporter(Reporter):
    """uv's sync messages: always shown unless ``-q``; progress only on a terminal."""

    def line(self, text: str) -> None:
        if not self.quiet:
            self._write(text)

    def timed(self, verb: str, count: int, seconds: float) -> None:
        noun = "package" if count == 1 else "packages"
        self.line(f"{verb} {count} {noun} in {format_elapsed(seconds)}")

    def step(self, phase: str, done: int, total: int) -> None:
        if not self.interactive:
            return
        label = "Preparing packages..." if phase == "prepare" else "Installing wheels..."
        self.stream.write(f"\r\x1b[2K{label} ({done}/{total})")
        self.stream.flush()
        self._progress_shown = True

    def changes(self, the_plan: Plan) -> None:
        for change in the_plan.changes:
            sign = self._style(change.sign, "green" if change.sign == "+" else "red")
            self.line(f" {sign}{change.render()[1:]}")


@click.command(help=HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})  # fmt: skip
@click.version_option(__version__, "-V", "--version", prog_name="xv-sync")
@click.argument("src_files", nargs=-1, type=click.Path())
@click.option("-p", "--python", help="The interpreter (or environment directory, or 3.12) whose environment to sync. [env: XV_PYTHON]")  # fmt: skip
@click.option("--system", is_flag=True, help="Sync the first python3 on PATH (not a virtual environment).")  # fmt: skip
@click.option("--break-system-packages", is_flag=True, help="Allow an externally managed (PEP 668) environment.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing. Fails where a sync would, short of downloading.")  # fmt: skip
@click.option("--check", is_flag=True, help="Change nothing; exit 1 and print the differences if the environment differs.")  # fmt: skip
@click.option("--reinstall", is_flag=True, help="Reinstall every package of the files.")
@click.option("--reinstall-package", multiple=True, metavar="NAME", help="Reinstall this package (repeatable).")  # fmt: skip
@click.option("--link-mode", type=click.Choice(("hardlink", "copy")), default="hardlink", help="How files get from the cache into the environment (default: hardlink, copy when that fails).")  # fmt: skip
@click.option("--compile-bytecode", is_flag=True, help="Compile the installed .py files to bytecode.")  # fmt: skip
@click.option("--require-hashes", is_flag=True, help="Require a --hash for every pin.")
@click.option("--only-binary", multiple=True, help="Use only wheels for these packages (:all: for every one).")  # fmt: skip
@click.option("--no-binary", multiple=True, help="Build these packages from their sdists (:all: for every one).")  # fmt: skip
@click.option("--no-build", is_flag=True, help="Never build: refuse sdists, directories and VCS entries (editables excepted).")  # fmt: skip
@build_option_decorators
@click.option("--allow-empty-requirements/--no-allow-empty-requirements", default=False, help="Sync even when no pin applies, which removes every package (refused by default).")  # fmt: skip
@shared_options(*_SHARED)
def main(**params: Any) -> None:
    reporter = SyncReporter(params["quiet"], params["verbose"], params["color"] or "auto")
    run_command(reporter, lambda: run(build_options(params), reporter))


def build_options(params: dict[str, Any]) -> SyncOptions:
    src_files = tuple(params["src_files"]) or ("requirements.txt",)
    if not params["src_files"] and not os.path.isfile("requirements.txt"):
        raise UsageError("no requirements file given, and ./requirements.txt does not exist")
    if params["dry_run"] and params["check"]:
        raise UsageError("--dry-run and --check cannot be used together")
    loaded = config.load(no_config=bool(params["no_config"]))
    settings = loaded.merged_under({name: params[name] for name in _SETTINGS})
    return SyncOptions(
        src_files=src_files,
        settings=settings,
        system=bool(params["system"]),
        break_system_packages=bool(params["break_system_packages"]),
        dry_run=bool(params["dry_run"]),
        check=bool(params["check"]),
        reinstall=bool(params["reinstall"]),
        reinstall_packages=frozenset(params["reinstall_package"]),
        link_mode=params["link_mode"],
        compile_bytecode=bool(params["compile_bytecode"]),
        require_hashes=bool(params["require_hashes"]),
        refresh=bool(params["refresh"]),
        allow_empty_requirements=bool(params["allow_empty_requirements"]),
        build=build_settings(params, bool(params["no_build"])),
        only_binary=binary_set(params["only_binary"]),
        no_binary=binary_set(params["no_binary"]),
    )


def run(opts: SyncOptions, reporter: SyncReporter) -> int:
    """Plan, then print (``--dry-run``/``--check``) or apply; the exit status."""
    started = time.monotonic()
    s = opts.settings
    cache = Cache.default(s.get("cache_dir"), bool(s.get("no_cache")))
    with cache.in_use():  # xv cache clean waits: archives are linked from until the end
        return _run_in_cache(opts, reporter, cache, started)


def _run_in_cache(opts: SyncOptions, reporter: SyncReporter, cache: Cache, started: float) -> int:
    s = opts.settings
    interp = find_target(
        s.get("python"),
        opts.system,
        opts.break_system_packages,
        Path.cwd(),
        os.environ,
        cache=cache if cache.enabled else None,
    )
    version = ".".join(map(str, interp.version))
    reporter.line(f"Using Python {version} environment at: {_shown(interp.prefix)}")
    inputs = read_inputs(opts.src_files, interp.markers, require_hashes=opts.require_hashes)
    with ExitStack() as stack:
        if inputs.direct:  # sdists, directories, editables, VCS: named by their metadata
            from xv.sync.direct import resolve_entries

            ctx = stack.enter_context(_build_context(opts, inputs, cache, interp))
            inputs, dists = resolve_entries(inputs, ctx)
            opts = dataclasses.replace(opts, built=_Built(ctx, dists))
        return _run_resolved(opts, interp, inputs, cache, reporter, started)


def _run_resolved(
    opts: SyncOptions,
    interp: Interpreter,
    inputs: SyncInputs,
    cache: Cache,
    reporter: SyncReporter,
    started: float,
) -> int:
    for path in inputs.empty_files:
        reporter.warn(f"Requirements file `{path}` does not contain any dependencies")
    if not inputs.wanted and not opts.allow_empty_requirements:
        reporter.line(_nothing_pinned(inputs))  # as uv: change nothing, and say why
        return 0
    if opts.dry_run or opts.check:  # they change nothing, so they may run on a read-only env
        return _sync(opts, interp, inputs, cache, reporter, started)
    with environment_lock(interp.prefix):
        # A run that was interrupted is finished (or rolled back) before anything is planned.
        repaired = repair(interp, reporter.warn)
        if repaired:
            reporter.line(f"Repaired an interrupted sync ({len(repaired)} steps)")
        return _sync(opts, interp, inputs, cache, reporter, started)


def _nothing_pinned(inputs: SyncInputs) -> str:
    """Why a sync with no pin for the target is refused (it would remove everything)."""
    hint = "(hint: use `--allow-empty-requirements` to clear the environment)"
    if not inputs.not_here:
        return f"No requirements found {hint}"
    where = ", ".join(map(str, inputs.not_here[:3])) + (", ..." if len(inputs.not_here) > 3 else "")
    return (
        "No requirements apply to this environment: the marker of every entry is false "
        f"here ({where}) {hint}"
    )


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when inside it, as uv shows it."""
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(path)


def _sync(
    opts: SyncOptions,
    interp: Interpreter,
    inputs: SyncInputs,
    cache: Cache,
    reporter: SyncReporter,
    started: float,
) -> int:
    the_plan = _plan(opts, interp, inputs, reporter)
    count = len(inputs.wanted)
    reporter.timed("Resolved", count, time.monotonic() - started)
    if the_plan.is_empty:
        reporter.timed("Audited", count, time.monotonic() - started)
        return 0
    if opts.dry_run:
        with _usable_cache(cache) as usable:
            _check(the_plan, interp, inputs, usable, opts)  # fails where a real run would
    if opts.dry_run or opts.check:
        _would(the_plan, reporter)
        return 1 if opts.check else 0
    with _usable_cache(cache) as usable:
        _apply(the_plan, interp, inputs, usable, opts, reporter)
    return 0


def _plan(
    opts: SyncOptions, interp: Interpreter, inputs: SyncInputs, reporter: SyncReporter
) -> Plan:
    """The plan; in the environment xv runs from, never removing what xv needs to run
    (as pip-sync keeps its own), unless the files pin it."""
    installed = installed_distributions(interp)
    planned = partial(
        plan, inputs.wanted, installed,
        reinstall=opts.reinstall, reinstall_packages=opts.reinstall_packages,
    )  # fmt: skip
    the_plan = planned()
    if not the_plan.remove or not runs_from(interp):
        return the_plan  # read xv's own tree only when it could matter
    needed = runtime_tree()
    spared = sorted({d.canonical_name for d in the_plan.remove} & needed - set(inputs.origins))
    if spared:
        reporter.line(
            f"Keeping {len(spared)} package{'' if len(spared) == 1 else 's'} xv needs to run "
            f"(not in the files): {', '.join(spared)}"
        )
    return planned(keep=DEFAULT_KEEP | needed)


def _check(
    the_plan: Plan, interp: Interpreter, inputs: SyncInputs, cache: Cache, opts: SyncOptions
) -> None:
    from xv.sync.apply import check

    # A dry run builds nothing; an sdist-only pin only fails it under --no-build.
    build = None if opts.build.no_build else (lambda want, sdist: "")
    check(the_plan, interp, _client(opts, inputs, cache), build, _policy(opts))


def _client(opts: SyncOptions, inputs: SyncInputs, cache: Cache) -> IndexClient:
    # Imported here: the HTTP stack and the pool are not needed when nothing changes.
    from xv.index.client import IndexClient
    from xv.index.settings import index_settings

    settings = index_settings(opts.settings, inputs.options, refresh=opts.refresh)
    return IndexClient(settings, cache)


def _would(the_plan: Plan, reporter: SyncReporter) -> None:
    removing = len(the_plan.remove) + len(the_plan.reinstall)
    installing = len(the_plan.install) + len(the_plan.reinstall)
    for verb, count in (("uninstall", removing), ("install", installing)):
        if count:
            reporter.line(f"Would {verb} {count} package{'' if count == 1 else 's'}")
    reporter.changes(the_plan)


def _apply(
    the_plan: Plan,
    interp: Interpreter,
    inputs: SyncInputs,
    cache: Cache,
    opts: SyncOptions,
    reporter: SyncReporter,
) -> None:
    from xv.sync.apply import ApplyOptions, apply
    from xv.sync.direct import build_ready, sdist_builder

    full_check = opts.reinstall or bool(opts.reinstall_packages) or opts.refresh
    options = ApplyOptions(
        link_mode=opts.link_mode,
        compile_bytecode=opts.compile_bytecode,
        full_check=full_check or opts.require_hashes,
    )
    client = _client(opts, inputs, cache)
    assert cache.root is not None  # _usable_cache
    with ExitStack() as stack:
        built = opts.built
        if built is None:
            built = _Built(stack.enter_context(_build_context(opts, inputs, cache, interp)), {})
        ready = build_ready(the_plan, built.dists, interp, built.ctx, cache.root)
        build = sdist_builder(built.ctx, interp, cache.root)
        report = apply(
            the_plan,
            interp,
            client,
            options,
            progress=reporter.step,
            ready=ready,
            build=build,
            policy=_policy(opts),
        )
    reporter.clear_progress()
    for warning in report.warnings:
        reporter.warn(warning)
    if report.prepared:
        reporter.timed("Prepared", report.prepared, report.prepare_seconds)
    if report.uninstalled:
        reporter.timed("Uninstalled", report.uninstalled, report.uninstall_seconds)
    if report.installed:
        reporter.timed("Installed", report.installed, report.install_seconds)
    reporter.changes(the_plan)


def _policy(opts: SyncOptions) -> BinaryPolicy:
    from xv.resolver.candidates import BinaryPolicy

    return BinaryPolicy(opts.only_binary, opts.no_binary)


@dataclass(frozen=True)
class _Built:
    """The build context of a sync and the direct entries it resolved."""

    ctx: BuildContext
    dists: dict[str, DirectDist]


def _build_context(
    opts: SyncOptions, inputs: SyncInputs, cache: Cache, interp: Interpreter
) -> BuildContext:
    from xv.build.context import BuildContext

    return BuildContext(_client(opts, inputs, cache), opts.build, interpreter=interp)


@contextmanager
def _usable_cache(cache: Cache) -> Iterator[Cache]:
    """The cache, or for ``--no-cache`` a temporary one removed afterwards (installs link
    from it, so it must be a real directory)."""
    if cache.enabled:
        yield cache
        return
    root = tempfile.mkdtemp(prefix="xv-sync-")
    try:
        yield Cache(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
