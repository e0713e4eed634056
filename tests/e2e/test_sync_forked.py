"""A fresh environment installed by forked workers (xv.forked) is the one an in-order
install makes, and a worker killed part way leaves what the next run repairs.

The syncs run as processes of their own: a forked worker needs a one-thread parent
(this one runs the index's server thread). ``XV_TEST_FORK`` makes them fork for these
few small wheels."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MakeIndex
from tests.e2e.test_sync_local import lock, make_venv, run_py, snapshot
from tests.support.localindex import LocalIndex, Pkg
from xv.forked import ENV_TEST_FORK
from xv.install.killpoint import ENV_KILL_AFTER

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork")

# A chain (c2 needs c1 needs c0), a namespace directory that four of them fill, scripts.
PKGS = [
    Pkg("c0", "1.0", files={"ns/c0/__init__.py": "V = 0\n", "c0/__init__.py": "X = 0\n"}),
    Pkg("c1", "1.0", deps=["c0"], files={"ns/c1/__init__.py": "V = 1\n", "c1/a/b.py": ""}),
    Pkg("c2", "1.0", deps=["c1"], console_scripts={"c2-cli": "c2:main"},
        files={"c2/__init__.py": "def main():\n    print('c2')\n", "ns/c2/x.py": ""}),
    Pkg("d0", "1.0", files={"ns/d0/__init__.py": "", "d0/deep/er/still.py": "Y = 1\n"}),
    Pkg("d1", "1.0"),
    Pkg("d2", "1.0"),
]  # fmt: skip
LOCK = "c0==1.0\nc1==1.0\nc2==1.0\nd0==1.0\nd1==1.0\nd2==1.0\n"
IMPORTS = "import c0, c1, c1.a.b, c2, d0, d0.deep.er.still, d1, d2, ns.c0, ns.c1, ns.c2.x, ns.d0"


@pytest.fixture
def index(make_index: MakeIndex) -> LocalIndex:
    return make_index(PKGS)


def xv_sync(
    index: LocalIndex, venv: Path, requirements: str, **env: str
) -> subprocess.CompletedProcess[str]:
    code = "import sys; sys.argv[0] = 'xv-sync'; from xv.cli.entry import sync_main; sync_main()"
    args = [sys.executable, "-c", code, requirements, "-p", str(venv), "-i", index.url, "-q"]
    return subprocess.run(args, capture_output=True, text=True, env={**os.environ, **env})


def site_packages(venv: Path) -> Path:
    return next(venv.glob("lib/python*/site-packages"))


def test_forked_workers_install_what_one_process_installs(
    index: LocalIndex, tmp_path: Path, bare_home: Path
) -> None:
    requirements = lock(tmp_path, LOCK)
    alone = make_venv(tmp_path / "venv")  # the same path twice: launchers name it
    assert xv_sync(index, alone, requirements).returncode == 0
    expected = snapshot(site_packages(alone))
    shutil.rmtree(alone)
    forked = make_venv(tmp_path / "venv")
    done = xv_sync(index, forked, requirements, **{ENV_TEST_FORK: "1"})
    assert done.returncode == 0, done.stderr
    assert snapshot(site_packages(forked)) == expected
    assert run_py(forked, f"{IMPORTS}; print('ok')") == "ok"
    assert subprocess.run([str(forked / "bin" / "c2-cli")], capture_output=True, text=True).stdout == "c2\n"  # fmt: skip
    assert not (forked / ".xv-journal").exists()


@pytest.mark.parametrize("budget", [0, 3, 7, 12])
def test_a_worker_killed_part_way_is_repaired_by_the_next_run(
    index: LocalIndex, tmp_path: Path, bare_home: Path, budget: int
) -> None:
    """Each worker inherits the kill budget: the first to spend it dies (SIGKILL, in the
    middle of an install); the sync fails with a clear error, the journal stays, and the
    next sync leaves the whole lock installed."""
    requirements = lock(tmp_path, LOCK)
    venv = make_venv(tmp_path / "venv")
    killed = xv_sync(index, venv, requirements, **{ENV_TEST_FORK: "1", ENV_KILL_AFTER: str(budget)})
    assert killed.returncode == 1, killed.stderr
    assert "a worker process died" in killed.stderr and "Traceback" not in killed.stderr
    assert (venv / ".xv-journal").exists()
    again = xv_sync(index, venv, requirements)
    assert again.returncode == 0, again.stderr
    assert run_py(venv, f"{IMPORTS}; print('ok')") == "ok"
    assert not list(venv.rglob("*.xv-tmp")) and not (venv / ".xv-journal").exists()
    repaired = snapshot(site_packages(venv))
    shutil.rmtree(venv)
    fresh = make_venv(tmp_path / "venv")
    assert xv_sync(index, fresh, requirements).returncode == 0
    assert repaired == snapshot(site_packages(fresh))
