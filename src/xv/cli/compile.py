"""``xv-compile``: resolve requirements into a pinned requirements.txt.

The command parses its arguments (with uv's spellings and pip-compile's aliases), the
environment and config files into one frozen :class:`~xv.compile.options.CompileOptions`,
calls :func:`xv.compile.compile`, renders the result with :func:`xv.lockfile.render` and
writes it: to ``-o FILE`` atomically, else to stdout.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
import platformdirs

from xv import __version__, atomic, config, lockfile
from xv.cache import Cache
from xv.cli.compile_args import build_options, check_pip_compile_options, options
from xv.cli.output import Reporter, run_command
from xv.compile.check import CompileFn
from xv.compile.options import CompileOptions
from xv.env.target import Target, build_target
from xv.errors import InputError, OutputError, XvError
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
The cache lives in {platformdirs.user_cache_dir("xv")} unless --cache-dir or XV_CACHE_DIR say
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
    reporter = Reporter(params["quiet"], params["verbose"], params["color"] or "auto")

    def body() -> int:
        check_pip_compile_options(params, reporter)
        loaded = config.load(no_config=bool(params["no_config"]))
        argv = ctx.meta.get("xv.argv", sys.argv[1:])
        return run(build_options(params, loaded, argv, _stdin, reporter.warn), reporter)

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
    target = _target(opts)  # once per command, passed down: -p runs a probe
    text = _compile_and_render(opts, reporter, target)
    if out.dry_run or out.output_file is None:
        click.echo(text, nl=False)
        if out.dry_run:
            reporter.info("Dry run: nothing written")
        return 0
    write_output(out.output_file, text)
    _remember(opts, text, target)
    reporter.info(f"Wrote {out.output_file}")
    return 0


def _target(opts: CompileOptions) -> Target:
    s = opts.resolver
    cache = Cache.default(opts.cache.cache_dir, opts.cache.no_cache)
    return build_target(s.python, s.python_version, s.python_platform, cache)


def run_check(opts: CompileOptions, reporter: Reporter, target: Target | None = None) -> int:
    """``--check``: 0 when the output file is what compiling would write, 1 (with a diff)
    when not, 2 when it is missing. The cache answers the unchanged case when it can."""
    path = opts.output.output_file
    if path is None:
        raise click.UsageError("--check needs -o/--output-file")
    if not os.path.isfile(path):
        reporter.error(XvError(f"{path} does not exist; run xv-compile first"))
        return 2
    current = _read(path)
    target = target or _target(opts)
    from xv.compile import check as compile_check

    def compile_lazily(*args: Any, **kwargs: Any) -> Resolution:
        return _compile_fn()(*args, **kwargs)

    if compile_check.is_fresh(opts, current, compile_lazily, target):
        reporter.info(f"{path} is up to date")
        return 0
    text = _compile_and_render(opts, reporter, target)
    code = check(path, text, reporter, current)
    if code == 0:
        _remember(opts, text, target)
    return code


def _compile_and_render(opts: CompileOptions, reporter: Reporter, target: Target | None) -> str:
    reporter.start()
    resolution = _compile_fn()(opts, progress=reporter.progress, target=target)
    reporter.clear_progress()
    reporter.summary(len(resolution.dists))
    return lockfile.render(resolution, opts.render, target)


def _remember(opts: CompileOptions, text: str, target: Target | None) -> None:
    from xv.compile import check as compile_check

    compile_check.remember(opts, text, target)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc


def check(path: str, text: str, reporter: Reporter, current: str | None = None) -> int:
    """0 when ``path`` already holds ``text`` (the header's command line aside), else print a
    unified diff on stderr and return 1."""
    if current is None:
        current = _read(path)
    if lockfile.same_lock(current, text):
        reporter.info(f"{path} is up to date")
        return 0
    import difflib  # imported here: an up-to-date check never needs it

    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        text.splitlines(keepends=True),
        fromfile=f"{path} (current)",
        tofile=f"{path} (compiled)",
    )
    reporter.clear_progress()
    click.echo(f"{path} is out of date:", err=True)
    click.echo("".join(diff), err=True, nl=False)
    return 1


def write_output(path: str, text: str) -> None:
    """Write the compiled file with :mod:`xv.atomic`: replaced atomically (through a symlink
    to its target), in place when it is a FIFO or a device; an existing lock survives any
    failure."""
    try:
        atomic.write_atomic(path, text.encode("utf-8"), durable=True)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
