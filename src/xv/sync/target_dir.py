"""``xv-sync --target DIR`` and ``--prefix DIR``: an environment that is just a directory.

The synced environment is described by an :class:`Interpreter` whose scheme paths point
into the directory, so planning, installing, removing, the environment lock and the
journal all work on it unchanged. The layouts are uv's (``uv pip sync --target/--prefix``):

- ``--target DIR``: packages at the top of DIR (purelib = platlib = data = DIR), scripts
  in ``DIR/bin`` (``DIR/Scripts`` on Windows), headers in ``DIR/include/site/pythonX.Y``.
- ``--prefix DIR``: as if a virtual environment lived at DIR: ``DIR/lib/pythonX.Y/site-packages``
  (``DIR/Lib/site-packages`` on Windows), ``DIR/bin``, data at DIR.

``--python-version``/``--python-platform`` then choose the wheels (markers and tags), for a
directory that another interpreter will use; scripts still name the interpreter found.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

from xv.cache import Cache
from xv.env import find_target
from xv.env.interpreter import Interpreter
from xv.env.target import make_target
from xv.errors import TargetEnvironmentError, UsageError

if TYPE_CHECKING:
    from xv.settings import Settings


def directory_interpreter(
    target: str | None,
    prefix: str | None,
    settings: Settings,
    system: bool,
    cache: Cache,
) -> Interpreter:
    """The interpreter for ``--target``/``--prefix``/``--download-only``: ``-p``, else
    ``--system``, else the usual virtual environment, else the first python3 on PATH (a
    directory of its own needs no virtual environment; PEP 668 does not apply to it),
    with ``--python-version``/``--python-platform`` applied, pointed into the directory."""
    bucket = cache if cache.enabled else None
    python = settings.python
    try:
        interp = find_target(python, system, True, Path.cwd(), os.environ, cache=bucket)
    except TargetEnvironmentError:
        if python is not None or system:
            raise
        interp = find_target(None, True, True, Path.cwd(), os.environ, cache=bucket)
    interp = for_platform(interp, settings.python_version, settings.python_platform)
    if target is None and prefix is None:
        return interp  # --download-only: only the markers and tags matter
    return into_directory(
        interp,
        target=Path(target) if target else None,
        prefix=Path(prefix) if prefix else None,
    )


def into_directory(
    interp: Interpreter, *, target: Path | None = None, prefix: Path | None = None
) -> Interpreter:
    """``interp`` installing into ``target`` or ``prefix`` (exactly one given)."""
    if (target is None) == (prefix is None):
        raise UsageError("give one of --target and --prefix")
    root = Path(target or prefix or ".").absolute()
    if root.exists() and not root.is_dir():
        raise UsageError(f"{'--target' if target else '--prefix'} {root} is not a directory")
    windows = interp.markers.get("sys_platform") == "win32"
    version = interp.python_version
    if target is not None:
        site = root
    else:
        site = root / "Lib" / "site-packages" if windows else root / "lib" / f"python{version}" / "site-packages"  # fmt: skip
    paths = dict(interp.paths)
    paths.update(
        purelib=site,
        platlib=site,
        scripts=root / ("Scripts" if windows else "bin"),
        data=root,
        headers=root / "include" / "site" / f"python{version}",
    )
    return dataclasses.replace(
        interp, prefix=root, is_venv=False, externally_managed=False, paths=paths
    )


def for_platform(
    interp: Interpreter, python_version: str | None, python_platform: str | None
) -> Interpreter:
    """``interp`` with the markers and wheel tags of ``--python-version``/``--python-platform``
    (the interpreter itself still writes the scripts)."""
    if python_version is None and python_platform is None:
        return interp
    chosen = make_target(python_version, python_platform, interp)
    tags = sorted(chosen.tag_priority, key=chosen.tag_priority.__getitem__)
    release = chosen.python_version.release
    version = (release[0], release[1], release[2] if len(release) > 2 else 0)
    return dataclasses.replace(
        interp, markers=chosen.markers, fixed_tags=tuple(map(str, tags)), version=version
    )
