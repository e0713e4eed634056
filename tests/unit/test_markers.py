"""The marker algebra: uv's normal forms, and its text matching uv's output."""

from __future__ import annotations

from pathlib import Path

import pytest

from xv.resolver.markers import FALSE, TRUE, MarkerTree

FIXTURE = Path(__file__).parents[2] / "fixtures" / "markers" / "uv-0.13.9-p3.8.tsv"


def _cases() -> list[tuple[str, str]]:
    lines = FIXTURE.read_text().splitlines()
    return [tuple(line.split("\t")) for line in lines if not line.startswith("#")]  # type: ignore[misc]


def test_text_matches_uv_for_random_markers() -> None:
    """300 random markers as ``uv pip compile --universal -p 3.8`` printed them."""
    cases = _cases()
    assert len(cases) == 300
    wrong = []
    for marker, expected in cases:
        tree = MarkerTree.parse(marker).simplify_python((3, 8))
        got = "-" if tree.is_false() else str(tree)
        if got != expected:
            wrong.append((marker, expected, got))
    assert wrong == []


@pytest.mark.parametrize(
    ("marker", "text"),
    [
        ('python_version < "3.9"', "python_full_version < '3.9'"),
        ('python_version <= "3.9"', "python_full_version < '3.10'"),
        ('python_version > "3.9"', "python_full_version >= '3.10'"),
        ('python_version == "3.9"', "python_full_version == '3.9.*'"),
        ('python_version != "3.9"', "python_full_version != '3.9.*'"),
        ('python_version ~= "3.9"', "python_full_version >= '3.9' and python_full_version < '4'"),
        ('python_version == "3.9.1"', "python_version < '0'"),
        ('python_version > "3.9.1"', "python_full_version >= '3.10'"),
        ('python_full_version == "3.9.0"', "python_full_version == '3.9'"),
        (
            'python_version >= "3.8" and python_version < "3.10"',
            "python_full_version >= '3.8' and python_full_version < '3.10'",
        ),
        ('python_version < "3.9" or python_version >= "3.10"', "python_full_version != '3.9.*'"),
        ('platform_system == "Windows"', "sys_platform == 'win32'"),
        ('platform_system != "Darwin"', "sys_platform != 'darwin'"),
        ('os_name == "nt" and sys_platform == "linux"', "python_version < '0'"),
        (
            'os_name == "nt" and sys_platform == "win32"',
            "os_name == 'nt' and sys_platform == 'win32'",
        ),
        (
            'sys_platform == "linux" or sys_platform == "darwin"',
            "sys_platform == 'darwin' or sys_platform == 'linux'",
        ),
        ('sys_platform < "linux"', "python_version < '0'"),
        ('extra == "Foo_Bar"', "extra == 'foo-bar'"),
        ('"linux" in sys_platform', "'linux' in sys_platform"),
        (
            'implementation_name == "cpython" or python_version < "3.8"',
            "python_full_version < '3.8' or implementation_name == 'cpython'",
        ),
    ],
)
def test_canonical_text(marker: str, text: str) -> None:
    assert str(MarkerTree.parse(marker)) == text


def test_algebra() -> None:
    old = MarkerTree.parse('python_version < "3.10"')
    new = ~old
    linux = MarkerTree.parse('sys_platform == "linux"')
    assert old.is_disjoint(new) and (old | new).is_true() and (old & new).is_false()
    assert (old & linux).implies(old) and not old.implies(old & linux)
    assert str(new) == "python_full_version >= '3.10'"
    assert (old & linux) | (new & linux) == linux
    assert TRUE.implies(TRUE) and FALSE.implies(linux)


def test_partial_evaluation() -> None:
    m = MarkerTree.parse('extra == "socks" and sys_platform == "win32" or python_version < "3.9"')
    assert str(m.with_extras(["socks"])) == "python_full_version < '3.9' or sys_platform == 'win32'"
    assert str(m.with_extras([])) == "python_full_version < '3.9'"
    assert m.without_extras() == m.with_extras(["socks"])
    assert str(m.simplify_python((3, 9))) == "sys_platform == 'win32' and extra == 'socks'"
    assert str(m.only_python()) == "*"
    assert str(MarkerTree.parse('python_version >= "3.10"').only_python()) == ">=(3, 10)"


def test_evaluate_with_packaging_names() -> None:
    m = MarkerTree.parse('python_version >= "3.10" and platform_system == "Windows"')
    env = {"python_full_version": "3.11.4", "sys_platform": "win32", "platform_system": "Windows"}
    assert m.evaluate(env)
    assert not m.evaluate({**env, "python_full_version": "3.9.18"})
