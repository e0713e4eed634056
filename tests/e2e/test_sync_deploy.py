"""xv-sync for deploys, end to end against the local index: ``--strict`` and
``--download-only DIR`` followed by an offline install from that wheelhouse."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.support.localindex import LocalIndex, Pkg
from xv.cli.sync import main

PKGS = [
    Pkg("app", "1.0", deps=["lib>=2", "fast[turbo]; python_version >= '3'",
                            "never; python_version < '3'"]),
    Pkg("lib", "1.0"),
    Pkg("lib", "2.0"),
    Pkg("fast", "1.0", extras={"turbo": ["speedy>=1"]}),
    Pkg("speedy", "1.0"),
    Pkg("srconly", "1.0", wheel=False),
    Pkg("dated", "1.0", upload_time="2024-01-01T00:00:00Z"),
    Pkg("dated", "2.0", upload_time="2024-06-01T00:00:00Z"),
]  # fmt: skip


@pytest.fixture(scope="module")
def index(localindex_build_cache: Path) -> Iterator[LocalIndex]:
    with LocalIndex(PKGS, build_cache=localindex_build_cache) as idx:
        yield idx


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    path = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


@pytest.fixture(autouse=True)
def clean_env(clean_home: Path) -> None:
    pass


def xv_sync(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def installed(venv: Path) -> set[str]:
    site = next(venv.glob("lib/python*/site-packages"))
    return {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}


# -- --strict ------------------------------------------------------------------


def test_strict_names_unmet_requirements_and_extras(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    (tmp_path / "lock.txt").write_text("app==1.0\nlib==1.0\nfast==1.0\n")
    plain = xv_sync("lock.txt", "-p", str(venv), "-i", index.url)
    assert plain.exit_code == 0, plain.output  # without --strict the sync is all it checks

    strict = xv_sync("lock.txt", "--strict", "-p", str(venv), "-i", index.url)
    assert strict.exit_code == 1, strict.output
    assert "app 1.0 has requirement lib>=2, but you have lib 1.0." in strict.output
    # fast[turbo] asks for speedy (pip check does not follow extras)
    assert "fast 1.0 requires speedy>=1, which is not installed." in strict.output
    assert "never" not in strict.output  # its marker is false for the target
    assert installed(venv) == {"app", "lib", "fast"}  # the sync itself happened


def test_strict_passes_when_met(index: LocalIndex, venv: Path, tmp_path: Path) -> None:
    (tmp_path / "lock.txt").write_text("app==1.0\nlib==2.0\nfast==1.0\nspeedy==1.0\n")
    first = xv_sync("lock.txt", "--strict", "-p", str(venv), "-i", index.url)
    assert first.exit_code == 0, first.output
    again = xv_sync("lock.txt", "--strict", "-p", str(venv), "-i", index.url)  # nothing to do
    assert again.exit_code == 0, again.output


# -- --download-only, then an offline install from the wheelhouse -------------


def test_download_only_then_offline_install(
    localindex_build_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    house = tmp_path / "wheelhouse"
    with LocalIndex(PKGS, build_cache=localindex_build_cache) as idx:
        lock = "".join(
            f"{n}=={v} --hash=sha256:{idx.sha256(f'{n}-{v}-py3-none-any.whl')}\n"
            for n, v in (("app", "1.0"), ("lib", "2.0"), ("fast", "1.0"), ("speedy", "1.0"))
        )
        (tmp_path / "lock.txt").write_text(lock)
        got = xv_sync("--download-only", str(house), "lock.txt", "-p", str(venv), "-i", idx.url)
        assert got.exit_code == 0, got.output
        assert "Downloaded 4 packages" in got.output
        again = xv_sync("--download-only", str(house), "lock.txt", "-p", str(venv), "-i", idx.url)
        assert again.exit_code == 0 and "Kept 4" in again.output, again.output
    assert sorted(p.name for p in house.iterdir()) == sorted(
        f"{n}-{v}-py3-none-any.whl" for n, v in (("app", "1.0"), ("lib", "2.0"), ("fast", "1.0"), ("speedy", "1.0"))
    )  # fmt: skip
    assert installed(venv) == set()  # no environment touched

    # The index is stopped; a fresh cache proves the files come from the wheelhouse.
    monkeypatch.setenv("XV_CACHE_DIR", str(tmp_path / "cache2"))
    offline = xv_sync(
        "--offline", "--no-index", "--find-links", str(house), "--strict", "lock.txt",
        "-p", str(venv),
    )  # fmt: skip
    assert offline.exit_code == 0, offline.output
    assert installed(venv) == {"app", "lib", "fast", "speedy"}


def test_download_only_refuses_a_tampered_file(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    (tmp_path / "lock.txt").write_text("lib==2.0 --hash=sha256:" + "0" * 64 + "\n")
    house = tmp_path / "wheelhouse"
    got = xv_sync("--download-only", str(house), "lock.txt", "-p", str(venv), "-i", index.url)
    assert got.exit_code == 1, got.output
    assert "Hash mismatch" in got.output
    assert not any(p.suffix == ".whl" for p in house.rglob("*"))  # nothing unverified kept


def test_download_only_keeps_the_sdist_of_a_wheelless_pin(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    (tmp_path / "lock.txt").write_text("srconly==1.0\n")
    house = tmp_path / "wheelhouse"
    got = xv_sync("--download-only", str(house), "lock.txt", "-p", str(venv), "-i", index.url)
    assert got.exit_code == 0, got.output
    assert [p.name for p in house.iterdir()] == ["srconly-1.0.tar.gz"]


# -- uv's and pip-sync's spellings ---------------------------------------------


def test_python_executable_is_pip_syncs_spelling_of_p(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    (tmp_path / "lock.txt").write_text("lib==2.0\n")
    got = xv_sync("lock.txt", "--python-executable", str(venv / "bin" / "python"), "-i", index.url)
    assert got.exit_code == 0, got.output
    assert installed(venv) == {"lib"}


def test_link_mode_symlink_points_into_the_cache(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    (tmp_path / "lock.txt").write_text("lib==2.0\n")
    got = xv_sync("lock.txt", "--link-mode", "symlink", "-p", str(venv), "-i", index.url)
    assert got.exit_code == 0, got.output
    site = next(venv.glob("lib/python*/site-packages"))
    module = site / "lib" / "__init__.py"
    assert module.is_symlink()
    assert Path(os.readlink(module)).is_relative_to(tmp_path / "cache")
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import lib; print(lib.__version__)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "2.0"
    (tmp_path / "lock.txt").write_text("lib==1.0\n")  # an upgrade replaces the links
    again = xv_sync("lock.txt", "--link-mode", "symlink", "-p", str(venv), "-i", index.url)
    assert again.exit_code == 0, again.output
    assert "1.0" in (site / "lib" / "__init__.py").read_text()
    (tmp_path / "lock.txt").write_text("fast==1.0\n")  # a removal removes them
    gone = xv_sync("lock.txt", "--link-mode", "symlink", "-p", str(venv), "-i", index.url)
    assert gone.exit_code == 0, gone.output
    assert not (site / "lib").exists() and installed(venv) == {"fast"}
    assert any((tmp_path / "cache").rglob("lib/__init__.py"))  # the cache's files stay


def test_exclude_newer_refuses_a_pin_uploaded_later(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    (tmp_path / "lock.txt").write_text("dated==2.0\n")
    late = xv_sync("lock.txt", "--exclude-newer", "2024-03-01", "-p", str(venv), "-i", index.url)
    assert late.exit_code == 1, late.output
    assert "dated==2.0 has no file uploaded before --exclude-newer" in late.output
    assert installed(venv) == set()
    ok = xv_sync("lock.txt", "--exclude-newer", "2024-07-01", "-p", str(venv), "-i", index.url)
    assert ok.exit_code == 0, ok.output
    bad = xv_sync("lock.txt", "--exclude-newer", "soon", "-p", str(venv), "-i", index.url)
    assert bad.exit_code == 2 and "invalid --exclude-newer" in bad.output, bad.output


# -- --target and --prefix -----------------------------------------------------

NATIVE = Pkg(
    "native", "1.0", sdist=False,
    tags=("cp312-cp312-manylinux_2_17_x86_64", "cp310-cp310-manylinux_2_17_x86_64",
          "cp312-cp312-macosx_11_0_arm64"),
)  # fmt: skip
SCRIPTED = Pkg("tool", "1.0", deps=["lib"], console_scripts={"tool-cli": "tool:main"})


@pytest.fixture(scope="module")
def deploy_index(localindex_build_cache: Path) -> Iterator[LocalIndex]:
    with LocalIndex([*PKGS, NATIVE, SCRIPTED], build_cache=localindex_build_cache) as idx:
        yield idx


def test_target_installs_at_the_top_of_a_directory(
    deploy_index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    (tmp_path / "lock.txt").write_text("tool==1.0\nlib==2.0\n")
    target = tmp_path / "target"
    args = ("--target", str(target), "-p", str(venv), "-i", deploy_index.url)
    got = xv_sync("lock.txt", "--strict", *args)
    assert got.exit_code == 0, got.output
    assert (target / "tool" / "__init__.py").is_file() and (target / "lib").is_dir()
    assert (target / "bin" / "tool-cli").is_file()
    assert installed(venv) == set()  # the interpreter's own environment is untouched
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import lib; print(lib.__version__)"],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(target)},
    )  # fmt: skip
    assert out.stdout.strip() == "2.0"
    (tmp_path / "lock.txt").write_text("lib==1.0\n")  # a sync: the rest of the directory goes
    again = xv_sync("lock.txt", *args)
    assert again.exit_code == 0, again.output
    names = {p.name for p in target.iterdir()} - {".lock", "bin"}
    assert names == {"lib", "lib-1.0.dist-info"}, names
    assert not any((target / "bin").iterdir())  # the script went with its package


def test_prefix_installs_as_a_virtual_environment_would(
    deploy_index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    (tmp_path / "lock.txt").write_text("tool==1.0\nlib==2.0\n")
    prefix = tmp_path / "prefix"
    got = xv_sync("lock.txt", "--prefix", str(prefix), "-p", str(venv), "-i", deploy_index.url)
    assert got.exit_code == 0, got.output
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert (prefix / "lib" / f"python{version}" / "site-packages" / "tool-1.0.dist-info").is_dir()
    assert (prefix / "bin" / "tool-cli").is_file()


@pytest.mark.parametrize(
    ("version", "platform", "tag"),
    [
        ("3.12", "x86_64-manylinux_2_28", "cp312-cp312-manylinux_2_17_x86_64"),
        ("3.10", "linux", "cp310-cp310-manylinux_2_17_x86_64"),
        ("3.12", "aarch64-apple-darwin", "cp312-cp312-macosx_11_0_arm64"),
    ],
)
def test_python_version_and_platform_choose_the_wheel_for_a_target(
    deploy_index: LocalIndex, venv: Path, tmp_path: Path, version: str, platform: str, tag: str
) -> None:
    (tmp_path / "lock.txt").write_text("native==1.0\n")
    target = tmp_path / "target"
    got = xv_sync(
        "lock.txt", "--target", str(target), "--python-version", version,
        "--python-platform", platform, "-p", str(venv), "-i", deploy_index.url,
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    wheel = (target / "native-1.0.dist-info" / "WHEEL").read_text()
    assert f"Tag: {tag}" in wheel


def test_python_platform_without_a_directory_is_refused(
    deploy_index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    (tmp_path / "lock.txt").write_text("native==1.0\n")
    got = xv_sync("lock.txt", "--python-platform", "linux", "-p", str(venv), "-i", deploy_index.url)
    assert got.exit_code == 2 and "--target, --prefix or --download-only" in got.output
    both = xv_sync("lock.txt", "--target", "a", "--prefix", "b", "-p", str(venv))
    assert both.exit_code == 2 and "cannot be used together" in both.output


def test_download_only_for_another_platform(
    deploy_index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    (tmp_path / "lock.txt").write_text("native==1.0\n")
    house = tmp_path / "wheelhouse"
    got = xv_sync(
        "--download-only", str(house), "lock.txt", "--python-version", "3.12",
        "--python-platform", "aarch64-apple-darwin", "-p", str(venv), "-i", deploy_index.url,
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    assert [p.name for p in house.iterdir()] == ["native-1.0-cp312-cp312-macosx_11_0_arm64.whl"]
