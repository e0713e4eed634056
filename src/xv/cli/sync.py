"""``xv-sync``: make an environment match one or more compiled requirements files exactly.

The command line, uv's messages and the exit status; :func:`xv.sync.configure.sync_options`
turns the command line into options and :func:`xv.sync.run.sync` does the work.
"""

from __future__ import annotations

from typing import Any

import click

from xv import __version__
from xv.cli import syncing
from xv.cli.options import command_options
from xv.cli.syncing import SyncReporter as SyncReporter  # re-exported
from xv.cli.syncing import run as run  # re-exported

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


@click.command(help=HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})  # fmt: skip
@click.version_option(__version__, "-V", "--version", prog_name="xv-sync")
@click.argument("src_files", nargs=-1, type=click.Path())
@command_options("xv-sync")
def main(**params: Any) -> None:
    syncing.main(params)
