"""``xv-compile``: resolve requirements into a pinned requirements.txt.

The command parses its arguments (with uv's spellings and pip-compile's aliases), the
environment and config files into one frozen :class:`~xv.compile.options.CompileOptions`,
calls :func:`xv.compile.compile`, renders the result with :func:`xv.lockfile.render` and
prints it, or hands it to :mod:`xv.compile.output` (``-o FILE``, ``--check``).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from xv import __version__, config, lockfile
from xv.cache import Cache
from xv.cli.compile_args import build_options, check_pip_compile_options, options
from xv.cli.options import typed
from xv.cli.output import Reporter, run_command
from xv.compile import output
from xv.compile.check import CompileFn
from xv.compile.configure import with_preferences
from xv.compile.options import CompileOptions
from xv.dirs import user_cache_dir
from xv.env.target import Target
from xv.errors import XvError

if TYPE_CHECKING:
    from xv.resolver.result import Resolution


class _Command(click.Command):
    """Keeps the raw arguments: the output file's header repeats them."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["xv.argv"] = list(args)
        return super().parse_args(ctx, args)


HELP = f"""Resolve SRC_FILES (requirements.in, *.txt, pyproject.toml, or - for stdin) into
pinned requirements, in the layout of `uv pip compile`.

\b
Settings come from, highest first: the command line, XV_* environment variables,
./xv.toml, [tool.xv] in ./pyproject.toml (skip the files with --no-config).
The cache lives in {user_cache_dir()} unless --cache-dir or XV_CACHE_DIR say
otherwise.

\b
Exit status: 0 on success; 1 when resolution fails or --check finds the output
out of date; 2 for bad arguments or input files, an output file that cannot be
written (and --check with no output file); 130 on Ctrl-C.
"""


@click.command(
    cls=_Command,
    help=HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="xv-compile")
@options
def main(**params: Any) -> None:
    ctx = click.get_current_context()
    cli = typed(params)
    reporter = Reporter(cli.quiet, cli.verbose, cli.color or "auto")

    def body() -> int:
        check_pip_compile_options(cli, reporter)
        loaded = config.load(no_config=cli.no_config)
        argv = ctx.meta.get("xv.argv", sys.argv[1:])
        opts = build_options(cli, loaded, argv, _stdin, reporter.warn, reporter.line)
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
