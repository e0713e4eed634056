"""``xv``: the maintenance entry point; ``xv cache dir|clean|prune|info`` as uv's ``uv cache``.

``clean`` and ``prune`` take the cache root's lock exclusively, so they wait while another
xv command uses the cache (a sync installing from an archive, a compile writing a page);
``--force`` skips the wait, as uv's does. Status lines go to stderr in uv's wording
(``Clearing cache at: ...``, ``Removed 3 files (1.2MiB)``); ``dir`` and ``info`` print their
answer on stdout.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from xv import __version__, cachecmd, config
from xv.cache import Cache, default_root
from xv.cli.options import command_options, typed
from xv.cli.output import Reporter, run_command, shown_path

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


_cache_options = command_options("xv cache")  # from the settings registry, as both commands'
_force = command_options("xv cache", ("force",))


@click.group(context_settings=_CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="xv")
def main() -> None:
    """xv maintenance commands (the resolver and syncer are xv-compile and xv-sync)."""


@main.group(context_settings=_CONTEXT)
def cache() -> None:
    """Manage xv's cache."""


def _root(params: Mapping[str, object]) -> Path:
    cli = typed(params)
    s = config.load(no_config=cli.no_config).under(cli, only=("cache_dir",))
    return default_root(s.cache_dir)


def _locked(root: Path, force: bool, reporter: Reporter) -> Any:
    def waiting() -> None:
        reporter.warn(
            "Cache is currently in use, waiting for other xv processes to finish "
            "(use `--force` to override)"
        )

    if force:
        return Cache(root).in_use()  # not exclusive, yet keeps a later clean waiting on us
    return Cache(root).exclusive(waiting)


@cache.command("dir", context_settings=_CONTEXT)
@_cache_options
def dir_command(**params: Any) -> None:
    """Show the cache directory."""
    reporter = Reporter(params["quiet"])
    run_command(reporter, lambda: _echo(str(_root(params))))


def _echo(text: str) -> int:
    click.echo(text)
    return 0


@cache.command(context_settings=_CONTEXT)
@click.argument("packages", nargs=-1, metavar="[PACKAGE]...")
@_force
@_cache_options
def clean(packages: tuple[str, ...], force: bool, **params: Any) -> None:
    """Clear the cache, removing all entries or those linked to specific packages."""
    reporter = Reporter(params["quiet"])

    def body() -> int:
        root = _root(params)
        if not root.is_dir():
            _status(reporter, f"No cache found at: {shown_path(root)}")
            return 0
        if not packages:
            _status(reporter, f"Clearing cache at: {shown_path(root)}")
        with _locked(root, force, reporter):
            if packages:
                removal = cachecmd.clean_packages(root, packages)
            else:
                removal = cachecmd.clean_all(root)
        _status(reporter, removal.summary("No cache entries found"))
        return 0

    run_command(reporter, body)


@cache.command(context_settings=_CONTEXT)
@_force
@_cache_options
def prune(force: bool, **params: Any) -> None:
    """Remove cache entries no run can use: buckets of older xv versions, leftovers of
    interrupted writes, damaged entries, stale --check records, half-unpacked archives."""
    reporter = Reporter(params["quiet"])

    def body() -> int:
        root = _root(params)
        if not root.is_dir():
            _status(reporter, f"No cache found at: {shown_path(root)}")
            return 0
        _status(reporter, f"Pruning cache at: {shown_path(root)}")
        with _locked(root, force, reporter):
            removal = cachecmd.prune(root, forced=force)
        _status(reporter, removal.summary("No unused entries found"))
        return 0

    run_command(reporter, body)


@cache.command(context_settings=_CONTEXT)
@_cache_options
def info(**params: Any) -> None:
    """Show the cache directory and the size of each bucket."""
    reporter = Reporter(params["quiet"])

    def body() -> int:
        root = _root(params)
        click.echo(f"Cache at: {root}")
        rows = cachecmd.info(root)
        width = max([len(r.name) for r in rows] + [5])
        for row in rows:
            note = "" if row.known else "  (unused: removed by `xv cache prune`)"
            size = cachecmd.human_bytes(row.bytes)
            click.echo(f"{row.name:<{width}}  {size:>9}  {row.files:>7} files{note}")
        total = sum(r.bytes for r in rows)
        files = sum(r.files for r in rows)
        click.echo(f"{'total':<{width}}  {cachecmd.human_bytes(total):>9}  {files:>7} files")
        return 0

    run_command(reporter, body)


def _status(reporter: Reporter, line: str) -> None:
    if not reporter.quiet:
        click.echo(line, err=True)
