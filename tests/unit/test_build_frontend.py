"""build/: real PEP 517 builds against the local index (flit_core and setuptools vendored
under fixtures/backends), the caches in front of them, failures, and git sources."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.conftest import MakeIndex
from tests.support.localindex import LocalIndex, Pkg
from xv.build import vcs
from xv.build.builder import Builder
from xv.build.frontend import BuildOptions, Frontend
from xv.build.requires import ResolverProvisioner
from xv.cache import Cache
from xv.env.interpreter import Interpreter, query_interpreter
from xv.errors import BuildError
from xv.index.client import IndexClient
from xv.index.settings import IndexSettings

BACKENDS = sorted((Path(__file__).parents[2] / "fixtures" / "backends").glob("*.whl"))


@pytest.fixture
def idx(make_index: MakeIndex) -> LocalIndex:
    index = make_index([Pkg("idna", "3.10"), Pkg("six", "1.16.0")])
    index.add_files(*BACKENDS)
    return index


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


@pytest.fixture
def interp(cache: Cache) -> Interpreter:
    return query_interpreter(sys.executable, cache)


class CountingFrontend(Frontend):
    """Counts the hook sessions, to prove that a cached answer started no backend."""

    sessions = 0

    def session(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.sessions += 1
        return super().session(*args, **kwargs)


def make_builder(
    idx: LocalIndex, cache: Cache, interp: Interpreter, **options: object
) -> tuple[Builder, CountingFrontend]:
    client = IndexClient(IndexSettings(index_url=idx.url), cache)
    constraints = options.pop("constraints", ())
    frontend = CountingFrontend(
        interp,
        ResolverProvisioner(client, constraints),  # type: ignore[arg-type]
        BuildOptions(**options),  # type: ignore[arg-type]
    )
    return Builder(frontend, cache), frontend


def flit_project(root: Path, version: str = "1.2") -> Path:
    (root / "demo").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.2"]\nbuild-backend = "flit_core.buildapi"\n'
        '[project]\nname = "demo"\ndynamic = ["version", "description"]\n'
        'dependencies = ["idna"]\n'
    )
    (root / "demo/__init__.py").write_text(f'"""Demo."""\n__version__ = "{version}"\n')
    return root


def legacy_project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "setup.py").write_text(
        "from setuptools import setup\n"
        'setup(name="leg", version="0.1", install_requires=["six"], py_modules=["leg"])\n'
    )
    (root / "leg.py").write_text("X = 1\n")
    return root


def in_tree_backend(root: Path, body: str, name: str = "broken") -> Path:
    """A project whose backend is a module inside it (``backend-path``)."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        f'[build-system]\nrequires = []\nbuild-backend = "be"\nbackend-path = ["."]\n'
        f'[project]\nname = "{name}"\ndynamic = ["version"]\n'
    )
    (root / "be.py").write_text(textwrap.dedent(body))
    return root


def test_flit_project_metadata_by_hook_then_from_cache(
    idx: LocalIndex, cache: Cache, interp: Interpreter, tmp_path: Path
) -> None:
    project = flit_project(tmp_path / "demo")
    builder, frontend = make_builder(idx, cache, interp)
    meta = builder.tree_metadata(project, "demo")
    assert (meta.name, meta.version, meta.requires_dist) == ("demo", "1.2", ("idna",))
    assert frontend.sessions == 1
    assert builder.tree_metadata(project, "demo") == meta
    assert frontend.sessions == 1  # unchanged tree: no backend started
    (project / "demo/__init__.py").write_text('"""Demo."""\n__version__ = "1.3"\n')
    assert builder.tree_metadata(project, "demo").version == "1.3"
    assert frontend.sessions == 2


def test_static_project_table_needs_no_backend(
    idx: LocalIndex, cache: Cache, interp: Interpreter, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["nonexistent-backend"]\nbuild-backend = "nope"\n'
        '[project]\nname = "static"\nversion = "1.0"\ndependencies = ["idna"]\n'
    )
    builder, frontend = make_builder(idx, cache, interp)
    assert builder.tree_metadata(tmp_path, "static").requires_dist == ("idna",)
    assert frontend.sessions == 0


def test_flit_editable_wheel_points_at_the_source(
    idx: LocalIndex, cache: Cache, interp: Interpreter, tmp_path: Path
) -> None:
    project = flit_project(tmp_path / "demo")
    builder, _ = make_builder(idx, cache, interp)
    wheel = builder.tree_wheel(project, tmp_path / "out", "demo", editable=True)
    with zipfile.ZipFile(wheel) as archive:
        pth = [n for n in archive.namelist() if n.endswith(".pth")]
        assert pth and str(project) in archive.read(pth[0]).decode()


def test_legacy_setup_py_builds_with_setuptools_from_the_index(
    idx: LocalIndex, cache: Cache, interp: Interpreter, tmp_path: Path
) -> None:
    project = legacy_project(tmp_path / "leg")
    builder, _ = make_builder(idx, cache, interp)
    meta = builder.tree_metadata(project, "leg")
    assert (meta.name, meta.version, meta.requires_dist) == ("leg", "0.1", ("six",))
    wheel = builder.tree_wheel(project, tmp_path / "out", "leg")
    assert wheel.name == "leg-0.1-py3-none-any.whl"
    assert "leg.py" in zipfile.ZipFile(wheel).namelist()


