"""The solver on the classic examples of Dart pub's solver.md, and its provider hooks."""

from __future__ import annotations

from typing import Any

import pytest
from packaging.version import Version

from tests.unit.pubgrub_helpers import OfflineProvider, TwinProvider, caret, index_from
from xv.resolver.pubgrub import (
    Derived,
    FromDependencyOf,
    NoSolutionError,
    NoVersions,
    Range,
    UnavailableVersions,
    externals,
    resolve,
)

V = Version


def solve(table: dict[str, Any], root_deps: dict[str, Range[Version]]) -> dict[str, str]:
    provider = index_from({**table, "root": {"1.0.0": root_deps}})
    return {k: str(v) for k, v in resolve(provider, "root", V("1.0.0")).items()}


def test_no_conflicts() -> None:
    table = {"foo": {"1.0.0": {"bar": caret("1.0.0")}}, "bar": {"1.0.0": {}, "2.0.0": {}}}
    assert solve(table, {"foo": caret("1.0.0")}) == {
        "root": "1.0.0",
        "foo": "1.0.0",
        "bar": "1.0.0",
    }


def test_avoiding_conflict_during_decision_making() -> None:
    table = {
        "foo": {"1.1.0": {"bar": caret("2.0.0")}, "1.0.0": {}},
        "bar": {"1.0.0": {}, "1.1.0": {}, "2.0.0": {}},
    }
    got = solve(table, {"foo": caret("1.0.0"), "bar": caret("1.0.0")})
    assert got == {"root": "1.0.0", "foo": "1.0.0", "bar": "1.1.0"}


def test_performing_conflict_resolution() -> None:
    table = {
        "foo": {"2.0.0": {"bar": caret("1.0.0")}, "1.0.0": {}},
        "bar": {"1.0.0": {"foo": caret("1.0.0")}},
    }
    assert solve(table, {"foo": Range.higher_than(V("1.0.0"))}) == {"root": "1.0.0", "foo": "1.0.0"}


def test_conflict_resolution_with_a_partial_satisfier() -> None:
    table = {
        "foo": {"1.1.0": {"left": caret("1.0.0"), "right": caret("1.0.0")}, "1.0.0": {}},
        "left": {"1.0.0": {"shared": Range.higher_than(V("1.0.0"))}},
        "right": {"1.0.0": {"shared": Range.strictly_lower_than(V("2.0.0"))}},
        "shared": {"2.0.0": {}, "1.0.0": {"target": caret("1.0.0")}},
        "target": {"2.0.0": {}, "1.0.0": {}},
    }
    got = solve(table, {"foo": caret("1.0.0"), "target": caret("2.0.0")})
    assert got == {"root": "1.0.0", "foo": "1.0.0", "target": "2.0.0"}


def test_linear_error_is_a_no_solution_tree() -> None:
    table = {
        "foo": {"1.0.0": {"bar": caret("2.0.0")}},
        "bar": {"2.0.0": {"baz": caret("3.0.0")}},
        "baz": {"1.0.0": {}, "3.0.0": {}},
    }
    with pytest.raises(NoSolutionError) as info:
        solve(table, {"foo": caret("1.0.0"), "baz": caret("1.0.0")})
    tree = info.value.tree
    assert isinstance(tree, Derived)
    assert list(tree.terms) == ["root"]
    deps = {(e.package, e.dependency) for e in externals(tree) if isinstance(e, FromDependencyOf)}
    assert deps == {("root", "foo"), ("root", "baz"), ("foo", "bar"), ("bar", "baz")}


def test_shared_derivations_get_ids() -> None:
    # The branching example reuses "foo<1.1 cannot be used" twice.
    table = {
        "foo": {
            "1.0.0": {"a": caret("1.0.0"), "b": caret("1.0.0")},
            "1.1.0": {"x": caret("1.0.0"), "y": caret("1.0.0")},
        },
        "a": {"1.0.0": {"b": caret("2.0.0")}},
        "b": {"1.0.0": {}, "2.0.0": {}},
        "x": {"1.0.0": {"y": caret("2.0.0")}},
        "y": {"1.0.0": {}, "2.0.0": {}},
    }
    with pytest.raises(NoSolutionError):
        solve(table, {"foo": caret("1.0.0")})


