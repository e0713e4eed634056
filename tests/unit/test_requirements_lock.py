"""The project's own test lock (requirements/test.in -> test.txt) keeps up with pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from xv.lockfile import parse
from xv.reqfile import parse_file

ROOT = Path(__file__).resolve().parents[2]


def _pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return {canonicalize_name(Requirement(text).name) for text in declared}


def test_test_in_names_every_runtime_and_test_dependency() -> None:
    listed = {
        canonicalize_name(req.name)
        for req in parse_file(ROOT / "requirements" / "test.in", environ={}).requirements
        if req.name
    }
    missing = _pyproject_names() - listed
    assert not missing, f"requirements/test.in lacks {sorted(missing)}; add them and re-lock"


def test_test_lock_pins_every_dependency_with_hashes() -> None:
    lock = parse(ROOT / "requirements" / "test.txt")
    pinned = {canonicalize_name(name): pin for name, pin in lock.items()}
    assert _pyproject_names() <= set(pinned)
    assert all(pin.hashes for pin in pinned.values())
