"""xv-compile then xv-sync with builds, in real virtualenvs: sdist-only pins, editables,
directories, sdist URLs and git entries; what is recorded, what is left alone, failures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import MakeIndex
from tests.e2e.test_sync_local import make_venv, pip_list, run_py
from tests.support.imports import run_importing
from tests.support.localindex import LocalIndex, Pkg
from xv.cli import compile as compile_cli
from xv.cli.sync import main as sync_main

BACKENDS = sorted((Path(__file__).parents[2] / "fixtures" / "backends").glob("*.whl"))
PKGS = [
    Pkg("srconly", "1.0", deps=["idna"], wheel=False, sdist_project_table=False),
    Pkg("idna", "3.10"),
]
PIP = [sys.executable, "-m", "pip"]


@pytest.fixture
def idx(make_index: MakeIndex, clean_home: Path) -> LocalIndex:
    index = make_index(PKGS)
    index.add_files(*BACKENDS)
    return index


def compile_(idx: LocalIndex, *args: str) -> Result:
    result = CliRunner().invoke(compile_cli.main, [*args, "-i", idx.url])
    assert result.exit_code == 0, result.output
    return result


def sync(idx: LocalIndex, venv: Path, *args: str) -> Result:
    return CliRunner().invoke(sync_main, [*args, "-p", str(venv), "-i", idx.url])


def flit_project(root: Path, version: str = "1.0") -> Path:
    (root / "demo").mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.2"]\nbuild-backend = "flit_core.buildapi"\n'
        '[project]\nname = "demo"\ndynamic = ["version", "description"]\n'
        'dependencies = ["idna"]\n'
    )
    (root / "demo/__init__.py").write_text(f'"""Demo."""\n__version__ = "{version}"\nX = 1\n')
    return root


def pip_check(venv: Path) -> None:
    out = subprocess.run(
        [*PIP, "--python", str(venv / "bin" / "python"), "check"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def direct_url(venv: Path, name: str) -> dict[str, object]:
    path = next(venv.glob(f"lib/*/site-packages/{name}-*.dist-info/direct_url.json"))
    return dict(json.loads(path.read_text()))


def test_sdist_only_pin_builds_once_for_two_environments(idx: LocalIndex, tmp_path: Path) -> None:
    Path("r.in").write_text("srconly\n")
    compile_(idx, "r.in", "-o", "r.txt")
    first = make_venv(tmp_path / "one")
    result = sync(idx, first, "r.txt")
    assert result.exit_code == 0, result.output
    assert run_py(first, "import srconly; print(srconly.__version__)") == "1.0"
    pip_check(first)
    assert pip_list(first) == {"idna": "3.10", "srconly": "1.0"}
    freeze = subprocess.run(
        [*PIP, "--python", str(first / "bin" / "python"), "freeze"], capture_output=True, text=True
    ).stdout.split()
    pins = [line for line in Path("r.txt").read_text().splitlines() if "==" in line]
    assert freeze == pins  # pip freeze equals the lock
    # A second environment reuses the wheel built for the first: --no-build cannot stop it.
    second = make_venv(tmp_path / "two")
    again = sync(idx, second, "r.txt", "--no-build")
    assert again.exit_code == 0, again.output
    assert pip_list(second) == pip_list(first)
    # ... without loading the build frontend, nor fetching the sdist again.
    third = make_venv(tmp_path / "three")
    idx.clear_log()
    output, modules = run_importing(
        "xv.cli.sync", "xv-sync", ["r.txt", "-p", str(third), "-i", idx.url]
    )
    assert "+ srconly==1.0" in output and pip_list(third) == pip_list(first)
    assert [
        m for m in ("xv.build.frontend", "xv.build.context", "pyproject_hooks") if m in modules
    ] == []
    assert not [r for r in idx.requests if r.path.endswith(".tar.gz")]


def test_a_built_wheel_is_not_used_against_the_locks_hash(idx: LocalIndex, tmp_path: Path) -> None:
    Path("r.txt").write_text("srconly==1.0\n")
    assert sync(idx, make_venv(tmp_path / "one"), "r.txt").exit_code == 0  # built and cached
    Path("r.txt").write_text(f"srconly==1.0 --hash=sha256:{'0' * 64}\n")
    second = make_venv(tmp_path / "two")
    result = sync(idx, second, "r.txt")
    assert result.exit_code == 1 and "Hash mismatch for srconly==1.0" in result.output
    assert pip_list(second) == {}


def test_editable_project_sees_edits_and_is_left_alone(idx: LocalIndex, tmp_path: Path) -> None:
    project = flit_project(tmp_path / "proj")
    Path("r.in").write_text("-e ./proj\n")
    compile_(idx, "r.in", "-o", "r.txt")
    assert Path("r.txt").read_text().count("-e ./proj\n") == 1
    venv = make_venv(tmp_path / "venv")
    result = sync(idx, venv, "r.txt")
    assert result.exit_code == 0, result.output
    assert f" + demo==1.0 (from {project.as_uri()})" in result.output
    assert direct_url(venv, "demo") == {"url": project.as_uri(), "dir_info": {"editable": True}}
    (project / "demo/__init__.py").write_text('"""Demo."""\n__version__ = "1.0"\nX = 2\n')
    assert run_py(venv, "import demo; print(demo.X)") == "2"  # no re-sync needed
    assert "Audited 2 packages" in sync(idx, venv, "r.txt").output
    pip_check(venv)
    flit_project(project, version="1.1")  # new metadata: a reinstall
    bumped = sync(idx, venv, "r.txt")
    assert " - demo==1.0" in bumped.output and " + demo==1.1" in bumped.output, bumped.output


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def test_directory_sdist_url_and_git_entries(idx: LocalIndex, tmp_path: Path) -> None:
    flit_project(tmp_path / "proj")
    repo = tmp_path / "repo"
    flit_project(repo / "sub")
    (repo / "sub/pyproject.toml").write_text(
        (repo / "sub/pyproject.toml").read_text().replace('"demo"', '"gitdemo"')
    )
    (repo / "sub/demo").rename(repo / "sub/gitdemo")
    _git(tmp_path, "init", "-q", "-b", "main", str(repo))
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "one")
    commit = _git(repo, "rev-parse", "HEAD")
    sdist = idx.entry("srconly-1.0.tar.gz")
    Path("r.in").write_text(
        "./proj\n"
        f"srconly @ {idx.file_url(sdist.filename)}\n"
        f"gitdemo @ git+file://{repo}@main#subdirectory=sub\n"
    )
    lock = compile_(idx, "r.in", "-o", "r.txt", "--generate-hashes")
    assert f"gitdemo @ git+file://{repo}@{commit}#subdirectory=sub\n" in Path("r.txt").read_text()
    assert f"--hash=sha256:{sdist.sha256}" in Path("r.txt").read_text(), lock.output
    venv = make_venv(tmp_path / "venv")
    result = sync(idx, venv, "r.txt")
    assert result.exit_code == 0, result.output
    assert run_py(venv, "import demo, gitdemo, srconly; print('ok')") == "ok"
    pip_check(venv)
    assert direct_url(venv, "gitdemo") == {
        "url": f"file://{repo}",
        "vcs_info": {"vcs": "git", "commit_id": commit, "requested_revision": commit},
        "subdirectory": "sub",
    }
    assert direct_url(venv, "demo")["dir_info"] == {}
    assert direct_url(venv, "srconly")["archive_info"] == {
        "hash": f"sha256={sdist.sha256}",
        "hashes": {"sha256": sdist.sha256},
    }
    assert "Audited 4 packages" in sync(idx, venv, "r.txt").output


def test_a_failing_build_leaves_the_environment_untouched(idx: LocalIndex, tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad/setup.py").write_text("raise RuntimeError('no compiler here')\n")
    Path("r.txt").write_text("idna==3.10\nbad @ ./bad\n")
    venv = make_venv(tmp_path / "venv")
    result = sync(idx, venv, "r.txt")
    assert result.exit_code == 1
    assert "Failed to build" in result.output and "no compiler here" in result.output
    assert pip_list(venv) == {}


def test_no_binary_builds_and_only_binary_refuses(idx: LocalIndex, tmp_path: Path) -> None:
    Path("r.txt").write_text("idna==3.10\nsrconly==1.0\n")
    venv = make_venv(tmp_path / "venv")
    refused = sync(idx, venv, "r.txt", "--only-binary", ":all:")
    assert refused.exit_code == 1
    assert "srconly==1.0 has only an sdist, and --only-binary refuses it" in refused.output
    assert pip_list(venv) == {}
    built = sync(idx, venv, "r.txt", "--no-binary", "idna")
    assert built.exit_code == 0, built.output
    assert pip_list(venv) == {"idna": "3.10", "srconly": "1.0"}
    # The idna wheel installed is the one built from the sdist (the index's own is not used).
    wheel = next(venv.glob("lib/*/site-packages/idna-3.10.dist-info/WHEEL")).read_text()
    assert (
        wheel
        == next(
            (tmp_path / "cache" / "archives-v1").glob("*/idna-3.10.dist-info/WHEEL")
        ).read_text()
    )
    assert (tmp_path / "cache" / "built-wheels-v1").is_dir()
    assert len(list((tmp_path / "cache" / "built-wheels-v1").glob("*/idna-*.whl"))) == 1


def test_a_lock_elsewhere_keeps_its_relative_paths(idx: LocalIndex, tmp_path: Path) -> None:
    flit_project(tmp_path / "proj")
    Path("r.in").write_text("-e ./proj\n")
    (tmp_path / "locks").mkdir()
    compile_(idx, "r.in", "-o", "locks/r.txt")
    assert "-e ../proj\n" in Path("locks/r.txt").read_text()
    venv = make_venv(tmp_path / "venv")
    result = sync(idx, venv, "locks/r.txt")
    assert result.exit_code == 0, result.output
    assert direct_url(venv, "demo")["url"] == (tmp_path / "proj").as_uri()