def test_backjumping_finds_older_versions() -> None:
    # Only the oldest a works; every newer a needs a b that conflicts with c.
    provider = OfflineProvider()
    for n in range(1, 8):
        provider.add("a", n, {"b": Range.singleton(n)})
        provider.add("b", n, {"c": Range.singleton(n)})
    provider.add("c", 1)
    provider.add("root", 0, {"a": Range.full(), "c": Range.full()})
    assert resolve(provider, "root", 0) == {"root": 0, "a": 1, "b": 1, "c": 1}
    assert provider.conflicts  # on_conflict was called


def test_unavailable_dependencies_move_on_to_other_versions() -> None:
    provider = OfflineProvider()
    provider.add("root", 0, {"a": Range.full()})
    provider.add("a", 1)
    provider.add_unavailable("a", 2, "has no wheels for this platform")
    assert resolve(provider, "root", 0) == {"root": 0, "a": 1}


def test_unavailable_everywhere_is_reported() -> None:
    provider = OfflineProvider()
    provider.add("root", 0, {"a": Range.full()})
    provider.add_unavailable("a", 1, "was yanked")
    with pytest.raises(NoSolutionError) as info:
        resolve(provider, "root", 0)
    leaves = list(externals(info.value.tree))
    assert UnavailableVersions("a", Range.singleton(1), "was yanked") in leaves
    assert any(isinstance(leaf, NoVersions) for leaf in leaves)


def test_choose_version_may_explain_why_a_package_is_unusable() -> None:
    from xv.resolver.pubgrub import Unavailable

    class Missing(OfflineProvider):
        def choose_version(self, package: Any, range: Range[Any]) -> Any:
            if package == "ghost":
                return Unavailable("was not found in the package registry")
            return super().choose_version(package, range)

    provider = Missing()
    provider.add("root", 0, {"ghost": Range.full()})
    with pytest.raises(NoSolutionError) as info:
        resolve(provider, "root", 0)
    leaves = list(externals(info.value.tree))
    assert (
        UnavailableVersions("ghost", Range.full(), "was not found in the package registry")
        in leaves
    )


def test_should_cancel_may_abort() -> None:
    class Cancelled(Exception):
        pass

    class Impatient(OfflineProvider):
        def should_cancel(self) -> None:
            if len(self.calls) >= 2:
                raise Cancelled

    provider = Impatient()
    provider.add("root", 0, {"a": Range.full()})
    provider.add("a", 1, {"b": Range.full()})
    provider.add("b", 1)
    with pytest.raises(Cancelled):
        resolve(provider, "root", 0)


def test_self_dependency_and_empty_dependency_range() -> None:
    provider = OfflineProvider()
    provider.add("root", 0, {"a": Range.full()})
    provider.add("a", 3, {"a": Range.singleton(3)})  # harmless
    assert resolve(provider, "root", 0) == {"root": 0, "a": 3}
    provider.add("a", 4, {"a": Range.singleton(1)})  # a 4 can never be chosen
    provider.add("a", 5, {"z": Range.empty()})  # a 5 needs the impossible
    assert resolve(provider, "root", 0) == {"root": 0, "a": 3}


def test_choose_version_outside_range_is_a_provider_bug() -> None:
    class Wrong(OfflineProvider):
        def choose_version(self, package: Any, range: Range[Any]) -> Any:
            return 99

    provider = Wrong()
    provider.add("root", 0, {"a": Range.singleton(1)})
    provider.add("a", 1)
    with pytest.raises(ValueError, match="outside"):
        resolve(provider, "root", 0)


def test_highest_priority_is_decided_first() -> None:
    order: list[str] = []

    class Recording(OfflineProvider):
        def prioritize(self, package: Any, range: Range[Any]) -> Any:
            return {"root": 0, "low": 1, "high": 2}[package]

        def get_dependencies(self, package: Any, version: Any) -> Any:
            order.append(package)
            return super().get_dependencies(package, version)

    provider = Recording()
    provider.add("root", 0, {"low": Range.full(), "high": Range.full()})
    provider.add("low", 1)
    provider.add("high", 1)
    resolve(provider, "root", 0)
    assert order == ["root", "high", "low"]


def test_dependencies_are_fetched_once_per_version() -> None:
    provider = OfflineProvider()
    for n in range(1, 6):
        provider.add("a", n, {"b": Range.singleton(n)})
        provider.add("b", n, {"c": Range.singleton(n)})
    provider.add("c", 1)
    provider.add("root", 0, {"a": Range.full(), "c": Range.full()})
    resolve(provider, "root", 0)
    assert len(provider.calls) == len(set(provider.calls))


