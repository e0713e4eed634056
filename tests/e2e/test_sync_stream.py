"""Hostile downloads in the prepare pipeline: a wheel is trusted (unpacked into the cache,
installed) only after every byte of it was checked against its hash, whichever workers
download and unpack it; a download cut short leaves nothing behind that a later run
would trust."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MakeIndex
from tests.e2e.test_sync_local import clean_env, lock, make_venv, run_py, snapshot, sync
from tests.support.localindex import LocalIndex, Pkg

__all__ = ["clean_env"]
WHEEL = "evil-1.0-py3-none-any.whl"
PKGS = [Pkg("good", "1.0"), Pkg("evil", "1.0", files={"evil/__init__.py": "X = 'listed'\n"})]


def cached_evil(cache: Path) -> list[Path]:
    """Anything of ``evil`` the cache kept: wheel files, unpacked trees, staging dirs."""
    return [
        *cache.glob(f"wheels-v1/*/{WHEEL}"),
        *cache.glob("archives-v1/*/evil"),
        *cache.glob("archives-v1/.*/evil"),
    ]


@pytest.fixture
def index(make_index: MakeIndex) -> LocalIndex:
    return make_index(PKGS)


def venv_with_good(index: LocalIndex, tmp_path: Path) -> tuple[Path, str]:
    """A venv holding ``good``, and its snapshot: a failed sync of ``evil==1.0`` (which
    would remove good) must leave it exactly so."""
    venv = make_venv(tmp_path / "venv")
    assert sync(index, venv, lock(tmp_path, "good==1.0\n", "good.txt")).exit_code == 0
    return venv, snapshot(venv)


@pytest.mark.parametrize("pool", ["thread", "process"])
def test_a_wheel_whose_bytes_differ_from_its_hash_is_never_unpacked(
    index: LocalIndex, make_index: MakeIndex, tmp_path: Path, pool: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("XV_POOL", pool)
    # A valid wheel of the same name and version, but not the bytes the index lists.
    other = make_index([Pkg("evil", "1.0", files={"evil/__init__.py": "X = 'swapped'\n"})])
    index.file_path(WHEEL).write_bytes(other.file_path(WHEEL).read_bytes())
    venv, before = venv_with_good(index, tmp_path)
    result = sync(index, venv, lock(tmp_path, "evil==1.0\n"))
    assert result.exit_code == 1, result.output
    assert "Hash mismatch" in result.output and "Traceback" not in result.output
    assert cached_evil(tmp_path / "cache") == []
    assert snapshot(venv) == before


def test_an_interrupted_download_leaves_nothing_trusted(index: LocalIndex, tmp_path: Path) -> None:
    venv, before = venv_with_good(index, tmp_path)
    index.inject_fault("truncate", times=20, match=WHEEL)
    try:
        result = sync(index, venv, lock(tmp_path, "evil==1.0\n"))
    finally:
        index.clear_faults()
    assert result.exit_code == 1, result.output
    assert "Failed to download evil" in result.output and "Traceback" not in result.output
    assert cached_evil(tmp_path / "cache") == []
    assert snapshot(venv) == before
    again = sync(index, venv, lock(tmp_path, "evil==1.0\n"))
    assert again.exit_code == 0, again.output
    assert run_py(venv, "import evil; print(evil.X)") == "listed"


def test_a_wheel_the_lock_refuses_is_neither_unpacked_nor_kept(
    index: LocalIndex, tmp_path: Path
) -> None:
    """The index vouches for the bytes, the lock's ``--hash`` does not."""
    venv = make_venv(tmp_path / "venv")
    text = f"good==1.0\nevil==1.0 --hash=sha256:{'0' * 64}\n"
    result = sync(index, venv, lock(tmp_path, text))
    assert result.exit_code == 1, result.output
    assert "Hash mismatch for evil" in result.output
    assert cached_evil(tmp_path / "cache") == []
