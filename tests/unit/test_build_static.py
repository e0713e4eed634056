"""build/: [build-system] defaults, metadata without building, tree digests, git URLs."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from xv.build.buildsystem import LEGACY_BACKEND, read_build_system
from xv.build.frontend import build_hint, parse_config_settings
from xv.build.static import source_digest, static_project_metadata, static_sdist_metadata
from xv.build.vcs import GitUrl, parse_git_url
from xv.errors import InputError, PyprojectError


def test_no_pyproject_is_legacy_setuptools(tmp_path: Path) -> None:
    system = read_build_system(tmp_path)
    assert system.requires == ("setuptools>=40.8.0",)
    assert system.backend == LEGACY_BACKEND


def test_pyproject_without_build_system_is_legacy(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "a"\n')
    assert read_build_system(tmp_path).backend == LEGACY_BACKEND


def test_requires_without_backend_uses_legacy_backend(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools", "wheel"]\n')
    system = read_build_system(tmp_path)
    assert system.requires == ("setuptools", "wheel")
    assert system.backend == LEGACY_BACKEND


def test_explicit_build_system(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3"]\nbuild-backend = "flit_core.buildapi"\n'
        'backend-path = ["."]\n'
    )
    system = read_build_system(tmp_path)
    assert (system.requires, system.backend, system.backend_path) == (
        ("flit_core>=3",),
        "flit_core.buildapi",
        (".",),
    )


@pytest.mark.parametrize(
    "table",
    ['requires = "setuptools"', 'requires = ["not a req!!"]', "requires = []\nbuild-backend = 3"],
)
def test_malformed_build_system_names_the_file(tmp_path: Path, table: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[build-system]\n{table}\n")
    with pytest.raises(PyprojectError, match="pyproject.toml"):
        read_build_system(tmp_path)


# --- PEP 643: PKG-INFO 2.2+ -------------------------------------------------------------


def _sdist(tmp_path: Path, pkg_info: str, kind: str = "tar.gz") -> Path:
    data = pkg_info.encode()
    path = tmp_path / f"demo-1.0.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("demo-1.0/PKG-INFO", data)
        return path
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("demo-1.0/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


STATIC = "Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nRequires-Dist: idna>=3\nRequires-Python: >=3.8\n"


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_pkg_info_2_2_without_dynamic_is_used(tmp_path: Path, kind: str) -> None:
    meta = static_sdist_metadata(_sdist(tmp_path, STATIC, kind))
    assert meta is not None
    assert (meta.name, meta.version, meta.requires_dist, meta.requires_python) == (
        "demo",
        "1.0",
        ("idna>=3",),
        ">=3.8",
    )


@pytest.mark.parametrize(
    "text",
    [
        STATIC.replace("2.2", "2.1"),  # before PEP 643: nothing is binding
        STATIC + "Dynamic: Requires-Dist\n",
        STATIC + "Dynamic: requires-python\n",
        STATIC + "Dynamic: Provides-Extra\n",
    ],
)
def test_pkg_info_that_may_change_is_not_used(tmp_path: Path, text: str) -> None:
    assert static_sdist_metadata(_sdist(tmp_path, text)) is None


def test_dynamic_fields_resolution_ignores_are_fine(tmp_path: Path) -> None:
    assert static_sdist_metadata(_sdist(tmp_path, STATIC + "Dynamic: Summary\n")) is not None


# --- PEP 621: a static [project] table --------------------------------------------------


def _project(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "demo"\n{body}')
    return tmp_path


def test_static_project_table_gives_metadata_with_extras(tmp_path: Path) -> None:
    meta = static_project_metadata(
        _project(
            tmp_path,
            'version = "2.0"\nrequires-python = ">=3.9"\ndependencies = ["idna"]\n'
            '[project.optional-dependencies]\nsocks = ["pysocks; os_name == \\"posix\\""]\n',
        )
    )
    assert meta is not None
    assert meta.version == "2.0"
    assert meta.requires_python == ">=3.9"
    assert meta.provides_extra == ("socks",)
    assert meta.requires_dist == (
        "idna",
        'pysocks; (os_name == "posix") and extra == "socks"',
    )


@pytest.mark.parametrize(
    "body",
    [
        'dynamic = ["version"]\ndependencies = []\n',
        'version = "1"\ndynamic = ["dependencies"]\n',
        'version = "1"\ndynamic = ["optional-dependencies"]\n',
        'version = "1"\ndynamic = ["requires-python"]\n',
    ],
)
def test_dynamic_project_fields_need_a_build(tmp_path: Path, body: str) -> None:
    assert static_project_metadata(_project(tmp_path, body)) is None


def test_no_project_table_needs_a_build(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("")
    assert static_project_metadata(tmp_path) is None


# --- the digest of a source tree ---------------------------------------------------------


def test_digest_follows_defining_files_only(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\ndynamic = ["version"]\n'
        '[tool.hatch.version]\npath = "src/demo/about.py"\n'
    )
    (tmp_path / "src/demo").mkdir(parents=True)
    (tmp_path / "src/demo/about.py").write_text("__version__ = '1'\n")
    (tmp_path / "src/demo/core.py").write_text("X = 1\n")
    first = source_digest(tmp_path)
    (tmp_path / "src/demo/core.py").write_text("X = 2\n")
    assert source_digest(tmp_path) == first  # code is not metadata
    (tmp_path / "src/demo/about.py").write_text("__version__ = '2'\n")
    second = source_digest(tmp_path)
    assert second != first
    (tmp_path / "setup.cfg").write_text("[metadata]\n")
    assert source_digest(tmp_path) != second


def test_digest_follows_setuptools_dynamic_files(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.setuptools.dynamic]\ndependencies = {file = ['requirements.txt']}\n"
    )
    (tmp_path / "requirements.txt").write_text("idna\n")
    first = source_digest(tmp_path)
    (tmp_path / "requirements.txt").write_text("idna<3\n")
    assert source_digest(tmp_path) != first


# --- options and hints ---------------------------------------------------------------


def test_config_settings_repeat_into_lists() -> None:
    assert parse_config_settings(["a=1", "b=", "a=2"]) == {"a": ["1", "2"], "b": ""}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_config_settings(["novalue"])


def test_hint_for_an_undeclared_build_dependency() -> None:
    output = "Traceback...\nModuleNotFoundError: No module named 'numpy.distutils'\n"
    hint = build_hint("demo", output, isolated=True)
    assert hint is not None and "'numpy'" in hint and "--no-build-isolation" in hint
    assert build_hint("demo", "SyntaxError", isolated=True) is None


# --- git URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("git+https://h/r.git", GitUrl("https://h/r.git")),
        ("git+https://h/r.git@main", GitUrl("https://h/r.git", "main")),
        ("git+ssh://git@h/o/r.git@v1.0", GitUrl("ssh://git@h/o/r.git", "v1.0")),
        (
            "git+file:///srv/r@abc#subdirectory=pkg/sub&egg=x",
            GitUrl("file:///srv/r", "abc", "pkg/sub"),
        ),
        ("git+https://u:p@h/r.git@1", GitUrl("https://u:p@h/r.git", "1")),
    ],
)
def test_parse_git_url(url: str, expected: GitUrl) -> None:
    assert parse_git_url(url) == expected


def test_git_url_pinned_keeps_subdirectory() -> None:
    git = parse_git_url("git+https://h/r.git@main#subdirectory=a")
    assert git.pinned("f" * 40) == f"git+https://h/r.git@{'f' * 40}#subdirectory=a"


@pytest.mark.parametrize(
    "url", ["hg+https://h/r", "git+https://h/r#subdirectory=../x", "git+ext::sh -c x"]
)
def test_bad_git_urls(url: str) -> None:
    with pytest.raises(InputError):
        parse_git_url(url)


@pytest.mark.parametrize("member", ["../evil.py", "a/../../evil.py"])
def test_an_sdist_cannot_write_outside_its_directory(tmp_path: Path, member: str) -> None:
    from xv.build.builder import unpack_sdist
    from xv.errors import BuildError

    path = tmp_path / "evil-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(member)
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    (tmp_path / "out").mkdir()
    with pytest.raises(BuildError, match="evil"):
        unpack_sdist(path, tmp_path / "out")
    assert not (tmp_path / "evil.py").exists()


def test_a_zip_sdist_cannot_write_outside_its_directory(tmp_path: Path) -> None:
    from xv.build.builder import unpack_sdist
    from xv.errors import BuildError

    path = tmp_path / "evil-1.0.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../evil.py", "x")
    (tmp_path / "out").mkdir()
    with pytest.raises(BuildError, match="escapes"):
        unpack_sdist(path, tmp_path / "out")
