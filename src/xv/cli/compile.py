"""``xv-compile``: resolve requirements into a pinned requirements.txt.

The command parses its arguments (with uv's spellings and pip-compile's aliases), the
environment and config files into one frozen :class:`~xv.compile.options.CompileOptions`,
calls :func:`xv.compile.compile`, renders the result with :func:`xv.lockfile.render` and
prints it, or hands it to :mod:`xv.compile.output` (``-o FILE``, ``--check``); the part
after the command line is :mod:`xv.cli.compiling`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from xv import __version__
from xv.cli import compiling
from xv.cli.compiling import run as run  # re-exported
from xv.cli.compiling import run_check as run_check  # re-exported
from xv.cli.options import command_options
from xv.dirs import user_cache_dir

F = TypeVar("F", bound=Callable[..., Any])


def options(func: F) -> F:
    """Apply every ``xv-compile`` option and the SRC_FILES argument to ``func``."""
    func = command_options("xv-compile")(func)
    return click.argument("src_files", nargs=-1, type=click.Path(allow_dash=True))(func)


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
    compiling.main(params, ctx.meta.get("xv.argv", sys.argv[1:]))
