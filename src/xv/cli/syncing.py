"""What ``xv-sync`` prints and does once its command line is read, without click: the
click command (:mod:`xv.cli.sync`) and the plain reading of a simple command line
(:mod:`xv.cli.plainargs`) both end here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from xv.cli.output import Reporter, format_elapsed, packages, run_command, shown_path
from xv.errors import XvError
from xv.settings import from_values
from xv.sync.configure import sync_options
from xv.sync.run import SyncOptions, SyncProgress, SyncReport, sync

if TYPE_CHECKING:
    from xv.env.interpreter import Interpreter
    from xv.sync.plan import Plan, SyncInputs


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


def main(params: Mapping[str, Any]) -> NoReturn:
    """Sync as the command line's parameters (click's, by name) ask, and exit."""
    cli = from_values(params)
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
