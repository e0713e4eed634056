"""``xv-sync``: make an environment match one or more compiled requirements files exactly.

The command line, uv's messages and the exit status; the work is :func:`xv.sync.run.sync`'s.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from xv import __version__, config
from xv.cli.build_args import build_option_decorators, build_settings
from xv.cli.compile_args import binary_set, shared_options
from xv.cli.output import Reporter, format_elapsed, run_command
from xv.env.interpreter import Interpreter
from xv.errors import UsageError, XvError
from xv.sync.inputs import SyncInputs
from xv.sync.plan import Plan
from xv.sync.run import SyncOptions, SyncProgress, SyncReport, sync

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
    "--exclude-newer",
    "-q", "-v", "--color",
)  # fmt: skip
_SETTINGS = (
    "index_url", "extra_index_url", "find_links", "no_index", "index_strategy",
    "allow_insecure_host", "keyring_provider", "cache_dir", "no_cache", "offline", "python",
    "exclude_newer", "python_version", "python_platform",
)  # fmt: skip


class SyncReporter(Reporter, SyncProgress):
    """uv's sync messages: always shown unless ``-q``; progress only on a terminal."""

    def line(self, text: str) -> None:
        if not self.quiet:
            self._write(text)

    def timed(self, verb: str, count: int, seconds: float) -> None:
        self.line(f"{verb} {_packages(count)} in {format_elapsed(seconds)}")

    def environment(self, interp: Interpreter) -> None:
        version = ".".join(map(str, interp.version))
        self.line(f"Using Python {version} environment at: {_shown(interp.prefix)}")

    def repaired(self, steps: int) -> None:
        self.line(f"Repaired an interrupted sync ({steps} steps)")

    def keeping(self, names: Sequence[str]) -> None:
        self.line(f"Keeping {_packages(len(names))} xv needs to run (not in the files): {', '.join(names)}")  # fmt: skip

    def planned(self, count: int, seconds: float) -> None:
        self.timed("Resolved", count, seconds)

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
@click.option("-p", "--python", "--python-executable", "python", help="The interpreter (or environment directory, or 3.12) whose environment to sync. [env: XV_PYTHON]")  # fmt: skip
@click.option("-t", "--target", metavar="DIR", type=click.Path(file_okay=False), help="Sync the packages at the top of DIR instead of an environment (scripts in DIR/bin), as uv.")  # fmt: skip
@click.option("--prefix", metavar="DIR", type=click.Path(file_okay=False), help="Sync into DIR/lib/pythonX.Y/site-packages and DIR/bin, as if a virtual environment lived at DIR.")  # fmt: skip
@click.option("--python-version", help="With --target, --prefix or --download-only: choose wheels for this Python (e.g. 3.12). [env: XV_PYTHON_VERSION]")  # fmt: skip
@click.option("--python-platform", help="With --target, --prefix or --download-only: choose wheels for this platform (linux, macos, windows, x86_64-manylinux_2_28, ...). [env: XV_PYTHON_PLATFORM]")  # fmt: skip
@click.option("--system", is_flag=True, help="Sync the first python3 on PATH (not a virtual environment).")  # fmt: skip
@click.option("--break-system-packages", is_flag=True, help="Allow an externally managed (PEP 668) environment.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing. Fails where a sync would, short of downloading.")  # fmt: skip
@click.option("--check", is_flag=True, help="Change nothing; exit 1 and print the differences if the environment differs.")  # fmt: skip
@click.option("--strict", is_flag=True, help="After syncing, check every installed package's requirements are met (as pip check); exit 1 naming the broken ones.")  # fmt: skip
@click.option("--download-only", metavar="DIR", type=click.Path(file_okay=False), help="Download and verify every file the files pin for the target into DIR (a wheelhouse for --offline --no-index --find-links DIR); change no environment.")  # fmt: skip
@click.option("--reinstall", is_flag=True, help="Reinstall every package of the files.")
@click.option("--reinstall-package", multiple=True, metavar="NAME", help="Reinstall this package (repeatable).")  # fmt: skip
@click.option("--link-mode", type=click.Choice(("hardlink", "copy", "symlink")), default="hardlink", help="How files get from the cache into the environment (default: hardlink, copy when that fails; symlink points into the cache, which must then be kept).")  # fmt: skip
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
    if params["download_only"] and (params["dry_run"] or params["check"] or params["strict"]):
        raise UsageError("--download-only changes no environment: not with --dry-run, --check or --strict")  # fmt: skip
    loaded = config.load(no_config=bool(params["no_config"]))
    settings = loaded.merged_under({name: params[name] for name in _SETTINGS})
    _check_directory_options(params, settings)
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
        exclude_newer=_exclude_newer(settings.get("exclude_newer")),
        strict=bool(params["strict"]),
        download_only=params["download_only"],
        target=params["target"],
        prefix=params["prefix"],
    )


