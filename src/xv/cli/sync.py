"""``xv-sync``: make an environment match one or more compiled requirements files exactly.

The command line, uv's messages and the exit status; :func:`xv.sync.configure.sync_options`
turns the command line into options and :func:`xv.sync.run.sync` does the work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from xv import __version__
from xv.cli.options import command_options, typed
from xv.cli.output import Reporter, format_elapsed, packages, run_command, shown_path
from xv.errors import XvError
from xv.sync.configure import sync_options
from xv.sync.run import SyncOptions, SyncProgress, SyncReport, sync

if TYPE_CHECKING:
    from xv.env.interpreter import Interpreter
    from xv.sync.plan import Plan, SyncInputs

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


class SyncReporter(Reporter, SyncProgress):
    """uv's sync messages: always shown unless ``-q``; progress only on a terminal."""

    def timed(self, verb: str, count: int, seconds: float) -> None:
        self.line(f"{verb} {packages(count)} in {format_elapsed(seconds)}")

    def environment(self, interp: Interpreter) -> None:
        version = ".".join(map(str, interp.version))
        self.line(f"Using Python {version} environment at: {shown_path(interp.prefix)}")

    def repaired(self, steps: int) -> None:
        self.line(f"Repaired an interrupted sync ({steps} steps)")

    def keeping(self, names: Sequence[str]) -> None:
        self.line(f"Keeping {packages(len(names))} xv needs to run (not in the files): {', '.join(names)}")  # fmt: skip

    def planned(self, count: int, seconds: float) -> None:
        self.timed("Resolved", count, seconds)

    def step(self, phase: str, done: int, total: int) -> None:
        label = "Preparing packages..." if phase == "prepare" else "Installing wheels..."
        self.draw(f"{label} ({done}/{total})")

    def changes(self, the_plan: Plan) -> None:
        for change in the_plan.changes:
            sign = self._style(change.sign, "green" if change.sign == "+" else "red")
            self.line(f" {sign}{change.render()[1:]}")


@click.command(help=HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})  # fmt: skip
@click.version_option(__version__, "-V", "--version", prog_name="xv-sync")
@click.argument("src_files", nargs=-1, type=click.Path())
@command_options("xv-sync")
def main(**params: Any) -> None:
    cli = typed(params)
    reporter = SyncReporter(cli.quiet, cli.verbose, cli.color or "auto")
    run_command(reporter, lambda: run(sync_options(cli), reporter))


def run(opts: SyncOptions, reporter: SyncReporter) -> int:
    """Sync, then say what happened; the exit status."""
    report = sync(opts, reporter)
    if report.outcome == "nothing-pinned":
        reporter.line(_nothing_pinned(report.inputs))  # as uv: change nothing, and say why
    elif report.outcome == "downloaded":
        _downloaded(report, reporter, opts.download_only or "")
    elif report.outcome == "unchanged":
        reporter.timed("Audited", report.pins, report.seconds)
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


def _would(the_plan: Plan, reporter: SyncReporter) -> None:
    removing = len(the_plan.remove) + len(the_plan.reinstall)
    installing = len(the_plan.install) + len(the_plan.reinstall)
    for verb, count in (("uninstall", removing), ("install", installing)):
        if count:
            reporter.line(f"Would {verb} {packages(count)}")
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
