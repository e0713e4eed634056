"""xv-compile with builds, end to end against the local index: sdist-only versions, every
direct requirement kind, projects as inputs, and build failures.

The expected texts are what ``uv pip compile`` writes for the same inputs (checked side by
side when written: paths stay as given, git URLs are pinned to the commit)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import MakeIndex
from tests.support.imports import run_importing
from tests.support.localindex import LocalIndex, Pkg
from xv.cli import compile as cli

BACKENDS = sorted((Path(__file__).parents[2] / "fixtures" / "backends").glob("*.whl"))
PKGS = [
    Pkg("gunicorn", "18.0"),
    Pkg("gunicorn", "19.0.0", wheel=False, sdist_project_table=False),
    Pkg("gunicorn", "19.1.0"),
    Pkg("docopt", "0.6.2", wheel=False, sdist_project_table=False),
    Pkg("idna", "3.10"),
    Pkg("six", "1.16.0"),
]


@pytest.fixture
def idx(
    make_index: MakeIndex, xv_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> LocalIndex:
    index = make_index(PKGS)
    index.add_files(*BACKENDS)
    return index


def xv(idx: LocalIndex, *args: str) -> Result:
    result = CliRunner().invoke(cli.main, [*args, "--no-header", "-i", idx.url])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def flit_project(root: Path, deps: str = '["idna"]', dynamic_deps: bool = False) -> Path:
    (root / "demo").mkdir(parents=True)
    table = 'dynamic = ["version", "description"]\n'
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.2"]\nbuild-backend = "flit_core.buildapi"\n'
        f'[project]\nname = "demo"\n{table}dependencies = {deps}\n'
    )
    (root / "demo/__init__.py").write_text('"""Demo."""\n__version__ = "1.0"\n')
    return root


def test_sdist_only_version_is_chosen_as_uv_does(idx: LocalIndex) -> None:
    Path("r.in").write_text("gunicorn>=18,<19.1\ndocopt==0.6.2\n")
    result = xv(idx, "r.in")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "docopt==0.6.2\n    # via -r r.in\ngunicorn==19.0.0\n    # via -r r.in\n"
    )


def test_no_build_names_the_sdist_only_version(idx: LocalIndex) -> None:
    Path("r.in").write_text("docopt==0.6.2\n")
    result = xv(idx, "r.in", "--no-build")
    assert result.exit_code == 1
    assert "docopt==0.6.2 has no usable wheels" in result.stderr
    assert "building from source is disabled for all packages" in result.stderr


def test_editable_local_and_url_requirements(idx: LocalIndex, tmp_path: Path) -> None:
    flit_project(tmp_path / "proj")
    sdist = idx.entry("docopt-0.6.2.tar.gz")
    (tmp_path / "dl").mkdir()
    wheel = Path(idx.file_path("six-1.16.0-py3-none-any.whl"))
    (tmp_path / "dl" / wheel.name).write_bytes(wheel.read_bytes())
    Path("r.in").write_text(
        "-e ./proj\n"
        f"./dl/{wheel.name}\n"
        f"docopt @ {idx.file_url(sdist.filename)}#sha256={sdist.sha256}\n"
    )
    result = xv(idx, "r.in", "--generate-hashes")
    assert result.exit_code == 0, result.output
    idna = sorted(idx.sha256(f) for f in ("idna-3.10-py3-none-any.whl", "idna-3.10.tar.gz"))
    assert result.stdout == (
        "-e ./proj\n"
        "    # via -r r.in\n"
        f"docopt @ {idx.file_url(sdist.filename)}#sha256={sdist.sha256} \\\n"
        f"    --hash=sha256:{sdist.sha256}\n"
        "    # via -r r.in\n"
        "idna==3.10 \\\n"
        f"    --hash=sha256:{idna[0]} \\\n"
        f"    --hash=sha256:{idna[1]}\n"
        "    # via demo\n"
        f"./dl/{wheel.name} \\\n"
        f"    --hash=sha256:{idx.sha256(wheel.name)}\n"
        "    # via -r r.in\n"
    )


def test_paths_are_written_relative_to_the_output_file(idx: LocalIndex, tmp_path: Path) -> None:
    flit_project(tmp_path / "proj")
    Path("r.in").write_text("-e ./proj\n")
    (tmp_path / "locks").mkdir()
    result = xv(idx, "r.in", "-o", "locks/out.txt")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "locks/out.txt").read_text().startswith("-e ../proj\n")


def test_a_wrong_sha256_fragment_is_refused(idx: LocalIndex) -> None:
    Path("r.in").write_text(f"docopt @ {idx.file_url('docopt-0.6.2.tar.gz')}#sha256={'0' * 64}\n")
    result = xv(idx, "r.in")
    assert result.exit_code != 0
    assert "docopt-0.6.2.tar.gz" in result.stderr


def test_a_name_that_does_not_match_the_metadata(idx: LocalIndex) -> None:
    Path("r.in").write_text(f"other @ {idx.file_url('six-1.16.0-py3-none-any.whl')}\n")
    result = xv(idx, "r.in")
    assert result.exit_code == 2
    assert "holds six, not other" in result.stderr


def test_a_transitive_url_dependency_must_be_direct(idx: LocalIndex, tmp_path: Path) -> None:
    flit_project(tmp_path / "proj", deps=f'["six @ {idx.file_url("six-1.16.0-py3-none-any.whl")}"]')
    Path("r.in").write_text("./proj\n")
    result = xv(idx, "r.in")
    assert result.exit_code == 1
    assert "URL dependencies must also be given as direct requirements" in result.stderr
    Path("r.in").write_text(f"./proj\n{idx.file_url('six-1.16.0-py3-none-any.whl')}\n")
    assert xv(idx, "r.in").exit_code == 0


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def test_git_requirement_is_pinned_to_the_commit(idx: LocalIndex, tmp_path: Path) -> None:
    repo = flit_project(tmp_path / "repo" / "sub").parent
    _git(tmp_path, "init", "-q", "-b", "main", str(repo))
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "one")
    _git(repo, "tag", "v1")
    commit = _git(repo, "rev-parse", "HEAD")
    Path("r.in").write_text(f"demo @ git+file://{repo}@v1#subdirectory=sub\n")
    result = xv(idx, "r.in")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"demo @ git+file://{repo}@{commit}#subdirectory=sub\n"
        "    # via -r r.in\nidna==3.10\n    # via demo\n"
    )


def test_setup_py_and_dynamic_pyproject_inputs(idx: LocalIndex, tmp_path: Path) -> None:
    Path("setup.py").write_text(
        "from setuptools import setup\n"
        'setup(name="leg", version="0.1", install_requires=["six"], '
        'extras_require={"idna": ["idna"]}, py_modules=[])\n'
    )
    result = xv(idx, "setup.py", "--extra", "idna")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "idna==3.10\n    # via leg (setup.py)\nsix==1.16.0\n    # via leg (setup.py)\n"
    )


def test_recompiling_an_unchanged_project_needs_no_build(
    idx: LocalIndex, tmp_path: Path, make_index: MakeIndex
) -> None:
    flit_project(tmp_path / "proj")
    Path("r.in").write_text("-e ./proj\n")
    first = xv(idx, "r.in")
    assert first.exit_code == 0, first.output
    # An index without any build backend: only the cached metadata can answer.
    bare = make_index([Pkg("idna", "3.10")])
    assert xv(bare, "r.in").stdout == first.stdout
    (tmp_path / "proj/demo/__init__.py").write_text('"""Demo."""\n__version__ = "2.0"\n')
    assert xv(bare, "r.in").exit_code == 1  # a changed version source needs a build again


def test_a_static_project_loads_no_build_machinery(idx: LocalIndex, tmp_path: Path) -> None:
    # A [project] table with static metadata: a warm recompile of ``-e ./proj`` reads it
    # and loads nothing a build needs (issue 13: it costs no more than its dependencies).
    flit_project(tmp_path / "proj")
    text = (tmp_path / "proj/pyproject.toml").read_text()
    static = text.replace('dynamic = ["version", "description"]', 'version = "1.0"')
    (tmp_path / "proj/pyproject.toml").write_text(static)
    Path("r.in").write_text("-e ./proj\n")
    first = xv(idx, "r.in", "-o", "r.txt")
    assert first.exit_code == 0, first.output
    lock = Path("r.txt").read_text()
    idx.clear_log()
    argv = ["r.in", "-o", "r.txt", "-i", idx.url, "--no-header"]
    _, modules = run_importing("xv.cli.compile", "xv-compile", argv)
    assert Path("r.txt").read_text() == lock and "-e ./proj\n" in lock
    heavy = ("pyproject_hooks", "xv.build.frontend", "xv.build.requires", "xv.build.hookpair",
             "xv.install.archive", "multiprocessing", "tarfile", "zipfile", "email.parser",
             "packaging.metadata", "urllib.request", "http.client")  # fmt: skip
    assert [m for m in heavy if m in modules] == []
    assert idx.requests == []


def test_a_failing_build_says_which_package_and_hook(idx: LocalIndex, tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad/setup.py").write_text("raise RuntimeError('no compiler here')\n")
    Path("r.in").write_text("./bad\n")
    result = xv(idx, "r.in")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: Failed to build ./bad: get_requires_for_build_wheel: failed (exit status 1)\n"
    )
    assert "no compiler here" in result.stderr


def test_universal_keeps_direct_references(idx: LocalIndex, tmp_path: Path) -> None:
    flit_project(tmp_path / "proj")
    Path("r.in").write_text("-e ./proj\n")
    result = xv(idx, "r.in", "--universal")
    assert result.exit_code == 0, result.output
    assert result.stdout == "-e ./proj\n    # via -r r.in\nidna==3.10\n    # via demo\n"


def test_universal_builds_sdist_only_versions(idx: LocalIndex) -> None:
    Path("r.in").write_text("gunicorn>=18,<19.1\n")
    result = xv(idx, "r.in", "--universal")
    assert result.exit_code == 0, result.output
    assert result.stdout == "gunicorn==19.0.0\n    # via -r r.in\n"