def _check_directory_options(params: dict[str, Any], settings: dict[str, Any]) -> None:
    if params["target"] and params["prefix"]:
        raise UsageError("--target and --prefix cannot be used together")
    elsewhere = params["target"] or params["prefix"] or params["download_only"]
    foreign = settings.get("python_version") or settings.get("python_platform")
    if foreign and not elsewhere:
        raise UsageError(
            "--python-version and --python-platform choose wheels for another interpreter: "
            "use them with --target, --prefix or --download-only"
        )
    if foreign and params["compile_bytecode"]:
        raise UsageError("--compile-bytecode needs the target's own interpreter, not --python-version/--python-platform")  # fmt: skip


def _exclude_newer(text: str | None) -> datetime | None:
    if not text:
        return None
    from xv.compile.run import parse_exclude_newer  # only when asked: it loads the resolver

    return parse_exclude_newer(text)


def run(opts: SyncOptions, reporter: SyncReporter) -> int:
    """Sync, then say what happened; the exit status."""
    report = sync(opts, reporter)
    if report.outcome == "nothing-pinned":
        reporter.line(_nothing_pinned(report.inputs))  # as uv: change nothing, and say why
    elif report.outcome == "downloaded":
        _downloaded(report, reporter, opts.download_only or "")
    elif report.outcome == "unchanged":
        reporter.timed("Audited", len(report.inputs.wanted), report.seconds)
    elif report.outcome == "would-change":
        _would(report.plan, reporter)
        return 1 if opts.check else 0
    else:
        _applied(report, reporter)
    if report.broken:  # --strict
        lines = "".join(f"\n  {item.render()}" for item in report.broken)
        raise XvError(f"--strict: requirements of installed packages are not met:{lines}")
    return 0


def _downloaded(report: SyncReport, reporter: SyncReporter, where: str) -> None:
    fetched = sum(1 for _, new in report.downloaded if new)
    reporter.timed("Downloaded", fetched, report.seconds)
    kept = len(report.downloaded) - fetched
    if kept:
        reporter.line(f"Kept {kept} verified file(s) already in {where}")


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


def _packages(count: int) -> str:
    return f"{count} package{'' if count == 1 else 's'}"


def _would(the_plan: Plan, reporter: SyncReporter) -> None:
    removing = len(the_plan.remove) + len(the_plan.reinstall)
    installing = len(the_plan.install) + len(the_plan.reinstall)
    for verb, count in (("uninstall", removing), ("install", installing)):
        if count:
            reporter.line(f"Would {verb} {_packages(count)}")
    reporter.changes(the_plan)


def _applied(report: SyncReport, reporter: SyncReporter) -> None:
    reporter.clear_progress()
    applied = report.applied
    assert applied is not None
    for warning in applied.warnings:
        reporter.warn(warning)
    for verb, count, seconds in (
        ("Prepared", applied.prepared, applied.prepare_seconds),
        ("Uninstalled", applied.uninstalled, applied.uninstall_seconds),
        ("Installed", applied.installed, applied.install_seconds),
    ):
        if count:
            reporter.timed(verb, count, seconds)
    reporter.changes(report.plan)
