"""The sync plan: a pure comparison of the lock's pins with the installed dists."""

from __future__ import annotations

import doctest
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

import xv.sync.plan
from xv.env import InstalledDist
from xv.sync.plan import Plan, Reinstall, Wanted, direct_url_matches, plan


def want(spec: str, url: str | None = None, editable: bool = False) -> Wanted:
    name, _, version = spec.partition("==")
    return Wanted(name, Version(version), url, (), editable)


def have(
    spec: str,
    direct_url: dict[str, Any] | None = None,
    editable: bool = False,
    duplicates: tuple[InstalledDist, ...] = (),
) -> InstalledDist:
    name, _, version = spec.partition("==")
    path = Path(f"/env/site-packages/{name}-{version}.dist-info")
    return InstalledDist(name, version, path, "pip", direct_url, editable, duplicates)


def env(*dists: InstalledDist) -> dict[str, InstalledDist]:
    return {d.canonical_name: d for d in dists}


def lines(result: Plan) -> list[str]:
    return [change.render() for change in result.changes]


WHEEL = "https://files.example/demo-1.0-py3-none-any.whl"


@pytest.mark.parametrize(
    ("wanted", "installed", "expected"),
    [
        ([], [], []),
        ([want("a==1")], [], ["+ a==1"]),
        ([want("a==1")], [have("a==1")], []),
        ([want("a==1.0")], [have("a==1")], []),  # equal versions, spelled differently
        ([want("a==2")], [have("a==1")], ["- a==1", "+ a==2"]),
        ([want("a==1")], [have("a==2")], ["- a==2", "+ a==1"]),  # downgrade
        ([], [have("a==1")], ["- a==1"]),
        ([want("B_b==1")], [have("b.B==1")], []),  # names compare normalised
        ([want("z==1"), want("a==1")], [have("m==1")], ["+ a==1", "- m==1", "+ z==1"]),
        # pip, setuptools, wheel and xv stay unless pinned
        ([], [have("pip==24.0"), have("setuptools==70"), have("wheel==0.43"), have("xv==0.1")], []),
        ([want("pip==23.0")], [have("pip==24.0")], ["- pip==24.0", "+ pip==23.0"]),
        ([want("setuptools==70")], [have("setuptools==70")], []),
        # a registry pin is satisfied by the same version installed from a URL
        ([want("demo==1.0")], [have("demo==1.0", {"url": WHEEL, "archive_info": {}})], []),
        # a URL pin against an index install (no direct_url.json) or another URL
        ([want("demo==1.0", WHEEL)], [have("demo==1.0")], [f"~ demo==1.0 (from {WHEEL})"]),
        (
            [want("demo==1.0", WHEEL)],
            [have("demo==1.0", {"url": "https://elsewhere/demo-1.0-py3-none-any.whl"})],
            [f"~ demo==1.0 (from {WHEEL})"],
        ),
        ([want("demo==1.0", WHEEL + "#sha256=ab")], [have("demo==1.0", {"url": WHEEL})], []),
        # editable state differs
        (
            [want("demo==1.0", "file:///src/demo")],
            [have("demo==1.0", {"url": "file:///src/demo", "dir_info": {"editable": True}}, True)],
            ["~ demo==1.0 (from file:///src/demo)"],
        ),
        (
            [want("demo==1.0", "file:///src/demo", editable=True)],
            [have("demo==1.0", {"url": "file:///src/demo", "dir_info": {"editable": True}}, True)],
            [],
        ),
        # an interrupted upgrade left a second metadata directory
        ([want("a==2")], [have("a==2", duplicates=(have("a==1"),))], ["~ a==2"]),
    ],
)
def test_plan_table(
    wanted: list[Wanted], installed: list[InstalledDist], expected: list[str]
) -> None:
    assert lines(plan(wanted, env(*installed))) == expected


def test_plan_categories_and_upgrades() -> None:
    a1, b1, c1, pip = have("a==1"), have("b==1"), have("c==1"), have("pip==24")
    result = plan([want("a==2"), want("b==1"), want("d==1")], env(a1, b1, c1, pip))
    assert result.install == (want("a==2"), want("d==1"))
    assert result.remove == (a1, c1)
    assert result.reinstall == ()
    assert result.unchanged == (b1, pip)
    assert result.upgrades == ((want("a==2"), a1),)
    assert not result.is_empty
    assert plan([want("b==1")], env(b1)).is_empty


def test_reinstall_options() -> None:
    a1, b1 = have("a==1"), have("b==1")
    wanted = [want("a==1"), want("b==1")]
    assert plan(wanted, env(a1, b1), reinstall=True).reinstall == (
        Reinstall(want("a==1"), a1),
        Reinstall(want("b==1"), b1),
    )
    only_b = plan(wanted, env(a1, b1), reinstall_packages=frozenset({"B"}))
    assert only_b.reinstall == (Reinstall(want("b==1"), b1),)
    assert only_b.unchanged == (a1,)
    assert lines(only_b) == ["~ b==1"]


def test_keep_can_be_changed() -> None:
    pip = have("pip==24")
    assert plan([], env(pip), keep=frozenset()).remove == (pip,)
    assert plan([], env(have("Foo==1")), keep=frozenset({"foo"})).remove == ()


def test_invalid_installed_version_is_replaced() -> None:
    odd = have("legacy==1.0-beta-dev-x")
    assert odd.parsed_version is None
    assert lines(plan([want("legacy==1.0")], env(odd))) == [
        "- legacy==1.0-beta-dev-x",
        "+ legacy==1.0",
    ]


def test_duplicate_pins_are_refused() -> None:
    with pytest.raises(ValueError, match="more than once"):
        plan([want("a==1"), want("A==2")], {})


def test_direct_url_matches_vcs() -> None:
    recorded = {
        "url": "https://git.example/demo",
        "vcs_info": {"vcs": "git", "requested_revision": "main", "commit_id": "abc123"},
    }
    assert direct_url_matches("git+https://git.example/demo@abc123", recorded)
    assert direct_url_matches("git+https://git.example/demo@main", recorded)
    assert not direct_url_matches("git+https://git.example/demo@v2", recorded)
    assert not direct_url_matches("https://git.example/demo", recorded)
    assert not direct_url_matches("https://x", None)


def test_doctests() -> None:
    assert doctest.testmod(xv.sync.plan).failed == 0
