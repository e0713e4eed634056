"""The cache is verified before use and heals: damaged archives are rebuilt from their
wheel, damaged wheels downloaded again, whatever the damage."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_sync_local import clean_env, lock, make_venv, run_py, sync
from tests.support.localindex import LocalIndex, Pkg

__all__ = ["clean_env"]
PKG = Pkg("tool", "1.0", console_scripts={"tool-cli": "tool:main"},
          files={"tool/__init__.py": "VALUE = 'original'\ndef main():\n    print(VALUE)\n"})  # fmt: skip


@pytest.fixture(scope="module")
def index(localindex_build_cache: Path) -> Iterator[LocalIndex]:
    with LocalIndex([PKG], build_cache=localindex_build_cache) as idx:
        yield idx


def archive(tmp_path: Path) -> Path:
    return next(
        p
        for p in (tmp_path / "cache" / "archives-v1").iterdir()
        if p.is_dir() and not p.name.startswith(".")
    )


def tamper(path: Path, data: bytes, keep_stat: bool) -> None:
    """Overwrite a (read-only) cached file; with ``keep_stat`` its size and mtime stay."""
    info = path.stat()
    if keep_stat:
        data = data[: info.st_size].ljust(info.st_size, b" ")
    path.chmod(0o644)
    path.write_bytes(data)
    path.chmod(info.st_mode)
    if keep_stat:
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def installed_value(venv: Path) -> str:
    return run_py(venv, "import tool; print(tool.VALUE)")


def fresh_sync(index: LocalIndex, tmp_path: Path, name: str, *args: str) -> Path:
    venv = make_venv(tmp_path / name)
    result = sync(index, venv, lock(tmp_path, "tool==1.0\n"), *args)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return venv


def test_cached_files_are_read_only(index: LocalIndex, tmp_path: Path) -> None:
    fresh_sync(index, tmp_path, "v1")
    files = [p for p in archive(tmp_path).rglob("*") if p.is_file()]
    assert files and all(p.stat().st_mode & 0o222 == 0 for p in files)


def test_an_edited_archive_file_is_rebuilt(index: LocalIndex, tmp_path: Path) -> None:
    fresh_sync(index, tmp_path, "v1")
    tamper(archive(tmp_path) / "tool" / "__init__.py", b"VALUE = 'evil'\n", keep_stat=False)
    assert installed_value(fresh_sync(index, tmp_path, "v2")) == "original"  # size or mtime


@pytest.mark.parametrize("flag", ["--reinstall", "--refresh", "hashed lock"])
def test_a_stealthy_edit_is_caught_by_a_full_check(
    index: LocalIndex, tmp_path: Path, flag: str
) -> None:
    fresh_sync(index, tmp_path, "v1")
    original = (archive(tmp_path) / "tool" / "__init__.py").read_bytes()
    evil = original.replace(b"original", b"evil!!!!")
    tamper(archive(tmp_path) / "tool" / "__init__.py", evil, keep_stat=True)
    if flag == "hashed lock":
        sha = index.sha256("tool-1.0-py3-none-any.whl")
        venv = make_venv(tmp_path / "v2")
        result = sync(index, venv, lock(tmp_path, f"tool==1.0 --hash=sha256:{sha}\n"))
        assert result.exit_code == 0, result.output
    else:
        venv = fresh_sync(index, tmp_path, "v2", flag)
    assert installed_value(venv) == "original"


@pytest.mark.parametrize("member", ["RECORD", "WHEEL", "entry_points.txt", "METADATA"])
def test_garbled_metadata_in_the_cache_heals(
    index: LocalIndex, tmp_path: Path, member: str
) -> None:
    fresh_sync(index, tmp_path, "v1")
    target = next(archive(tmp_path).glob(f"*.dist-info/{member}"))
    tamper(target, b"\xff\xfe\x00garbage\xff" * 40, keep_stat=True)
    venv = fresh_sync(index, tmp_path, "v2")
    assert installed_value(venv) == "original"
    assert "\ufffd" not in target.read_text(errors="replace")  # rebuilt


@pytest.mark.parametrize("refresh", [False, True])
def test_a_corrupt_cached_wheel_without_its_archive_heals(
    index: LocalIndex, tmp_path: Path, refresh: bool
) -> None:
    fresh_sync(index, tmp_path, "v1")
    wheel = next((tmp_path / "cache" / "wheels-v1").rglob("*.whl"))
    wheel.write_bytes(b"PK\x03\x04 truncated")
    tree = archive(tmp_path)
    for path in sorted(tree.rglob("*"), reverse=True):
        path.chmod(0o755) if path.is_dir() else path.unlink()
    for path in sorted(tree.rglob("*"), reverse=True):
        path.rmdir()
    tree.rmdir()
    venv = fresh_sync(index, tmp_path, "v2", *(["--refresh"] if refresh else []))
    assert installed_value(venv) == "original"
    assert zipfile.is_zipfile(wheel)
