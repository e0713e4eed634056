"""xv.pyproject: dependencies, extras, PEP 735 groups, errors naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from xv import pyproject
from xv.errors import PyprojectError

EXAMPLE = """\
[project]
name = "Example_Proj"
version = "0.1"
dependencies = ["jinja2>=3", "idna ; python_version >= '3.8'"]

[project.optional-dependencies]
web = ["flask"]
Socks = ["pysocks"]
all = ["example-proj[web,socks] ; sys_platform != 'win32'"]

[dependency-groups]
dev = ["pytest", {include-group = "lint"}]
lint = ["ruff"]
"""


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "pyproject.toml").write_text(EXAMPLE)
    monkeypatch.chdir(tmp_path)
    return "pyproject.toml"


def specs(found: tuple[pyproject.ProjectRequirement, ...]) -> list[tuple[str, str]]:
    return [(str(r.requirement), r.source) for r in found]


def test_dependencies_with_uv_via_label(example: str) -> None:
    found = pyproject.requirements(example)
    assert specs(found) == [
        ("jinja2>=3", "example-proj (pyproject.toml)"),
        ('idna; python_version >= "3.8"', "example-proj (pyproject.toml)"),
    ]
    assert [r.line for r in found] == [4, 4]


def test_extras_are_normalised_and_all_extras_expands_self_references(example: str) -> None:
    names = [r.requirement.name for r in pyproject.requirements(example, extras=["WEB", "socks"])]
    assert names == ["jinja2", "idna", "flask", "pysocks"]
    found = pyproject.requirements(example, extras=["all"])
    assert specs(found)[2:] == [
        ('pysocks; sys_platform != "win32"', "example-proj (pyproject.toml)"),
        ('flask; sys_platform != "win32"', "example-proj (pyproject.toml)"),
    ]
    everything = pyproject.requirements(example, all_extras=True)
    assert sorted({r.requirement.name for r in everything}) == [
        "flask",
        "idna",
        "jinja2",
        "pysocks",
    ]


def test_unknown_extra_names_the_file(example: str) -> None:
    with pytest.raises(PyprojectError, match=r"^pyproject.toml: requested extra not found: nope$"):
        pyproject.requirements(example, extras=["nope"])


def test_groups_follow_include_group_and_label_with_the_group(example: str) -> None:
    found = pyproject.requirements(example, groups=["Dev"], include_project=False)
    assert specs(found) == [
        ("pytest", "example-proj (pyproject.toml:dev)"),
        ("ruff", "example-proj (pyproject.toml:dev)"),
    ]
    assert {r.group for r in found} == {"dev"}


def test_unknown_group(example: str) -> None:
    with pytest.raises(PyprojectError, match="dependency group 'nope' is not defined"):
        pyproject.requirements(example, groups=["nope"])


def test_include_group_cycle_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        '[dependency-groups]\na = ["x", {include-group = "b"}]\n'
        'b = [{include-group = "c"}]\nc = [{include-group = "a"}]\n'
    )
    with pytest.raises(PyprojectError) as info:
        pyproject.requirements(path, groups=["a"], include_project=False)
    assert str(info.value) == f"{path}: dependency group 'a' includes itself: a -> b -> c -> a"


def test_group_without_project_table_has_no_name_in_label(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[dependency-groups]\ndev = ["idna"]\n')
    found = pyproject.requirements(path, groups=["dev"], include_project=False)
    assert found[0].source == f"({path}:dev)"
    with pytest.raises(PyprojectError, match="no \\[project\\] table"):
        pyproject.requirements(path)


def test_dynamic_dependencies_are_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "dyn"\nversion = "1"\ndynamic = ["dependencies"]\n')
    with pytest.raises(PyprojectError) as info:
        pyproject.requirements(path)
    assert str(info.value) == (
        f"{path}: dependencies are dynamic; building the project to find them is not supported yet"
    )
    assert info.value.exit_code == 2


def test_invalid_requirement_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "p"\ndependencies = [\n  "ok",\n  "bad>>1",\n]\n')
    with pytest.raises(PyprojectError, match=r":5: invalid requirement 'bad>>1'"):
        pyproject.requirements(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[project\n", "invalid TOML"),
        ('[project]\nname = "p"\ndependencies = "x"\n', "must be a list of strings"),
        ('[project]\nversion = "1"\n', "has no name"),
        ('[dependency-groups]\ndev = [{include = "x"}]\n', "invalid item in dependency group"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    groups = ["dev"] if "groups" in text else []
    with pytest.raises(PyprojectError, match=message):
        pyproject.requirements(path, groups=groups, include_project=not groups)


def test_a_file_that_is_not_utf8_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    data = b'[project]\nname = "p"\ndependencies = ["caf\xe9"]\n'
    path.write_bytes(data)
    with pytest.raises(PyprojectError) as info:
        pyproject.requirements(path)
    reason = f"not UTF-8 (invalid continuation byte at byte {data.index(0xE9)})"
    assert str(info.value) == f"{path}: cannot read the file: {reason}"


def test_a_marker_that_cannot_be_evaluated_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        '[project]\nname = "p"\ndependencies = [\n  "a ; python_version ~= \'3\'",\n]\n'
    )
    with pytest.raises(PyprojectError, match=r":4: invalid marker .*: ~= '3' is not a valid"):
        pyproject.requirements(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PyprojectError, match="cannot read the file"):
        pyproject.requirements(tmp_path / "nope" / "pyproject.toml")
