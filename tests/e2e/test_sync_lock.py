"""One sync at a time per environment: the lock lives inside the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.e2e.test_sync_local import clean_env, make_venv, pip_list
from tests.support.localindex import LocalIndex, Pkg
from xv.cli.sync import main
from xv.env.lock import environment_lock, lock_path

__all__ = ["clean_env"]  # the autouse fixture, shared
N = 20
PKGS = [Pkg(f"p{i}", v) for i in range(N) for v in ("1.0", "2.0")]


@pytest.fixture(scope="module")
def index(localindex_build_cache: Path) -> Iterator[LocalIndex]:
    with LocalIndex(PKGS, build_cache=localindex_build_cache) as idx:
        yield idx


def test_the_lock_is_inside_the_environment_whatever_the_path(tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    link = tmp_path / "link"
    link.symlink_to(venv)
    assert lock_path(link) == lock_path(venv) == venv.resolve() / ".lock"
    probe = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept OSError:\n"
        "    sys.exit(3)\n"
    )
    with environment_lock(link):  # held through the symlink...
        taken = subprocess.run([sys.executable, "-c", probe, str(venv / ".lock")])
    assert taken.returncode == 3  # ...so another process cannot take it through the real path
    free = subprocess.run([sys.executable, "-c", probe, str(venv / ".lock")])
    assert free.returncode == 0


def test_two_syncs_through_a_symlink_serialize(index: LocalIndex, tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    link = tmp_path / "link"
    link.symlink_to(venv)
    runs = []
    for version, path, cache in (("1.0", venv, "c1"), ("2.0", link, "c2")):
        text = "".join(f"p{i}=={version}\n" for i in range(N))
        lock = tmp_path / f"lock-{version}.txt"
        lock.write_text(text)
        (tmp_path / cache).mkdir()
        env = {**os.environ, "XV_CACHE_DIR": str(tmp_path / cache), "TMPDIR": str(tmp_path / cache)}
        args = [str(lock), "-p", str(path), "-i", index.url, "-q"]
        code = f"from xv.cli.sync import main; main({args!r})"
        runs.append(subprocess.Popen([sys.executable, "-c", code], env=env))
    assert [run.wait(timeout=120) for run in runs] == [0, 0]
    installed = pip_list(venv)
    assert len(installed) == N and len(set(installed.values())) == 1  # one lock, not a mixture
    dist_infos = list(venv.glob("lib/*/site-packages/*.dist-info"))
    assert len(dist_infos) == N


def test_a_lock_that_cannot_be_taken_is_a_clear_error(index: LocalIndex, tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    (venv / ".lock").mkdir()  # not a file: cannot be opened for locking (also as root)
    lock = tmp_path / "requirements.txt"
    lock.write_text("p1==1.0\n")
    result = CliRunner().invoke(main, [str(lock), "-p", str(venv), "-i", index.url])
    assert result.exit_code == 2, result.output
    assert "cannot lock the environment" in result.output and "Traceback" not in result.output
    dry = CliRunner().invoke(main, [str(lock), "-p", str(venv), "-i", index.url, "--dry-run"])
    assert dry.exit_code == 0 and "+ p1==1.0" in dry.output