def test_sdist_metadata_and_wheel_are_built_once(
    idx: LocalIndex, cache: Cache, interp: Interpreter
) -> None:
    idx.add(Pkg("old", "1.0", deps=["idna"], wheel=False, sdist_project_table=False))
    sdist = idx.file_path("old-1.0.tar.gz")
    builder, frontend = make_builder(idx, cache, interp)
    assert builder.sdist_metadata(sdist, "old").requires_dist == ("idna",)
    assert builder.sdist_metadata(sdist, "old").version == "1.0"
    assert frontend.sessions == 1
    first = builder.sdist_wheel(sdist, "old", interp.tags)
    again = builder.sdist_wheel(sdist, "old", interp.tags)
    assert first == again and first.name == "old-1.0-py3-none-any.whl"
    assert frontend.sessions == 2  # metadata once, the wheel once


def test_config_settings_reach_the_backend(
    idx: LocalIndex, cache: Cache, interp: Interpreter, tmp_path: Path
) -> None:
    project = in_tree_backend(
        tmp_path / "cfg",
        """
        import os
        def prepare_metadata_for_build_wheel(directory, config_settings=None):
            os.makedirs(os.path.join(directory, "cfg-1.dist-info"))
            with open(os.path.join(directory, "cfg-1.dist-info", "METADATA"), "w") as f:
                f.write("Name: cfg\\nVersion: " + config_settings["version"] + "\\n")
            return "cfg-1.dist-info"
        """,
        name="cfg",
    )
    builder, _ = make_builder(idx, cache, interp, config_settings={"version": "7.7"})
    assert builder.tree_metadata(project, "cfg").version == "7.7"


def test_a_failing_build_names_package_hook_and_the_last_lines(
    idx: LocalIndex, cache: Cache, interp: Interpreter, tmp_path: Path
) -> None:
    project = in_tree_backend(
        tmp_path / "broken",
        """
        def build_wheel(directory, config_settings=None, metadata_directory=None):
            for i in range(1, 41):
                print("compiler line", i)
            raise SystemExit("error: the compiler gave up")
        """,
    )
    builder, _ = make_builder(idx, cache, interp)
    with pytest.raises(BuildError) as info:
        builder.tree_wheel(project, tmp_path / "out", "broken")
    text = str(info.value)
    assert text.startswith("Failed to build broken: build_wheel: failed (exit status 1)")
    assert info.value.hook == "build_wheel" and info.value.exit_code == 1
    assert "compiler line 40" in text and "the compiler gave up" in text
    assert "compiler line 5\n" not in text  # only the tail


def test_a_missing_build_dependency_gets_uvs_hint(
    idx: LocalIndex, cache: Cache, interp: Interpreter, tmp_path: Path
) -> None:
    project = in_tree_backend(
        tmp_path / "broken",
        """
        def build_wheel(directory, config_settings=None, metadata_directory=None):
            import numpy_is_not_here
        """,
    )
    builder, _ = make_builder(idx, cache, interp)
    with pytest.raises(BuildError, match="--no-build-isolation") as info:
        builder.tree_wheel(project, tmp_path / "out", "broken")
    assert "'numpy_is_not_here'" in str(info.value)


def test_unresolvable_build_requirements(
    idx: LocalIndex, cache: Cache, interp: Interpreter, tmp_path: Path
) -> None:
    project = flit_project(tmp_path / "demo")
    builder, _ = make_builder(idx, cache, interp, constraints=("flit_core<3",))
    with pytest.raises(BuildError, match="cannot install its build requirements"):
        builder.tree_metadata(project, "demo")


def test_no_build_isolation_uses_the_target_environment(
    idx: LocalIndex, cache: Cache, interp: Interpreter, tmp_path: Path
) -> None:
    # The test environment has no flit_core, so only an isolated build can find it.
    project = flit_project(tmp_path / "demo")
    builder, _ = make_builder(idx, cache, interp, isolation=False)
    with pytest.raises(BuildError, match="cannot import the build backend 'flit_core.buildapi'"):
        builder.tree_metadata(project, "demo")


# --- git ------------------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    _git(tmp_path, "init", "-q", "-b", "main", str(root))
    (root / "sub/VERSION").write_text("1\n")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "one")
    _git(root, "tag", "v1")
    (root / "sub/VERSION").write_text("2\n")
    _git(root, "commit", "-qam", "two")
    _git(root, "branch", "feature")
    return root


