"""``-p 3.X`` past pyenv shims, whole probe failures, and Python 2 (issue 10 defect 7).

Uses the pyenv Pythons of the machine when they are installed (skipped otherwise); the
shim is a stand-in script that fails as pyenv's does for a version not selected.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from xv.env import find_target
from xv.errors import TargetEnvironmentError

SHIM_ERROR = """pyenv: python3.8: command not found

The `python3.8' command exists in these Python versions:
  3.8.18

Note: See 'pyenv help global' for tips on allowing multiple
      Python versions to be found at the same time."""


def _pyenv_root() -> Path | None:
    try:
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(out.stdout.strip())


def _pyenv_python(version: str) -> Path:
    root = _pyenv_root()
    found = sorted(root.glob(f"versions/{version}*/bin/python{version}")) if root else []
    if not found:
        pytest.skip(f"no pyenv Python {version}")
    return found[-1]


def _shim(tmp_path: Path, name: str = "python3.8") -> Path:
    shims = tmp_path / "shims"
    shims.mkdir(exist_ok=True)
    script = shims / name
    script.write_text(f"#!/bin/sh\ncat >&2 <<'EOF'\n{SHIM_ERROR}\nEOF\nexit 127\n")
    script.chmod(0o755)
    return shims


def test_a_failing_shim_is_passed_over_for_pyenvs_install(tmp_path: Path) -> None:
    python = _pyenv_python("3.8")
    root = python.parents[2].parent  # <root>/versions/3.8.x/bin/python3.8
    env = {"PATH": str(_shim(tmp_path)), "PYENV_ROOT": str(root)}
    interp = find_target("3.8", False, True, tmp_path, env)
    assert interp.python_version == "3.8"
    assert interp.executable == python


def test_a_later_python_on_path_is_tried(tmp_path: Path) -> None:
    python = _pyenv_python("3.13")
    shims = _shim(tmp_path, "python3.13")
    env = {"PATH": f"{shims}:{python.parent}", "PYENV_ROOT": str(tmp_path / "none")}
    assert find_target("3.13", False, True, tmp_path, env).executable == python


def test_when_nothing_works_the_whole_message_is_shown(tmp_path: Path) -> None:
    env = {"PATH": str(_shim(tmp_path)), "PYENV_ROOT": str(tmp_path / "none")}
    with pytest.raises(TargetEnvironmentError) as err:
        find_target("3.8", False, True, tmp_path, env)
    text = str(err.value)
    assert "failed to describe itself" in text
    for line in SHIM_ERROR.splitlines():
        assert line.strip() in text  # not only the last line


def test_python_2_is_not_supported(tmp_path: Path) -> None:
    python = _pyenv_python("2.7")
    with pytest.raises(TargetEnvironmentError, match="Python 2.7 is not supported") as err:
        find_target(str(python), False, True, tmp_path, {})
    assert "python -h" not in str(err.value)
    with pytest.raises(TargetEnvironmentError, match="Python 2.7 is not supported"):
        find_target("2.7", False, True, tmp_path, {"PATH": str(python.parent)})
