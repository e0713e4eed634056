"""Which environment xv-sync installs into, chosen as ``uv pip sync`` chooses it.

1. ``--python PATH`` (an interpreter, a virtual environment directory, a name on
   ``PATH``, or a version such as ``3.12``: every ``python3.12`` on ``PATH``, then
   pyenv's ``versions/3.12*/bin/python3.12``, the first that runs and is 3.12 wins, so
   a pyenv shim that refuses a version not selected is passed over as uv passes it);
2. ``--system``: the first ``python3``/``python`` on ``PATH``;
3. the active virtual environment (``VIRTUAL_ENV``, then ``CONDA_PREFIX``);
4. a ``.venv`` directory in the working directory or one of its parents.

A non-virtual environment whose stdlib holds an ``EXTERNALLY-MANAGED`` file
(PEP 668) is refused unless ``break_system_packages`` is given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from xv.cache import Cache
from xv.env.interpreter import Interpreter, query_interpreter
from xv.errors import TargetEnvironmentError

MIN_VERSION = (3, 8)
_VERSION_REQUEST = re.compile(r"(\d+)\.(\d+)")
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
    cache: Cache | None = None,
) -> Interpreter:
    """The interpreter whose environment is synced; raises TargetEnvironmentError."""
    if python is not None:
        interp = _first_usable(python, _resolve_python(python, cwd, environ), cache)
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


def _resolve_python(python: str, cwd: Path, environ: Mapping[str, str]) -> list[Path]:
    """The interpreters ``--python`` may mean, best first."""
    path = Path(python).expanduser()
    if not path.is_absolute() and (os.sep in python or Path(cwd, path).exists()):
        path = cwd / path
    if path.is_dir():
        found = venv_python(path)
        if found is None:
            raise TargetEnvironmentError(f"No Python interpreter found in {path}")
        return [found]
    if path.is_file():
        return [path]
    request = _VERSION_REQUEST.fullmatch(python)  # "3.12"
    if request is not None:
        version = (int(request[1]), int(request[2]))
        if version < MIN_VERSION:
            raise TargetEnvironmentError(
                f"Python {python} is not supported; xv supports Python 3.8 and newer"
            )
        candidates = _version_candidates(version, environ)
    else:
        on_path = _which(python, path=environ.get("PATH", os.defpath))
        candidates = [Path(on_path)] if on_path is not None else []
    if not candidates:
        raise TargetEnvironmentError(f"No Python interpreter found at `{python}`")
    return candidates


def _version_candidates(version: tuple[int, int], environ: Mapping[str, str]) -> list[Path]:
    """Every ``python3.X`` on ``PATH``, then pyenv's installs of 3.X (newest first)."""
    name = f"python{version[0]}.{version[1]}"
    found: list[Path] = []
    for directory in environ.get("PATH", os.defpath).split(os.pathsep):
        on_path = _which(name, path=directory) if directory else None
        if on_path is not None and Path(on_path) not in found:
            found.append(Path(on_path))
    home = environ.get("HOME")
    root = environ.get("PYENV_ROOT") or (os.path.join(home, ".pyenv") if home else None)
    versions = Path(root, "versions") if root else None
    if versions is not None and versions.is_dir():
        installs = versions.glob(f"{version[0]}.{version[1]}*/bin/{name}")
        for path in sorted(installs, key=_install_order, reverse=True):
            if path not in found and os.access(path, os.X_OK):
                found.append(path)
    return found


def _install_order(path: Path) -> tuple[int, ...]:
    """``versions/3.8.18/bin/python3.8`` -> (3, 8, 18); other names sort first."""
    parts = re.findall(r"\d+", path.parent.parent.name)
    return tuple(int(p) for p in parts)


def _first_usable(request: str, candidates: list[Path], cache: Cache | None) -> Interpreter:
    """The first candidate that describes itself (and, for ``3.X``, is 3.X)."""
    failures: list[str] = []
    wanted = _VERSION_REQUEST.fullmatch(request)
    for path in candidates:
        try:
            interp = query_interpreter(path, cache)
        except TargetEnvironmentError as exc:
            failures.append(str(exc))
            continue
        if wanted is not None and interp.python_version != f"{int(wanted[1])}.{int(wanted[2])}":
            failures.append(f"The interpreter at {path} is Python {interp.python_version}")
            continue
        return interp
    if len(failures) == 1:
        raise TargetEnvironmentError(failures[0])
    tried = "\n".join(f"- {failure}" for failure in failures)
    raise TargetEnvironmentError(f"No usable Python interpreter for `{request}`; tried:\n{tried}")


def _system_python(environ: Mapping[str, str]) -> Path:
    search = environ.get("PATH", os.defpath)
    for name in ("python3", "python"):
        found = _which(name, path=search)
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


def _which(name: str, path: str) -> str | None:
    """``shutil.which``, loaded on first use: a sync given its environment never searches
    ``PATH``, and shutil brings bz2 and lzma (~5 ms of a ~0.35 s sync)."""
    import shutil

    return shutil.which(name, path=path)
