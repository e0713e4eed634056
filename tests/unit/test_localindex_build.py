"""The local test index's artifacts: real, reproducible, installable wheels and sdists."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.support.localindex import Pkg, build, build_artifacts
from tests.support.localindex.backend import expand_tag

FLASK = Pkg(
    "Flask",
    "3.0.0",
    deps=["werkzeug>=3", "click>=8; python_version>='3.8'"],
    extras={"async": ["asgiref>=3.2", "trio; sys_platform != 'win32'"]},
    requires_python=">=3.8",
    console_scripts={"flask": "flask:main"},
    gui_scripts={"flask-gui": "flask:main"},
    data_files={"share/flask/x.txt": b"data\n"},
    files={"flask/extra.py": "VALUE = 42\n"},
)
PIP_ENV = {**os.environ, "PIP_CONFIG_FILE": "/dev/null", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def read_record(zf: zipfile.ZipFile, dist_info: str) -> list[list[str]]:
    return list(csv.reader(zf.read(f"{dist_info}/RECORD").decode().splitlines()))


def test_wheel_has_correct_record_metadata_and_entry_points(tmp_path: Path) -> None:
    wheel = build.build_wheel(FLASK, "py3-none-any", tmp_path)
    assert wheel.name == "flask-3.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        assert zf.testzip() is None
        rows = read_record(zf, "flask-3.0.0.dist-info")
        assert sorted(row[0] for row in rows) == sorted(zf.namelist())
        for name, digest, size in rows:
            if name.endswith("RECORD"):
                assert (digest, size) == ("", "")
                continue
            data = zf.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == "sha256=" + expected.decode() and int(size) == len(data)
        metadata = zf.read("flask-3.0.0.dist-info/METADATA").decode()
        wheel_file = zf.read("flask-3.0.0.dist-info/WHEEL").decode()
        entry_points = zf.read("flask-3.0.0.dist-info/entry_points.txt").decode()
        assert zf.read("flask-3.0.0.data/data/share/flask/x.txt") == b"data\n"
        assert zf.read("flask/extra.py") == b"VALUE = 42\n"
        assert b'__version__ = "3.0.0"' in zf.read("flask/__init__.py")
        assert {i.date_time for i in zf.infolist()} == {(2020, 2, 2, 0, 0, 0)}
    assert metadata.startswith("Metadata-Version: 2.1\nName: Flask\nVersion: 3.0.0\n")
    assert "Requires-Dist: click>=8; python_version>='3.8'\n" in metadata
    assert "Requires-Dist: trio; (sys_platform != 'win32') and extra == \"async\"\n" in metadata
    assert "Root-Is-Purelib: true\nTag: py3-none-any\n" in wheel_file
    assert "[console_scripts]\nflask = flask:main\n" in entry_points
    assert "[gui_scripts]\nflask-gui = flask:main\n" in entry_points


def test_one_wheel_per_tag_and_compressed_tag_sets(tmp_path: Path) -> None:
    tags = ("cp311-cp311-manylinux_2_17_x86_64", "cp38-abi3-win_amd64", "py2.py3-none-any")
    pkg = Pkg("native-ext", "1.0", tags=tags, sdist=False)
    paths = build_artifacts(pkg, tmp_path)
    assert [p.name for p in paths] == [f"native_ext-1.0-{tag}.whl" for tag in tags]
    with zipfile.ZipFile(paths[0]) as zf:
        wheel_file = zf.read("native_ext-1.0.dist-info/WHEEL").decode()
    assert "Root-Is-Purelib: false\nTag: cp311-cp311-manylinux_2_17_x86_64\n" in wheel_file
    assert expand_tag("py2.py3-none-any") == ["py2-none-any", "py3-none-any"]


def test_artifacts_are_reproducible(tmp_path: Path) -> None:
    first = build_artifacts(FLASK, tmp_path / "a")
    second = build_artifacts(FLASK, tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_large_and_zip64_wheels(tmp_path: Path) -> None:
    pkg = Pkg("big", "1.0", pad_bytes=300_000, zip64=True, sdist=False)
    (wheel,) = build_artifacts(pkg, tmp_path)
    data = wheel.read_bytes()
    assert 300_000 < len(data) < 303_000  # the padding is stored, not compressed
    assert b"PK\x06\x06" in data[-120:] and b"PK\x06\x07" in data[-120:]
    assert data[-22:-18] == b"PK\x05\x06" and data[-12:-8] == b"\xff" * 4
    with zipfile.ZipFile(wheel) as zf:
        assert zf.testzip() is None
        assert len(zf.read("big/_padding.bin")) == 300_000


def _tar_text(path: Path, member: str) -> str:
    with tarfile.open(path) as tar:
        stream = tar.extractfile(member)
        assert stream is not None
        return stream.read().decode()


def test_sdist_layout_and_pyproject(tmp_path: Path) -> None:
    sdist = build.build_sdist(Pkg("Zope.Interface", "6.0", deps=["setuptools"]), tmp_path)
    assert sdist.name == "zope_interface-6.0.tar.gz"
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    assert "zope_interface-6.0/_backend/xv_test_backend.py" in names
    assert "zope_interface-6.0/zope_interface/__init__.py" in names
    pyproject = tomllib.loads(_tar_text(sdist, "zope_interface-6.0/pyproject.toml"))
    assert pyproject["build-system"] == {
        "requires": [],
        "build-backend": "xv_test_backend",
        "backend-path": ["_backend"],
    }
    assert pyproject["project"]["dependencies"] == ["setuptools"]
    assert "Name: Zope.Interface\nVersion: 6.0\n" in _tar_text(sdist, "zope_interface-6.0/PKG-INFO")
    only = Pkg("only-sdist", "1.0", wheel=False, sdist_project_table=False)
    (only_sdist,) = build_artifacts(only, tmp_path)
    assert only_sdist.name == "only_sdist-1.0.tar.gz"
    assert "[project]" not in _tar_text(only_sdist, "only_sdist-1.0/pyproject.toml")


HOOKS = """
import json, sys
sys.path.insert(0, "_backend")
import xv_test_backend as backend
out = sys.argv[1]
print(json.dumps({
    "requires": backend.get_requires_for_build_wheel(),
    "metadata_dir": backend.prepare_metadata_for_build_wheel(out),
    "wheel": backend.build_wheel(out),
}))
"""


def test_in_tree_backend_rebuilds_the_same_wheel_offline(tmp_path: Path) -> None:
    (wheel, sdist) = build_artifacts(FLASK, tmp_path / "dist")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "src", filter="data")
    out = tmp_path / "out"
    out.mkdir()
    env = {"PATH": os.environ["PATH"], "PYTHONNOUSERSITE": "1"}
    proc = subprocess.run(
        [sys.executable, "-I", "-c", HOOKS, str(out)],
        cwd=tmp_path / "src" / "flask-3.0.0",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(proc.stdout)
    assert result == {
        "requires": [],
        "metadata_dir": "flask-3.0.0.dist-info",
        "wheel": wheel.name,
    }
    assert (out / wheel.name).read_bytes() == wheel.read_bytes()
    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read("flask-3.0.0.dist-info/METADATA")
    assert (out / "flask-3.0.0.dist-info" / "METADATA").read_bytes() == metadata


def _pip_install(target: str, prefix: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--isolated", "--no-index", "--no-deps",
         "--no-cache-dir", "--quiet", "--prefix", str(prefix), target],
        env=PIP_ENV,
        check=True,
        capture_output=True,
    )  # fmt: skip


def _run_script(prefix: Path, script: str) -> str:
    purelib = sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)})
    env = {**os.environ, "PYTHONPATH": purelib}
    proc = subprocess.run(
        [str(prefix / "bin" / script)], env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout


def test_pip_installs_the_wheel_and_its_console_script_runs(tmp_path: Path) -> None:
    (wheel,) = build_artifacts(Pkg("Flask", "3.0.0", console_scripts=FLASK.console_scripts,
                                   data_files=FLASK.data_files, sdist=False), tmp_path)  # fmt: skip
    _pip_install(str(wheel), tmp_path / "prefix")
    assert _run_script(tmp_path / "prefix", "flask") == "Flask 3.0.0\n"
    assert (tmp_path / "prefix" / "share" / "flask" / "x.txt").read_bytes() == b"data\n"


def test_pip_builds_and_installs_the_sdist_without_network(tmp_path: Path) -> None:
    pkg = Pkg("demo-sdist", "0.1", wheel=False, console_scripts={"demo": "demo_sdist:main"})
    (sdist,) = build_artifacts(pkg, tmp_path)
    _pip_install(str(sdist), tmp_path / "prefix")
    assert _run_script(tmp_path / "prefix", "demo") == "demo-sdist 0.1\n"


def test_build_cache_reuses_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    first = build_artifacts(FLASK, tmp_path / "a", cache)
    assert [p.name for p in cache.iterdir()] == [FLASK.artifact_key()]

    def no_build(*args: object) -> None:
        raise AssertionError("rebuilt although cached")

    monkeypatch.setattr(build, "_build_into", no_build)
    yanked = Pkg(**{**FLASK.__dict__, "yanked": "x", "upload_time": "2024-01-01T00:00:00Z"})
    second = build_artifacts(yanked, tmp_path / "b", cache)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert Pkg("Flask", "3.0.0").artifact_key() != FLASK.artifact_key()
