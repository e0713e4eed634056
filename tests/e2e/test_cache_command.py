"""``xv cache dir|clean|prune|info`` end to end: a cache filled by real xv-compile and xv-sync
runs against the local index, and the commands run while another xv process uses it."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.e2e.test_sync_local import clean_env, lock, make_venv, run_py
from tests.support.localindex import LocalIndex, Pkg
from xv.cache import ROOT_LOCK, Cache, lock_file
from xv.cli import cache as cli
from xv.cli import sync as sync_cli

__all__ = ["clean_env"]
PKGS = [Pkg("alpha", "1.0", deps=["beta"]), Pkg("beta", "2.0"), Pkg("gamma", "1.0")]
XV = [sys.executable, "-c", "from xv.cli.cache import main; main()"]


@pytest.fixture(scope="module")
def index(localindex_build_cache: Path) -> Iterator[LocalIndex]:
    with LocalIndex(PKGS, build_cache=localindex_build_cache) as idx:
        yield idx


def xv(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


def filled(index: LocalIndex, tmp_path: Path) -> Path:
    """A cache holding alpha, beta and gamma: pages, metadata, wheels and archives."""
    venv = make_venv(tmp_path / "venv")
    src = lock(tmp_path, "alpha==1.0\nbeta==2.0\ngamma==1.0\n")
    result = CliRunner().invoke(sync_cli.main, [src, "-p", str(venv), "-i", index.url])
    assert result.exit_code == 0, result.output
    return tmp_path / "cache"


def names(root: Path, bucket: str) -> set[str]:
    found = set()
    for path in (root / bucket).rglob("*"):
        if ".dist-info" in path.name or path.suffix == ".whl":
            found.add(path.name.split("-")[0])
    return found


def test_dir_follows_the_option_the_variable_and_the_config(tmp_path: Path) -> None:
    assert xv("cache", "dir").output.strip() == str(tmp_path / "cache")  # XV_CACHE_DIR
    assert xv("cache", "dir", "--cache-dir", "elsewhere").output.strip() == "elsewhere"
    os.environ.pop("XV_CACHE_DIR")
    Path("xv.toml").write_text('cache-dir = "from-config"\n')
    assert xv("cache", "dir").output.strip() == "from-config"
    assert xv("cache", "dir", "--no-config").output.strip() != "from-config"


def test_clean_packages_removes_only_theirs(index: LocalIndex, tmp_path: Path) -> None:
    root = filled(index, tmp_path)
    assert names(root, "archives-v1") == {"alpha", "beta", "gamma"}
    result = xv("cache", "clean", "Alpha", "gamma")
    assert result.exit_code == 0
    assert result.output.startswith("Removed ") and result.output.rstrip().endswith("iB)")
    assert names(root, "archives-v1") == names(root, "wheels-v1") == {"beta"}
    manifests = list((root / "archives-v1").glob("*.manifest"))
    assert len(manifests) == 1  # the other archives' manifests went with them
    assert xv("cache", "clean", "alpha").output == "No cache entries found\n"
    # What is left still serves an offline sync of beta.
    venv = make_venv(tmp_path / "again")
    src = lock(tmp_path, "beta==2.0\n", "beta.txt")
    again = CliRunner().invoke(sync_cli.main, [src, "-p", str(venv), "--offline", "-i", index.url])  # fmt: skip
    assert again.exit_code == 0, again.output


def test_clean_everything_and_info(index: LocalIndex, tmp_path: Path) -> None:
    root = filled(index, tmp_path)
    (root / "not-ours.txt").write_text("a file someone put there\n")
    shown = xv("cache", "info")
    assert shown.exit_code == 0 and shown.output.startswith(f"Cache at: {root}\n")
    rows = {line.split()[0] for line in shown.output.splitlines()[1:]}
    assert {"archives-v1", "wheels-v1", "simple-v2", "interpreter-v1", "total"} <= rows
    result = xv("cache", "clean")
    assert result.output.splitlines()[0] == "Clearing cache at: cache"  # relative, as uv
    assert result.output.splitlines()[1].startswith("Removed ")
    assert sorted(p.name for p in root.iterdir()) == [ROOT_LOCK, "not-ours.txt"]
    assert xv("cache", "clean").output.splitlines()[1] == "No cache entries found"
    for command in ("clean", "prune"):
        missing = xv("cache", command, "--cache-dir", str(tmp_path / "none"))
        assert missing.output == "No cache found at: none\n"  # relative to the cwd
    assert not (tmp_path / "none").exists()


def test_prune_drops_what_no_run_can_use(index: LocalIndex, tmp_path: Path) -> None:
    root = filled(index, tmp_path)
    old = time.time() - 30 * 86400
    (root / "simple-v1").mkdir()  # a bucket of an older xv
    (root / "simple-v1" / "x").write_bytes(b"old")
    stray = root / "wheels-v1" / ".x.whl.0123456789ab.tmp"  # an interrupted download
    stray.write_bytes(b"partial")
    Cache(root).bucket("check-v1").put("stale", {"checked": old})
    os.utime(root / "check-v1" / "stale", (old, old))
    Cache(root).bucket("check-v1").put("recent", {"checked": time.time()})
    (root / "simple-v2" / "damaged").write_bytes(b"\x00not msgpack")
    archive = next(p for p in (root / "archives-v1").iterdir() if p.is_dir() and p.name[0] != ".")
    (root / "archives-v1" / f"{archive.name}.manifest").unlink()  # a half archive
    result = xv("cache", "prune")
    assert result.exit_code == 0 and result.output.splitlines()[1].startswith("Removed ")
    gone = [root / "simple-v1", stray, root / "check-v1" / "stale", archive]
    assert not any(p.exists() for p in [*gone, root / "simple-v2" / "damaged"])
    assert (root / "check-v1" / "recent").exists()
    assert len(names(root, "archives-v1")) == 2
    assert xv("cache", "prune").output.splitlines()[1] == "No unused entries found"


def test_clean_waits_for_a_sync_installing_from_the_cache(
    index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While xv-sync links files out of the archives, the root lock is held: a clean run
    at that moment could not take it (so it would wait instead of deleting the archive)."""
    apply = importlib.import_module("xv.sync.apply")
    real = apply.install_from_archive
    seen: list[bool] = []

    def probing(*args: Any, **kwargs: Any) -> Any:
        try:
            with lock_file(tmp_path / "cache" / ROOT_LOCK, blocking=False):
                seen.append(False)
        except BlockingIOError:
            seen.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(apply, "install_from_archive", probing)
    filled(index, tmp_path)
    assert len(seen) == 3 and all(seen)


