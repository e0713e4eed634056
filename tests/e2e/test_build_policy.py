"""Build policy end to end against the local index: what ``--only-binary``/``--no-build``
refuse, and that no version is passed over without a reason ``-v`` shows and the failure
names (the wording is uv's, checked side by side with ``uv pip compile`` 0.13)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import MakeIndex
from tests.e2e.test_build_compile import flit_project
from tests.support.localindex import LocalIndex, Pkg
from xv.cli import compile as cli

BACKENDS = sorted((Path(__file__).parents[2] / "fixtures" / "backends").glob("*.whl"))
PKGS = [
    Pkg("idna", "3.10"),
    Pkg("docopt", "0.6.2", wheel=False, sdist_project_table=False),
    Pkg("bar", "1.0"),
    Pkg("bar", "2.0", wheel=False, sdist_project_table=False),
    Pkg("baz", "1.0"),
    Pkg("baz", "2.0", requires_python=">=3.99"),
    Pkg("yk", "1.0"),
    Pkg("yk", "2.0", yanked=True),
    Pkg("odd", "1.0"),
    Pkg("en", "1.0", upload_time="2020-01-01T00:00:00Z"),
    Pkg("en", "2.0", upload_time="2024-01-01T00:00:00Z"),
]


@pytest.fixture
def idx(
    make_index: MakeIndex, xv_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> LocalIndex:
    monkeypatch.setenv("XV_POOL", "thread")
    index = make_index(PKGS)
    index.add_files(*BACKENDS)
    index.add_raw("odd", "2.0", "odd-2.0-py3-none-any.whl", b"not a zip file")
    return index


def xv(idx: LocalIndex, *args: str) -> Result:
    result = CliRunner().invoke(cli.main, [*args, "--no-header", "-i", idx.url])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def static_project(root: Path) -> Path:
    (root / "stat").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.2"]\nbuild-backend = "flit_core.buildapi"\n'
        '[project]\nname = "stat"\nversion = "1.0"\ndescription = "x"\ndependencies = ["idna"]\n'
    )
    (root / "stat/__init__.py").write_text('"""x"""\n')
    return root


# --- --only-binary and direct references (uv: a build is refused, static metadata is not) ---


@pytest.mark.parametrize("flag", [":all:", "demo"])
def test_only_binary_refuses_a_directory_that_needs_a_build(
    idx: LocalIndex, tmp_path: Path, flag: str
) -> None:
    flit_project(tmp_path / "proj")  # dynamic version: only the backend knows it
    Path("r.in").write_text("demo @ ./proj\n")
    result = xv(idx, "r.in", "--only-binary", flag)
    assert result.exit_code == 1, result.output
    assert f"demo needs a build, but building is disabled for demo (--only-binary {flag})" in (
        result.stderr
    )
    assert not (tmp_path / "cache" / "tree-metadata-v1").exists()  # refused before building


def test_only_binary_refuses_an_sdist_url_that_needs_a_build(idx: LocalIndex) -> None:
    Path("r.in").write_text(f"docopt @ {idx.file_url('docopt-0.6.2.tar.gz')}\n")
    result = xv(idx, "r.in", "--only-binary", ":all:")
    assert result.exit_code == 1, result.output
    assert "docopt needs a build, but building is disabled for docopt (--only-binary :all:)" in (
        result.stderr
    )


def test_only_binary_builds_editables_and_reads_static_metadata(
    idx: LocalIndex, tmp_path: Path
) -> None:
    flit_project(tmp_path / "proj")
    static_project(tmp_path / "stat")
    Path("r.in").write_text("-e ./proj\n./stat\n")
    result = xv(idx, "r.in", "--only-binary", ":all:")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "-e ./proj\n    # via -r r.in\nidna==3.10\n    # via\n    #   demo\n    #   stat\n"
        "./stat\n    # via -r r.in\n"
    )


def test_no_binary_wins_over_only_binary_for_its_package(idx: LocalIndex, tmp_path: Path) -> None:
    flit_project(tmp_path / "proj")
    Path("r.in").write_text("demo @ ./proj\n")
    result = xv(idx, "r.in", "--only-binary", ":all:", "--no-binary", "demo")
    assert result.exit_code == 0, result.output


def test_a_build_requirement_with_only_an_sdist_is_built_as_uv_does(
    idx: LocalIndex, tmp_path: Path
) -> None:
    proj = flit_project(tmp_path / "proj")
    text = (proj / "pyproject.toml").read_text()
    requires = '["flit_core>=3.2", "docopt"]'
    (proj / "pyproject.toml").write_text(text.replace('["flit_core>=3.2"]', requires))
    Path("r.in").write_text("./proj\n")
    result = xv(idx, "r.in")
    assert result.exit_code == 0, result.output
    assert result.stdout == "./proj\n    # via -r r.in\nidna==3.10\n    # via demo\n"
    assert list((tmp_path / "cache" / "built-wheels-v1").glob("*/docopt-0.6.2-*.whl"))


def test_a_cyclic_build_requirement_is_an_error(idx: LocalIndex, tmp_path: Path) -> None:
    needs_itself = (
        '[build-system]\nrequires = ["cyc"]\nbuild-backend = "xv_test_backend"\n'
        'backend-path = ["_backend"]\n'
    )
    idx.add(
        Pkg("cyc", "1.0", wheel=False, sdist_project_table=False,
            files={"pyproject.toml": needs_itself})
    )  # fmt: skip
    proj = flit_project(tmp_path / "proj")
    text = (proj / "pyproject.toml").read_text()
    (proj / "pyproject.toml").write_text(text.replace('["flit_core>=3.2"]', '["cyc"]'))
    Path("r.in").write_text("./proj\n")
    result = xv(idx, "r.in")
    assert result.exit_code == 1, result.output
    assert (
        "Failed to build cyc==1.0: cyclic build dependency: it needs cyc to build, which ./proj needs too"
        in (result.stderr)
    )


# --- no silent skip: every version passed over is in -v and in the explanation ---

WHEELS_REQUIRED = "hint: Wheels are required for `bar` because building from source is disabled"
PASSED_OVER = [
    (
        "bar",
        ["--only-binary", ":all:"],
        "bar 2.0 passed over: has no usable wheels (building from source is disabled)",
        "Because bar==2.0 has no usable wheels and you require bar>=2",
        f"{WHEELS_REQUIRED} for all packages (i.e., with `--only-binary :all:`)",
    ),
    (
        "bar",
        ["--no-build"],
        "bar 2.0 passed over: has no usable wheels (building from source is disabled)",
        "Because bar==2.0 has no usable wheels and you require bar>=2",
        f"{WHEELS_REQUIRED} for all packages (i.e., with `--no-build`)",
    ),
    (
        "bar",
        ["--only-binary", "bar"],
        "bar 2.0 passed over: has no usable wheels (building from source is disabled)",
        "Because bar==2.0 has no usable wheels and you require bar>=2",
        f"{WHEELS_REQUIRED} for `bar` (i.e., with `--only-binary bar` or `--no-build-package bar`)",
    ),
    (
        "baz",
        [],
        "baz 2.0 passed over: requires Python >=3.99",
        "Because baz==2.0 requires Python >=3.99 and you require baz>=2",
        None,
    ),
    (
        "yk",
        [],
        "yk 2.0 passed over: was yanked",
        "Because only yk<2 is available",
        "hint: yk==2.0 was yanked; pin one with `yk==VERSION` to use it anyway",
    ),
    (
        "odd",
        [],
        "odd 2.0 passed over: has unreadable metadata",
        "Because odd==2.0 has unreadable metadata",
        None,
    ),
]


@pytest.mark.parametrize(("name", "flags", "logged", "explained", "hint"), PASSED_OVER)
def test_a_version_passed_over_is_logged_and_named(
    idx: LocalIndex, name: str, flags: list[str], logged: str, explained: str, hint: str | None
) -> None:
    Path("r.in").write_text(f"{name}\n")
    chosen = xv(idx, "r.in", "-v", *flags)
    assert chosen.exit_code == 0, chosen.output
    assert f"{name}==1.0\n" in chosen.stdout
    assert f"DEBUG {logged}" in chosen.stderr
    Path("r.in").write_text(f"{name}>=2\n")
    failed = xv(idx, "r.in", *flags)
    assert failed.exit_code == 1, failed.output
    assert explained in failed.stderr
    if hint is not None:
        assert hint in failed.stderr


def test_an_sdist_only_version_is_built_not_passed_over(idx: LocalIndex) -> None:
    Path("r.in").write_text("bar\n")
    result = xv(idx, "r.in", "-v")
    assert result.exit_code == 0, result.output
    assert "bar==2.0\n" in result.stdout
    assert "passed over" not in result.stderr


def test_a_warm_compile_builds_and_downloads_no_sdist(idx: LocalIndex) -> None:
    Path("r.in").write_text("docopt==0.6.2\nbar\n")
    cold = xv(idx, "r.in", "-v")
    assert cold.exit_code == 0, cold.output
    assert "docopt==0.6.2: calling the backend's prepare_metadata_for_build_wheel" in cold.stderr
    idx.clear_log()
    warm = xv(idx, "r.in", "-v")
    assert warm.stdout == cold.stdout
    assert "metadata of docopt-0.6.2.tar.gz: from the cache" in warm.stderr
    assert "calling the backend" not in warm.stderr
    assert not idx.requests_to(".tar.gz")


def test_versions_left_out_by_exclude_newer_are_logged_and_hinted(idx: LocalIndex) -> None:
    Path("r.in").write_text("en\n")
    chosen = xv(idx, "r.in", "-v", "--exclude-newer", "2022-01-01")
    assert "en==1.0\n" in chosen.stdout
    assert "DEBUG en: 1 version(s) passed over: uploaded after --exclude-newer (newest 2.0" in (
        chosen.stderr
    )
    Path("r.in").write_text("en>=2\n")
    failed = xv(idx, "r.in", "--exclude-newer", "2022-01-01")
    assert failed.exit_code == 1
    assert (
        "hint: `en` was filtered by `--exclude-newer` to only include packages uploaded before "
        "2022-01-01T23:59:59+00:00. The latest version satisfying the requirement is 2.0, "
        "published at 2024-01-01T00:00:00Z."
    ) in failed.stderr