def test_large_chain_resolves_quickly() -> None:
    # 250 packages, each with 6 versions; the newest of each conflicts with its successor.
    provider = OfflineProvider()
    n = 250
    for i in range(n):
        for v in range(1, 7):
            deps = {f"p{i + 1}": Range.lower_than(5)} if i + 1 < n else {}
            provider.add(f"p{i}", v, deps)
    provider.add("root", 0, {f"p{i}": Range.full() for i in range(0, n, 10)})
    solution = resolve(provider, "root", 0)
    assert len(solution) == n + 1
    assert solution["p0"] == 6 and all(solution[f"p{i}"] == 5 for i in range(1, n))


class _CountedName(str):
    """A package name that counts how often it is compared for equality."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        _CountedName.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def _comparisons_for_missing(n: int) -> int:
    provider = OfflineProvider()
    provider.add("root", 0, {_CountedName(f"missing-{i}"): Range.full() for i in range(n)})
    _CountedName.compared = 0
    with pytest.raises(NoSolutionError):
        resolve(provider, "root", 0)
    return _CountedName.compared


def test_propagating_many_root_dependencies_is_linear() -> None:
    # The root's propagation derives one term per dependency; queuing each derived
    # package once must not compare it against every package already queued.
    small, large = _comparisons_for_missing(300), _comparisons_for_missing(600)
    assert large <= 2 * small + 50


class _HashedName(str):
    """A package name that counts how often it is hashed (every dict lookup of it)."""

    hashed = 0

    def __hash__(self) -> int:
        _HashedName.hashed += 1
        return str.__hash__(self)


def _hashes_for_many(n: int) -> int:
    provider = OfflineProvider()
    names = [_HashedName(f"p{i}") for i in range(n)]
    for i, name in enumerate(names):
        provider.add(name, 1, {names[i // 3]: Range.full()} if i else {})
    provider.add("root", 0, {name: Range.full() for name in names})
    _HashedName.hashed = 0
    assert len(resolve(provider, "root", 0)) == n + 1
    return _HashedName.hashed


def test_choosing_among_many_undecided_packages_is_linear() -> None:
    # The root derives every package at once; choosing the next one to decide must not
    # look at every package still undecided, once per decision.
    small, large = _hashes_for_many(300), _hashes_for_many(600)
    assert large <= 2 * small + 50


def test_an_extra_is_tried_only_at_versions_its_project_may_take() -> None:
    # c needs k>=3 and k's extra r; r at 3 needs p==1, which x 2 rules out. Without the
    # twin, the solver read k+r 2's and k+r 1's dependencies (for a project: metadata,
    # perhaps an sdist's build) before it gave x up; now it reads k+r 3's alone.
    provider = TwinProvider()  # k+r: k's extra r
    provider.add("root", 0, {"x": Range.full(), "c": Range.full()})
    provider.add("x", 2, {"p": Range.singleton(2)})
    provider.add("x", 1)
    provider.add("p", 1)
    provider.add("p", 2)
    provider.add("c", 1, {"k": Range.higher_than(3), "k+r": Range.full()})
    for n in (1, 2, 3):
        provider.add("k", n)
        provider.add(
            "k+r", n, {"k": Range.singleton(n), **({"p": Range.singleton(1)} if n == 3 else {})}
        )
    solution = resolve(provider, "root", 0)
    assert solution == {"root": 0, "x": 1, "p": 1, "c": 1, "k": 3, "k+r": 3}
    assert [v for p, v in provider.calls if p == "k+r"] == [3]


def test_an_extra_with_no_version_its_project_may_take_explains_why() -> None:
    provider = TwinProvider()  # k+r: k's extra r
    provider.add("root", 0, {"k": Range.singleton(2), "k+r": Range.higher_than(3)})
    for n in (1, 2, 3):
        provider.add("k", n)
        provider.add("k+r", n, {"k": Range.singleton(n)})
    with pytest.raises(NoSolutionError) as failed:
        resolve(provider, "root", 0)
    assert [v for p, v in provider.calls if p == "k+r"] == []
    # The explanation: root needs k ==2 and k+r >=3, and k+r >=3 needs k >=3.
    deps = {
        (e.package, e.dependency, str(e.range), str(e.dependency_range))
        for e in externals(failed.value.tree)
        if isinstance(e, FromDependencyOf)
    }
    assert ("k+r", "k", ">=3", ">=3") in deps