def test_compile_holds_the_cache_while_it_runs(
    index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xv.lockfile
    from xv.cli import compile as compile_cli

    real = xv.lockfile.render
    seen: list[bool] = []

    def probing(*args: Any, **kwargs: Any) -> str:
        try:
            with lock_file(tmp_path / "cache" / ROOT_LOCK, blocking=False):
                seen.append(False)
        except BlockingIOError:
            seen.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(xv.lockfile, "render", probing)
    Path("r.in").write_text("alpha\n")
    result = CliRunner().invoke(compile_cli.main, ["r.in", "-i", index.url])
    assert result.exit_code == 0, result.output
    assert seen == [True]


def test_clean_in_another_process_waits_for_the_user_and_deletes_after(
    index: LocalIndex, tmp_path: Path
) -> None:
    root = filled(index, tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root), index.url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline() == "held\n"
    cleaner = subprocess.Popen(
        [*XV, "cache", "clean", "--cache-dir", str(root)], stderr=subprocess.PIPE, text=True
    )
    assert cleaner.stderr is not None
    assert cleaner.stderr.readline().startswith("Clearing cache at:")
    assert "waiting for other xv processes" in cleaner.stderr.readline()
    # The holder still installs from its archive: every file is there.
    assert names(root, "archives-v1") == {"alpha", "beta", "gamma"}
    venv = make_venv(tmp_path / "during")
    holder.stdin.write(f"{venv}\n")
    holder.stdin.flush()
    assert holder.stdout.readline() == "synced\n"
    assert run_py(venv, "import alpha, beta; print('ok')") == "ok"
    holder.stdin.close()
    assert holder.wait() == 0
    assert cleaner.stderr.readline().startswith("Removed ")
    assert cleaner.wait() == 0
    assert not (root / "archives-v1").exists()


# A process using the cache: holds it, then (told which venv) syncs from it offline.
HOLD = """
import sys
from xv.cache import Cache
from xv.cli.sync import main
root, url = sys.argv[1:]
with Cache(root).in_use():
    print("held", flush=True)
    venv = sys.stdin.readline().strip()
    with open("lock-during.txt", "w") as f:
        f.write("alpha==1.0\\nbeta==2.0\\n")
    try:
        main(["lock-during.txt", "-p", venv, "--offline", "--cache-dir", root, "-i", url, "-q"])
    except SystemExit as exc:
        assert exc.code == 0, exc.code
    print("synced", flush=True)
    sys.stdin.readline()
"""
