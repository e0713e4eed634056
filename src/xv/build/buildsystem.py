"""A source tree's ``[build-system]`` table (PEP 517/518), with pip's and uv's defaults.

A tree without pyproject.toml, or whose pyproject.toml has no ``[build-system]``,
is a legacy setuptools project: ``requires = ["setuptools>=40.8.0"]`` and the
``setuptools.build_meta:__legacy__`` backend, which runs ``setup.py`` as pip did.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from xv.errors import PyprojectError
from xv.records import record

LEGACY_REQUIRES = ("setuptools>=40.8.0",)
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"


@record
class BuildSystem:
    """What a frontend needs to call a tree's backend."""

    requires: tuple[str, ...]
    backend: str
    backend_path: tuple[str, ...] = ()

    @property
    def is_legacy(self) -> bool:
        return self.backend == LEGACY_BACKEND


def read_build_system(source_dir: Path) -> BuildSystem:
    """The build system of ``source_dir``; PyprojectError for a malformed table."""
    path = source_dir / "pyproject.toml"
    if not path.is_file():
        return BuildSystem(LEGACY_REQUIRES, LEGACY_BACKEND)
    data = load_pyproject(path)
    table = data.get("build-system")
    if table is None:
        return BuildSystem(LEGACY_REQUIRES, LEGACY_BACKEND)
    if not isinstance(table, dict):
        raise PyprojectError("[build-system] must be a table", str(path))
    requires = table.get("requires")
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise PyprojectError("[build-system] requires must be a list of strings", str(path))
    for text in requires:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise PyprojectError(f"invalid build requirement {text!r}: {exc}", str(path)) from None
    backend = table.get("build-backend")
    if backend is None:
        # PEP 517: requires without a backend means the legacy setuptools backend.
        return BuildSystem(tuple(requires), LEGACY_BACKEND)
    if not isinstance(backend, str) or not backend.strip():
        raise PyprojectError("[build-system] build-backend must be a string", str(path))
    backend_path = table.get("backend-path", [])
    if not isinstance(backend_path, list) or not all(isinstance(p, str) for p in backend_path):
        raise PyprojectError("[build-system] backend-path must be a list of strings", str(path))
    return BuildSystem(tuple(requires), backend.strip(), tuple(backend_path))


def load_pyproject(path: Path) -> dict[str, object]:
    """The parsed file, or PyprojectError naming it."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise PyprojectError(f"not valid TOML: {exc}", str(path)) from None
    except OSError as exc:
        raise PyprojectError(f"cannot read: {exc}", str(path)) from None
