"""Pieces of the universal resolver: Requires-Python as markers, fork order, preferences."""

from __future__ import annotations

from packaging.version import Version

from xv.resolver.forks import SolvedFork, _preferences
from xv.resolver.markers import MarkerTree
from xv.resolver.provider import PyPackage
from xv.resolver.universal import UniversalProvider, python_lower, requires_python_tree


def m(text: str) -> MarkerTree:
    return MarkerTree.parse(text)


def test_requires_python_reads_lower_bounds_only() -> None:
    assert str(requires_python_tree(">=3.10")) == "python_full_version >= '3.10'"
    assert str(requires_python_tree(">=3.8,<4")) == "python_full_version >= '3.8'"
    assert str(requires_python_tree("!=3.0.*,>=2.7")) == "python_full_version >= '2.7'"
    assert str(requires_python_tree("~=3.9")) == "python_full_version >= '3.9'"
    assert requires_python_tree("not a specifier").is_true()


def test_python_lower() -> None:
    assert python_lower(m('python_version >= "3.10" and sys_platform == "linux"')) == (3, 10)
    assert python_lower(m('python_version < "3.10" or python_version >= "3.12"')) == (0,)
    assert python_lower(m('python_full_version > "3.9.1"')) == (3, 9, 1)


def test_forks_are_solved_highest_python_first() -> None:
    """The stack pops its last entry: the fork with the highest Python floor."""
    forks = [m('python_version >= "3.11"'), m('python_version < "3.11"')]
    assert UniversalProvider._sorted(forks) == [forks[1], forks[0]]


def test_preferences_rank_decided_then_meeting_forks_then_highest() -> None:
    old, new = m('python_version < "3.11"'), m('python_version >= "3.11"')
    numpy = PyPackage("numpy")
    solved = [
        SolvedFork(new, {numpy: Version("2.3")}, None),  # type: ignore[arg-type]
        SolvedFork(old, {numpy: Version("2.0")}, None),  # type: ignore[arg-type]
    ]
    lock = {"numpy": [(Version("1.26"), old), (Version("2.2"), new)]}
    prefs = _preferences(old, {}, solved, lock)
    assert prefs["numpy"] == [Version("2.0"), Version("1.26"), Version("2.3"), Version("2.2")]
    decided = _preferences(old, {"numpy": Version("1.0")}, solved, lock)
    assert decided["numpy"][0] == Version("1.0")
