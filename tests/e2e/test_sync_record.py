"""The sync record (xv.sync.record): a no-op xv-sync answered without reading the lock,
and never when anything it depended on changed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_sync_local import changes, clean_env, lock, make_venv, pip_list, sync
from tests.support.imports import run_importing
from tests.support.localindex import LocalIndex, Pkg

__all__ = ["clean_env"]
PKGS = [Pkg("alpha", "1.0"), Pkg("alpha", "2.0"), Pkg("beta", "1.0"), Pkg("gamma", "1.0")]
RECORD = ".xv-sync-record"
# What a no-op answered from the record must not import: the HTTP stack and index client,
# the resolver, the requirement-file and METADATA parsers, the installer.
HEAVY = (
    "requests", "xv.index.client", "xv.index.simple", "xv.resolver.resolve",
    "xv.resolver.provider", "xv.reqfile.parser", "packaging.requirements", "email.parser",
    "xv.install.archive", "xv.pool",
)  # fmt: skip


@pytest.fixture(scope="module")
def index(localindex_build_cache: Path) -> Iterator[LocalIndex]:
    with LocalIndex(PKGS, build_cache=localindex_build_cache) as idx:
        yield idx


def synced(index: LocalIndex, tmp_path: Path, text: str) -> tuple[Path, str]:
    venv = make_venv(tmp_path / "venv")
    path = lock(tmp_path, text)
    result = sync(index, venv, path)
    assert result.exit_code == 0, result.output
    assert (venv / RECORD).is_file()
    return venv, path


def test_a_no_op_is_answered_without_the_parsers(index: LocalIndex, tmp_path: Path) -> None:
    venv, path = synced(index, tmp_path, "alpha==1.0\nbeta==1.0\n")
    output, modules = run_importing(
        "xv.cli.sync", "xv-sync", [path, "-p", str(venv), "-i", index.url]
    )
    assert "Audited 2 packages" in output
    assert "xv.sync.record" in modules and "click" in modules  # the run was measured
    assert sorted(m for m in HEAVY if m in modules) == []


# What a warm sync into a fresh venv (every page and wheel in the cache) must not import:
# nothing is sent, so nothing of the HTTP stack is needed.
NETWORK = ("requests", "urllib3", "charset_normalizer", "cachecontrol", "xv.index.http")


@pytest.mark.parametrize("offline", [False, True])
def test_a_warm_sync_into_a_fresh_venv_loads_no_http_stack(
    index: LocalIndex, tmp_path: Path, offline: bool
) -> None:
    _, path = synced(index, tmp_path, "alpha==1.0\nbeta==1.0\n")  # fills the cache
    fresh = make_venv(tmp_path / "fresh")
    argv = [path, "-p", str(fresh), "-i", index.url, *(["--offline"] if offline else [])]
    output, modules = run_importing("xv.cli.sync", "xv-sync", argv)
    assert "+ alpha==1.0" in output and "+ beta==1.0" in output
    assert "xv.index.client" in modules and "xv.install.archive" in modules  # it did install
    assert sorted(m for m in NETWORK if m in modules) == []


def test_a_changed_lock_is_read(index: LocalIndex, tmp_path: Path) -> None:
    venv, path = synced(index, tmp_path, "alpha==1.0\nbeta==1.0\n")
    Path(path).write_text("alpha==2.0\nbeta==1.0\n")
    result = sync(index, venv, path)
    assert result.exit_code == 0 and changes(result) == [" - alpha==1.0", " + alpha==2.0"]
    assert pip_list(venv) == {"alpha": "2.0", "beta": "1.0"}


def test_a_package_installed_by_another_tool_is_seen(index: LocalIndex, tmp_path: Path) -> None:
    venv, path = synced(index, tmp_path, "alpha==1.0\n")
    other = make_venv(tmp_path / "other")
    assert sync(index, other, lock(tmp_path, "gamma==1.0\n", "g.txt")).exit_code == 0
    site = next((venv / "lib").glob("python*/site-packages"))
    source = next(next((other / "lib").glob("python*/site-packages")).glob("gamma-*.dist-info"))
    shutil.copytree(source, site / source.name)  # as another installer would leave it
    result = sync(index, venv, path)
    assert result.exit_code == 0 and changes(result) == [" - gamma==1.0"]


def test_metadata_edited_in_place_is_seen(index: LocalIndex, tmp_path: Path) -> None:
    venv, path = synced(index, tmp_path, "alpha==1.0\n")
    metadata = next(next((venv / "lib").glob("python*/site-packages")).glob("alpha-*/METADATA"))
    metadata.write_text(metadata.read_text().replace("Version: 1.0", "Version: 9.0"))
    result = sync(index, venv, path)
    assert result.exit_code == 0 and changes(result) == [" - alpha==9.0", " + alpha==1.0"]


def test_a_removed_package_is_reinstalled(index: LocalIndex, tmp_path: Path) -> None:
    venv, path = synced(index, tmp_path, "alpha==1.0\nbeta==1.0\n")
    result = sync(index, venv, path, "--check")
    assert result.exit_code == 0 and "Audited 2 packages" in result.output
    site = next((venv / "lib").glob("python*/site-packages"))
    for dist_info in site.glob("beta-*.dist-info"):
        for member in dist_info.iterdir():
            member.unlink()
        dist_info.rmdir()
    assert sync(index, venv, path, "--check").exit_code == 1
    result = sync(index, venv, path)
    assert result.exit_code == 0 and changes(result) == [" + beta==1.0"]


@pytest.mark.parametrize(
    "files",
    [
        {"requirements.txt": "-r base.txt\n", "base.txt": "alpha==1.0\n"},
        {"requirements.txt": "alpha==${ALPHA_VERSION}\n"},
    ],
    ids=["include", "variable"],
)
def test_no_record_when_the_bytes_do_not_decide(
    index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]
) -> None:
    monkeypatch.setenv("ALPHA_VERSION", "1.0")
    for name, text in files.items():
        lock(tmp_path, text, name)
    venv = make_venv(tmp_path / "venv")
    assert sync(index, venv, str(tmp_path / "requirements.txt")).exit_code == 0
    assert not (venv / RECORD).exists()
    (tmp_path / "base.txt").write_text("alpha==2.0\n")
    monkeypatch.setenv("ALPHA_VERSION", "2.0")
    result = sync(index, venv, str(tmp_path / "requirements.txt"))
    assert result.exit_code == 0 and pip_list(venv) == {"alpha": "2.0"}
