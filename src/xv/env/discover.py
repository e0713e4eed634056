"""Which environment xv-sync installs into, chosen as ``uv pip sync`` chooses it.

1. ``--python PATH`` (an interpreter, a virtual environment directory, a name on
   ``PATH``, or a version such as ``3.12`` meaning ``python3.12`` on ``PATH``);
2. ``--system``: the first ``python3``/``python`` on ``PATH``;
3. the active virtual environment (``VIRTUAL_ENV``, then ``CONDA_PREFIX``);
4. a ``.venv`` directory in the working directory or one of its parents.

A non-virtual environment whose stdlib holds an ``EXTERNALLY-MANAGED`` file
(PEP 668) is refused unless ``break_system_packages`` is given.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from xv.env.interpreter import BucketSource, Interpreter, query_interpreter
from xv.errors import TargetEnvironmentError

MIN_VERSION = (3, 8)
_NO_ENV = (
    "No virtual environment found; create one with `python3 -m venv .venv`, "
    "activate one, or pass `--system` to install into a non-virtual environment"
)


def venv_python(env_dir: Path) -> Path | None:
    """The interpreter of a virtual environment directory, if it has one."""
    for candidate in (
        env_dir / "bin" / "python",
        env_dir / "Scripts" / "python.exe",
        env_dir / "bin" / "python3",
    ):
        if candidate.is_file():
            return candidate
    return None


def find_target(
    python: str | None,
    system: bool,
    break_system_packages: bool,
    cwd: Path,
    environ: Mapping[str, str],
    *,
    cache: BucketSource | None = None,
) -> Interpreter:
    """The interpreter whose environment is synced; raises TargetEnvironmentError."""
    if python is not None:
        interp = query_interpreter(_resolve_python(python, cwd, environ), cache)
    elif system:
        interp = query_interpreter(_system_python(environ), cache)
    else:
        interp = query_interpreter(_virtual_env_python(cwd, environ), cache)
    if interp.version[:2] < MIN_VERSION:  # the tag rules below 3.8 differ (pymalloc ABIs)
        raise TargetEnvironmentError(
            f"The interpreter at {interp.executable} is Python {interp.python_version}; "
            "xv supports Python 3.8 and newer"
        )
    if interp.externally_managed and not break_system_packages:
        raise TargetEnvironmentError(
            f"The interpreter at {interp.executable} is externally managed (PEP 668): "
            "its packages belong to the system package manager. Use a virtual environment "
            "(`python3 -m venv .venv`) or pass `--break-system-packages` to install anyway"
        )
    return interp


def _resolve_python(python: str, cwd: Path, environ: Mapping[str, str]) -> Path:
    path = Path(python).expanduser()
    if not path.is_absolute() and (os.sep in python or Path(cwd, path).exists()):
        path = cwd / path
    if path.is_dir():
        found = venv_python(path)
        if found is None:
            raise TargetEnvironmentError(f"No Python interpreter found in {path}")
        return found
    if path.is_file():
        return path
    name = f"python{python}" if re.fullmatch(r"3\.\d+", python) else python  # "3.12"
    on_path = shutil.which(name, path=environ.get("PATH", os.defpath))
    if on_path is None:
        raise TargetEnvironmentError(f"No Python interpreter found at `{python}`")
    return Path(on_path)


def _system_python(environ: Mapping[str, str]) -> Path:
    search = environ.get("PATH", os.defpath)
    for name in ("python3", "python"):
        found = shutil.which(name, path=search)
        if found is not None:
            return Path(found)
    raise TargetEnvironmentError("No `python3` or `python` found on PATH for --system")


def _virtual_env_python(cwd: Path, environ: Mapping[str, str]) -> Path:
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        value = environ.get(variable)
        if value:
            env_dir = Path(value)
            found = venv_python(env_dir)
            if found is None:
                raise TargetEnvironmentError(
                    f"{variable} is set to {env_dir}, but it holds no Python interpreter"
                )
            return found
    for directory in (cwd, *cwd.parents):
        env_dir = directory / ".venv"
        if (env_dir / "pyvenv.cfg").is_file():
            found = venv_python(env_dir)
            if found is not None:
                return found
    raise TargetEnvironmentError(_NO_ENV)