def test_git_checkout_by_ref_and_reuse(repo: Path, cache: Cache) -> None:
    source = vcs.GitSource(cache)
    url = f"git+file://{repo}"
    head = _git(repo, "rev-parse", "HEAD")
    tagged = _git(repo, "rev-parse", "v1")
    commit, tree = source.checkout(vcs.parse_git_url(url + "#subdirectory=sub"))
    assert commit == head and (tree / "VERSION").read_text() == "2\n"
    assert source.checkout(vcs.parse_git_url(url + "@v1"))[0] == tagged
    assert source.checkout(vcs.parse_git_url(url + "@feature"))[0] == head
    assert source.checkout(vcs.parse_git_url(url + f"@{tagged[:10]}"))[0] == tagged
    # A full commit already fetched needs no network: the origin may be gone.
    subprocess.run(["rm", "-rf", str(repo)], check=True)
    again, tree = source.checkout(vcs.parse_git_url(f"{url}@{tagged}#subdirectory=sub"))
    assert again == tagged and (tree / "VERSION").read_text() == "1\n"


def test_git_unknown_ref(repo: Path, cache: Cache) -> None:
    with pytest.raises(BuildError, match="no branch, tag or commit 'nope'"):
        vcs.GitSource(cache).checkout(vcs.parse_git_url(f"git+file://{repo}@nope"))


def test_missing_git_is_a_clear_error(
    repo: Path, cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)  # the module vcs calls
    with pytest.raises(BuildError, match="git is needed"):
        vcs.GitSource(cache).checkout(vcs.parse_git_url(f"git+file://{repo}"))


# --- two hooks in one backend process (build.hookpair) ---

# A backend that notes which process ran each hook, and asks for ``six`` when told to.
BACKEND = """
import os, zipfile

def _note(hook):
    with open(os.environ["XV_TEST_HOOK_LOG"], "a") as log:
        log.write(f"{hook} {os.getpid()}\\n")

def get_requires_for_build_wheel(config_settings=None):
    _note("get_requires_for_build_wheel")
    return ["six"] if os.path.exists("want-six") else []

def prepare_metadata_for_build_wheel(directory, config_settings=None):
    _note("prepare_metadata_for_build_wheel")
    if os.path.exists("fail-metadata"):
        print("metadata hook output")
        raise SystemExit("error: no metadata today")
    if os.path.exists("want-six"):
        import six  # noqa: F401 - installed only when asked for
    info = os.path.join(directory, "pp-1.0.dist-info")
    os.makedirs(info)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\\nName: pp\\nVersion: 1.0\\n")
    return "pp-1.0.dist-info"

def build_wheel(directory, config_settings=None, metadata_directory=None):
    _note("build_wheel")
    name = "pp-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as whl:
        whl.writestr("pp-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: pp\\nVersion: 1.0\\n")
        whl.writestr("pp-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
        whl.writestr("pp-1.0.dist-info/RECORD", "")
    return name
"""


def hook_processes(log: Path) -> dict[str, str]:
    return dict(line.split() for line in log.read_text().splitlines())


def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    log = tmp_path / "hooks.log"
    monkeypatch.setenv("XV_TEST_HOOK_LOG", str(log))
    return in_tree_backend(tmp_path / "pp", BACKEND, name="pp"), log


def test_metadata_hook_runs_in_the_get_requires_process(
    idx: LocalIndex,
    cache: Cache,
    interp: Interpreter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, log = project(tmp_path, monkeypatch)
    builder, _ = make_builder(idx, cache, interp)
    assert builder.tree_metadata(root, "pp").version == "1.0"
    pids = hook_processes(log)
    assert pids["get_requires_for_build_wheel"] == pids["prepare_metadata_for_build_wheel"]


def test_build_wheel_runs_in_the_get_requires_process(
    idx: LocalIndex,
    cache: Cache,
    interp: Interpreter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, log = project(tmp_path, monkeypatch)
    builder, _ = make_builder(idx, cache, interp)
    wheel = builder.tree_wheel(root, tmp_path / "out", "pp")
    assert wheel.name == "pp-1.0-py3-none-any.whl" and wheel.is_file()
    pids = hook_processes(log)
    assert pids["get_requires_for_build_wheel"] == pids["build_wheel"]


def test_requirements_asked_for_are_installed_before_the_next_hook(
    idx: LocalIndex,
    cache: Cache,
    interp: Interpreter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, log = project(tmp_path, monkeypatch)
    (root / "want-six").write_text("")
    builder, _ = make_builder(idx, cache, interp)
    assert builder.tree_metadata(root, "pp").name == "pp"  # imports six
    pids = hook_processes(log)
    assert pids["get_requires_for_build_wheel"] != pids["prepare_metadata_for_build_wheel"]


def test_a_failure_of_the_paired_hook_is_reported_for_it(
    idx: LocalIndex,
    cache: Cache,
    interp: Interpreter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, log = project(tmp_path, monkeypatch)
    (root / "fail-metadata").write_text("")
    builder, _ = make_builder(idx, cache, interp)
    with pytest.raises(BuildError) as info:
        builder.tree_metadata(root, "pp")
    text = str(info.value)
    assert info.value.hook == "prepare_metadata_for_build_wheel"
    assert text.startswith(
        "Failed to build pp: prepare_metadata_for_build_wheel: failed (exit status 1)"
    )
    assert "metadata hook output" in text and "error: no metadata today" in text
    assert len(set(hook_processes(log).values())) == 1  # it did run in the paired process
