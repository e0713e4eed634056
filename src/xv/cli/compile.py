"""``xv-compile``: resolve requirements into a pinned requirements.txt."""

from __future__ import annotations

import click

from xv import __version__


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xv-compile")
@click.argument("src_files", nargs=-1, type=click.Path())
@click.option("-o", "--output-file", type=click.Path(), help="Write the pinned requirements here.")
def main(src_files: tuple[str, ...], output_file: str | None) -> None:
    """Resolve SRC_FILES (requirements.in, pyproject.toml) into pinned requirements."""
    raise click.UsageError("xv-compile cannot resolve yet")
