"""What ``xv-compile`` does once its command line is read, without click: the click
command (:mod:`xv.cli.compile`) and the plain reading of a simple command line
(:mod:`xv.cli.plainargs`) both end here. click is imported only to print the result to
stdout and for ``--check``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from xv import config, lockfile
from xv.cache import Cache
from xv.cli.compile_args import build_options, check_pip_compile_options
from xv.cli.output import Reporter, run_command
from xv.compile import output
from xv.compile.check import CompileFn
from xv.compile.configure import with_preferences
from xv.compile.options import CompileOptions
from xv.env.target import Target
from xv.errors import XvError
from xv.settings import from_values

if TYPE_CHECKING:
    from xv.resolver.result import Resolution


def main(params: Mapping[str, Any], argv: Sequence[str]) -> NoReturn:
    """Compile as the command line's parameters (click's, by name) ask, and exit; ``argv``
    is the command line the output's header repeats."""
    cli = from_values(params)
    reporter = Reporter(cli.quiet, cli.verbose, cli.color or "auto")

    def body() -> int:
        check_pip_compile_options(cli, reporter)
        loaded = config.load(no_config=cli.no_config)
        opts = build_options(cli, loaded, list(argv), _stdin, reporter.warn, reporter.line)
        return run(opts, reporter)

    run_command(reporter, body)


def _stdin() -> str:
    return sys.stdin.read()


def _compile_fn() -> CompileFn:
    # Imported late: the resolver pulls in the HTTP stack, which --help does not need.
    from xv.compile import compile as compile_fn

    return compile_fn


def run(opts: CompileOptions, reporter: Reporter) -> int:
    """Compile, then print, write or check; the exit status. The cache is held in use
    meanwhile (``xv cache clean`` waits)."""
    with Cache.default(opts.cache.cache_dir, opts.cache.no_cache).in_use():
        return _run(opts, reporter)


def _run(opts: CompileOptions, reporter: Reporter) -> int:
    out = opts.output
    if out.check:
        return run_check(opts, reporter)
    target = output.target_of(opts)
    text = _compile_and_render(opts, reporter, target)
    if out.dry_run or out.output_file is None:
        import click  # click.echo: its handling of stdout's encoding and escape sequences

        click.echo(text, nl=False)
        if out.dry_run:
            reporter.info("Dry run: nothing written")
        return 0
    output.write_output(opts, out.output_file, text, target)
    reporter.info(f"Wrote {out.output_file}")
    return 0


def run_check(opts: CompileOptions, reporter: Reporter, target: Target | None = None) -> int:
    """``--check``: 0 when the output file is what compiling would write, 1 (with a diff)
    when not, 2 when it is missing."""
    import click  # --check goes through the click command (xv.cli.plainargs leaves it)

    path = opts.output.output_file
    if path is None:
        raise click.UsageError("--check needs -o/--output-file")
    if not os.path.isfile(path):
        reporter.error(XvError(f"{path} does not exist; run xv-compile first"))
        return 2
    target = target or output.target_of(opts)
    with_pins: list[CompileOptions] = []

    checked = opts

    def pinned(given: CompileOptions) -> CompileOptions:
        # The lock's pins as preferences, read (and warned about) once, on a record miss.
        if not with_pins:
            with_pins.append(with_preferences(checked, reporter.warn))
        return dataclasses.replace(given, resolver=with_pins[0].resolver)

    def compile_lazily(opts: CompileOptions, *args: Any, **kwargs: Any) -> Resolution:
        return _compile_fn()(pinned(opts), *args, **kwargs)

    def compiled_text() -> str:
        return _compile_and_render(pinned(checked), reporter, target)

    diff = output.check_output(opts, path, target, compile_lazily, compiled_text)
    if diff is None:
        reporter.info(f"{path} is up to date")
        return 0
    reporter.clear_progress()
    click.echo(f"{path} is out of date:", err=True)
    click.echo(diff, err=True, nl=False)
    return 1


def _compile_and_render(opts: CompileOptions, reporter: Reporter, target: Target | None) -> str:
    reporter.start()
    resolution = _compile_fn()(opts, progress=reporter.progress, target=target)
    reporter.clear_progress()
    reporter.summary(len(resolution.dists))
    return lockfile.render(resolution, opts.render, target)
