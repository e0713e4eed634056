"""The console scripts (``[project.scripts]``): :func:`xv.fast.main` answers an unchanged
invocation from its record, else runs the command: with a plain command line without
click (:mod:`xv.cli.plainargs`), anything else through click, which loads only then."""

from __future__ import annotations

from xv import fast

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def compile_main() -> None:
    """``xv-compile``."""
    fast.main("xv-compile", _compile_command)


def sync_main() -> None:
    """``xv-sync``."""
    fast.main("xv-sync", _sync_command)


def _compile_command() -> Callable[[], Any]:
    import sys

    from xv.cli.plainargs import parse

    argv = sys.argv[1:]
    # --check's usage error and diff are click's: it stays with the click command.
    params = None if "--check" in argv else parse("xv-compile", argv)
    if params is not None:  # a plain command line: read as click reads it, without click
        from xv.cli import compiling

        return lambda: compiling.main(params, argv)
    from xv.cli.compile import main

    return main


def _sync_command() -> Callable[[], Any]:
    import sys

    from xv.cli.plainargs import parse

    params = parse("xv-sync", sys.argv[1:])
    if params is not None:  # a plain command line: read as click reads it, without click
        from xv.cli import syncing

        return lambda: syncing.main(params)
    from xv.cli.sync import main

    return main
