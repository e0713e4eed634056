"""Every module of xv imports on its own in a fresh interpreter (no import cycles)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import xv
from xv import errors


def _all_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(xv.__path__, prefix="xv."))


@pytest.mark.parametrize("module", _all_modules())
def test_module_imports_alone(module: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_every_error_derives_from_xverror() -> None:
    leaves = [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type)
        and issubclass(obj, Exception)
        and obj.__module__ == errors.__name__
    ]
    assert errors.XvError in leaves and len(leaves) > 5
    for cls in leaves:
        assert issubclass(cls, errors.XvError), cls


def test_input_error_names_file_and_line() -> None:
    err = errors.RequirementFileError("invalid requirement 'x>>2'", file="r.in", line=7)
    assert str(err) == "r.in:7: invalid requirement 'x>>2'"
    assert err.exit_code == 2
    assert str(errors.InputError("no such file", file="r.in")) == "r.in: no such file"
