"""pip-compile's defaults when no input file is named.

pip-compile looks in the current directory for ``requirements.in``, then ``setup.py``,
``pyproject.toml`` and ``setup.cfg`` (its ``DEFAULT_REQUIREMENTS_FILES``, in that order),
compiles the first it finds and writes ``requirements.txt`` beside it. With an input named
and no ``-o``, xv keeps uv's behaviour instead: the result goes to stdout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from xv.errors import UsageError
from xv.settings import Settings

DEFAULT_INPUTS = ("requirements.in", "setup.py", "pyproject.toml", "setup.cfg")
DEFAULT_OUTPUT = "requirements.txt"


def default_files(cwd: Path, output_file: str | None) -> tuple[str, str]:
    """``(input, output)`` for a command that named no input: the first of
    :data:`DEFAULT_INPUTS` in ``cwd`` and ``output_file`` (``-o``), else ``requirements.txt``.

    Raises UsageError when none of the inputs exists.
    """
    for name in DEFAULT_INPUTS:
        if (cwd / name).is_file():
            return name, output_file or DEFAULT_OUTPUT
    raise UsageError(
        "no input files given, and none of " + ", ".join(DEFAULT_INPUTS) + " is in this directory"
    )


def with_default_files(s: Settings, note: Callable[[str], None]) -> Settings:
    """``s`` itself when it names an input (or a ``--group``), else with the default input
    and output of :func:`default_files`, telling ``note`` which."""
    if s.src_files or s.group:
        return s
    src, out = default_files(Path.cwd(), s.output_file)
    note(f"Compiling {src} into {'stdout' if out == '-' else out}")
    return dataclasses.replace(s, src_files=(src,), output_file=out)
