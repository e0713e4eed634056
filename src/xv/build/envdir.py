"""Isolated build environments: a virtual environment written by hand, filled from the cache.

A venv is three things (PEP 405): ``pyvenv.cfg`` naming the base interpreter's
directory, an executable beside it, and an empty ``site-packages``. Writing them
ourselves costs a millisecond, where ``python -m venv`` starts an interpreter
and copies scripts we do not need. The base interpreter's own site-packages
stay invisible (``include-system-site-packages = false``), so a backend sees
exactly the build requirements that were installed, as with pip and uv.

Requirements are installed by the caller with xv's own installer: hardlinks
from the unpacked wheels in the archive bucket, so a second environment with the
same pins costs no download and no unpacking.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from xv.env.interpreter import Interpreter
from xv.errors import BuildError


def base_executable(interp: Interpreter) -> Path:
    """The real interpreter binary behind ``interp`` (a venv's python points at it)."""
    major, minor = interp.version[0], interp.version[1]
    bindir = "Scripts" if sys.platform == "win32" else "bin"
    for name in (f"python{major}.{minor}", f"python{major}", "python"):
        candidate = interp.base_prefix / bindir / name
        if candidate.is_file():
            return candidate
    return Path(os.path.realpath(interp.executable))


def make_build_env(base: Interpreter, root: Path) -> Interpreter:
    """Create an empty venv of ``base`` at ``root`` (which must not exist yet)."""
    exe = base_executable(base)
    major, minor, micro = base.version
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        bindir, site = root / "Scripts", root / "Lib" / "site-packages"
        python = bindir / "python.exe"
    else:
        bindir, site = root / "bin", root / "lib" / f"python{major}.{minor}" / "site-packages"
        python = bindir / "python"
    try:
        site.mkdir(parents=True)
        bindir.mkdir(parents=True, exist_ok=True)
        (root / "pyvenv.cfg").write_text(
            f"home = {exe.parent}\ninclude-system-site-packages = false\n"
            f"version = {major}.{minor}.{micro}\n",
            encoding="utf-8",
        )
        try:
            python.symlink_to(exe)
        except OSError:  # no symlinks (some Windows setups): a copy works as well
            import shutil

            shutil.copy2(exe, python)
    except OSError as exc:
        raise BuildError(f"cannot create a build environment in {root}: {exc}") from None
    include = root / "include" / "site" / f"python{major}.{minor}"
    paths = {
        **base.paths,
        "purelib": site,
        "platlib": site,
        "scripts": bindir,
        "data": root,
        "headers": include,
    }
    return dataclasses.replace(
        base,
        executable=python,
        prefix=root,
        is_venv=True,
        paths=paths,
        externally_managed=False,
    )
