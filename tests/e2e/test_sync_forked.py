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
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MakeIndex
from tests.e2e.test_sync_cache import tamper
from tests.e2e.test_sync_local import lock, make_venv, run_py, snapshot
from tests.support.localindex import LocalIndex, Pkg
from xv.cache import Bucket
from xv.forked import ENV_TEST_FORK
from xv.install.archive import manifest_key
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
IMPORTS = "import c0, c1, c1.a.b, c2, d0, d0.deep.er.still, d1, d2, ns.c0, ns.c1, ns.c2.x, ns.d0"


@pytest.fixture
def index(make_index: MakeIndex) -> LocalIndex:
    return make_index(PKGS)


def hashed_lock(index: LocalIndex, tmp_path: Path) -> str:
    """The lock of every package, each pinning its wheel's sha256 (a cached tree is then
    taken without the index: verified, and validated meanwhile, on forked workers)."""
    pins = [f"{p.name}==1.0 --hash=sha256:{index.sha256(f'{p.name}-1.0-py3-none-any.whl')}" for p in PKGS]  # fmt: skip
    return lock(tmp_path, "\n".join(pins) + "\n")


def xv_sync(
    index: LocalIndex, venv: Path, requirements: str, *options: str, **env: str
) -> subprocess.CompletedProcess[str]:
    code = "import sys; sys.argv[0] = 'xv-sync'; from xv.cli.entry import sync_main; sync_main()"
    args = [sys.executable, "-c", code, requirements, "-p", str(venv), "-i", index.url, "-q"]
    args += options
    return subprocess.run(args, capture_output=True, text=True, env={**os.environ, **env})


def synced_c0_tree(
    index: LocalIndex, tmp_path: Path, requirements: str
) -> tuple[Path, dict[str, Any], Callable[[dict[str, Any]], object]]:
    """After a forked sync of ``requirements`` into a first venv: c0's cached tree, its
    manifest, and what writes a new manifest for it."""
    first = xv_sync(index, make_venv(tmp_path / "first"), requirements, **{ENV_TEST_FORK: "1"})
    assert first.returncode == 0, first.stderr
    tree = next(p.parents[1] for p in (tmp_path / "cache" / "archives-v1").glob("*/c0/__init__.py"))
    manifests, key = Bucket(tree.parent), manifest_key(tree.name)
    doc = manifests.get(key)
    assert doc is not None
    return tree, doc, partial(manifests.put, key)


def site_packages(venv: Path) -> Path:
    return next(venv.glob("lib/python*/site-packages"))


def test_forked_workers_install_what_one_process_installs(
    index: LocalIndex, tmp_path: Path, bare_home: Path
) -> None:
    requirements = hashed_lock(index, tmp_path)
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
    requirements = hashed_lock(index, tmp_path)
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


@pytest.mark.parametrize("keep_stat", [False, True])
def test_a_tree_validated_while_it_failed_its_verification_is_not_installed(
    index: LocalIndex, tmp_path: Path, bare_home: Path, keep_stat: bool
) -> None:
    """The trees are validated while forked workers verify them. Here c0's manifest keeps
    a layout of its own making (a script the wheel lacks: what a validation would accept,
    as the files it lists are there), and a file of the tree is damaged (edited; or
    METADATA, which every verification hashes, with its size and mtime kept): the tree
    fails its verification and is unpacked again from its wheel, and the layout validated
    early is not the one installed."""
    requirements = hashed_lock(index, tmp_path)
    tree, doc, rewrite = synced_c0_tree(index, tmp_path, requirements)
    layout = {**doc["layout"], "entry_points": [("planted-cli", "c0", "X", False)]}
    rewrite({**doc, "layout": layout})
    if keep_stat:
        metadata = next(tree.glob("*.dist-info/METADATA"))
        tamper(metadata, metadata.read_bytes().replace(b"Name: c0", b"Name: c9"), keep_stat=True)
    else:
        tamper(tree / "c0" / "__init__.py", b"X = 'evil'\n", keep_stat=False)
    venv = make_venv(tmp_path / "venv")
    done = xv_sync(index, venv, requirements, **{ENV_TEST_FORK: "1"})
    assert done.returncode == 0, done.stderr
    assert run_py(venv, "import c0; print(c0.X)") == "0"
    assert not (venv / "bin" / "planted-cli").exists()


def test_forked_workers_hand_back_what_bytecode_compiling_needs(
    index: LocalIndex, tmp_path: Path, bare_home: Path
) -> None:
    venv = make_venv(tmp_path / "venv")
    args = ("--compile-bytecode",)
    done = xv_sync(index, venv, hashed_lock(index, tmp_path), *args, **{ENV_TEST_FORK: "1"})
    assert done.returncode == 0, done.stderr
    compiled = {p.parent.parent.name for p in site_packages(venv).glob("*/**/__pycache__/*.pyc")}
    assert {"c0", "c1", "c2", "d0"} <= compiled


def test_a_tree_missing_a_file_is_installed_whole_after_its_early_validation(
    index: LocalIndex, tmp_path: Path, bare_home: Path
) -> None:
    """A manifest without a layout (an older one) makes the early validation read the tree,
    which has lost a file (a layout without it); the verification fails, the tree is
    unpacked again, and the package is installed whole."""
    requirements = hashed_lock(index, tmp_path)
    tree, doc, rewrite = synced_c0_tree(index, tmp_path, requirements)
    rewrite({k: v for k, v in doc.items() if k != "layout"})
    (tree / "c0").chmod(0o755)
    (tree / "c0" / "__init__.py").unlink()
    venv = make_venv(tmp_path / "venv")
    done = xv_sync(index, venv, requirements, **{ENV_TEST_FORK: "1"})
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert run_py(venv, "import c0; print(c0.X)") == "0"
