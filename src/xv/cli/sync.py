"""``xv-sync``: make an environment match a requirements.txt exactly."""

from __future__ import annotations

import click

from xv import __version__


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xv-sync")
@click.argument("src_files", nargs=-1, type=click.Path())
def main(src_files: tuple[str, ...]) -> None:
    """Make the target environment match SRC_FILES exactly."""
    raise click.UsageError("xv-sync cannot sync yet")
