"""The derivation tree: why solving failed, as data.

Leaves (:data:`External`) are facts the solver was told; :class:`Derived` nodes are
incompatibilities it learned from two causes. Turning a tree into prose is the job
of :mod:`xv.resolver.explain`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from xv.resolver.pubgrub.ranges import Range, V
from xv.resolver.pubgrub.term import Term

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class NotRoot(Generic[P, V]):
    """The root package must be selected at its version."""

    package: P
    version: V


@dataclass(frozen=True, slots=True)
class NoVersions(Generic[P, V]):
    """The provider has no version of ``package`` in ``range``."""

    package: P
    range: Range[V]


@dataclass(frozen=True, slots=True)
class UnavailableVersions(Generic[P, V]):
    """The versions of ``package`` in ``range`` cannot be used, for ``reason``.

    ``reason`` reads after the package, e.g. ``"has no wheels for this platform"``.
    """

    package: P
    range: Range[V]
    reason: str


@dataclass(frozen=True, slots=True)
class FromDependencyOf(Generic[P, V]):
    """``package`` in ``range`` depends on ``dependency`` in ``dependency_range``."""

    package: P
    range: Range[V]
    dependency: P
    dependency_range: Range[V]


External = (
    NotRoot[Any, Any]
    | NoVersions[Any, Any]
    | UnavailableVersions[Any, Any]
    | FromDependencyOf[Any, Any]
)


@dataclass(frozen=True, slots=True)
class Derived(Generic[P, V]):
    """An incompatibility (``terms`` cannot all hold) derived from two causes.

    ``shared_id`` is set when the same derived incompatibility appears more than
    once in the tree, so a report can explain it once and refer back to it.
    """

    terms: Mapping[P, Term[V]]
    shared_id: int | None
    cause1: DerivationTree
    cause2: DerivationTree


DerivationTree = External | Derived[Any, Any]


def externals(tree: DerivationTree) -> Iterator[External]:
    """Every leaf of the tree, left to right (shared subtrees repeat)."""
    stack: list[DerivationTree] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Derived):
            stack.append(node.cause2)
            stack.append(node.cause1)
        else:
            yield node


def collapse_no_versions(tree: DerivationTree) -> DerivationTree:
    """Fold each ``NoVersions`` leaf into its sibling, as pubgrub-rs does.

    "foo 1 depends on bar >=2" next to "there is no bar in [2, 3)" becomes
    "foo 1 depends on bar >=3"; a ``NoVersions`` next to a derived node is dropped,
    leaving the derived node. Only sound when the provider saw every version.
    """
    if not isinstance(tree, Derived):
        return tree
    c1, c2 = tree.cause1, tree.cause2
    if isinstance(c1, NoVersions):
        return _merge_no_versions(collapse_no_versions(c2), c1) or tree
    if isinstance(c2, NoVersions):
        return _merge_no_versions(collapse_no_versions(c1), c2) or tree
    return replace(tree, cause1=collapse_no_versions(c1), cause2=collapse_no_versions(c2))


def _merge_no_versions(other: DerivationTree, no: NoVersions[Any, Any]) -> DerivationTree | None:
    if isinstance(other, Derived):
        return other
    if isinstance(other, NoVersions):
        if other.package != no.package:
            return None
        return NoVersions(no.package, no.range.union(other.range))
    if isinstance(other, UnavailableVersions):
        if other.package != no.package:
            return None
        return replace(other, range=no.range.union(other.range))
    if isinstance(other, FromDependencyOf):
        if other.package == no.package:
            return replace(other, range=other.range.union(no.range))
        if other.dependency == no.package:
            return replace(other, dependency_range=other.dependency_range.union(no.range))
    return None
