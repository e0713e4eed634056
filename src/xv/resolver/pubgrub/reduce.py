"""Reductions of a derivation tree before it is reported (uv's, generic here).

Each function returns a new tree holding the same argument in fewer or simpler
steps; none changes whether the tree proves failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from xv.resolver.pubgrub.ranges import Range
from xv.resolver.pubgrub.term import Term
from xv.resolver.pubgrub.tree import (
    DerivationTree,
    Derived,
    FromDependencyOf,
    NoVersions,
    UnavailableVersions,
)

__all__ = [
    "collapse_redundant_depends_on_no_versions",
    "collapse_redundant_no_versions",
    "collapse_redundant_no_versions_tree",
    "collapse_unavailable_versions",
    "map_ranges",
]

RangeMap = Callable[[Any, Range[Any]], Range[Any]]


def map_ranges(tree: DerivationTree, fn: RangeMap) -> DerivationTree:
    """The tree with ``fn(package, range)`` applied to every range in it."""
    if isinstance(tree, Derived):
        terms = {p: Term(t.positive, fn(p, t.range)) for p, t in tree.terms.items()}
        c1, c2 = map_ranges(tree.cause1, fn), map_ranges(tree.cause2, fn)
        return Derived(terms, tree.shared_id, c1, c2)
    if isinstance(tree, FromDependencyOf):
        return replace(
            tree,
            range=fn(tree.package, tree.range),
            dependency_range=fn(tree.dependency, tree.dependency_range),
        )
    if isinstance(tree, NoVersions | UnavailableVersions):
        return replace(tree, range=fn(tree.package, tree.range))
    return tree


def collapse_unavailable_versions(tree: DerivationTree) -> DerivationTree:
    """Merge "foo 1 is unusable" and "foo 2 is unusable" (same reason) into one step."""
    if not isinstance(tree, Derived):
        return tree
    c1, c2 = tree.cause1, tree.cause2
    if not (isinstance(c1, UnavailableVersions) or isinstance(c2, UnavailableVersions)):
        return replace(
            tree,
            cause1=collapse_unavailable_versions(c1),
            cause2=collapse_unavailable_versions(c2),
        )
    leaf, other = (c1, c2) if isinstance(c1, UnavailableVersions) else (c2, c1)
    assert isinstance(leaf, UnavailableVersions)
    other = collapse_unavailable_versions(other)
    tree = replace(tree, cause1=leaf, cause2=other) if leaf is c1 else replace(tree, cause1=other)
    if not isinstance(other, Derived):
        return tree
    for pos, inner in (("cause2", other.cause2), ("cause1", other.cause1)):
        if (
            isinstance(inner, UnavailableVersions)
            and inner.package == leaf.package
            and inner.reason == leaf.reason
        ):
            merged = inner.range.union(leaf.range)
            terms = dict(other.terms)
            term = terms.get(leaf.package)
            if term is not None and term.positive:
                terms[leaf.package] = Term.pos(merged)
            new_leaf = replace(inner, range=merged)
            if pos == "cause1":
                return replace(other, terms=terms, cause1=new_leaf)
            return replace(other, terms=terms, cause2=new_leaf)
    return tree


def collapse_redundant_depends_on_no_versions(tree: DerivationTree) -> DerivationTree:
    """Drop "there are no other versions of A" next to "C depends on A>=1" when the
    range of A that matters is already covered by the dependency."""
    if not isinstance(tree, Derived):
        return tree
    c1, c2 = tree.cause1, tree.cause2
    dep = (
        c1 if isinstance(c1, FromDependencyOf) else c2 if isinstance(c2, FromDependencyOf) else None
    )
    if dep is None:
        return replace(
            tree,
            cause1=collapse_redundant_depends_on_no_versions(c1),
            cause2=collapse_redundant_depends_on_no_versions(c2),
        )
    assert isinstance(dep, FromDependencyOf)
    if dep is c1:
        return replace(tree, cause2=_collapse_depends_inner(c2, dep.package, dep.range))
    return replace(tree, cause1=_collapse_depends_inner(c1, dep.package, dep.range))


def _collapse_depends_inner(
    tree: DerivationTree, package: Any, versions: Range[Any]
) -> DerivationTree:
    if not isinstance(tree, Derived):
        return tree
    c1, c2 = tree.cause1, tree.cause2
    for no, dep in ((c1, c2), (c2, c1)):
        if (
            isinstance(no, NoVersions)
            and isinstance(dep, FromDependencyOf)
            and no.package == dep.dependency == package
            and versions.subset_of(dep.dependency_range)
        ):
            return dep
    return replace(
        tree,
        cause1=collapse_redundant_depends_on_no_versions(c1),
        cause2=collapse_redundant_depends_on_no_versions(c2),
    )


def collapse_redundant_no_versions(tree: DerivationTree) -> DerivationTree:
    """Drop a "no versions" step whose range is the whole range the conclusion is about."""
    if not isinstance(tree, Derived):
        return tree
    c1, c2 = tree.cause1, tree.cause2
    if not (isinstance(c1, NoVersions) or isinstance(c2, NoVersions)):
        return replace(
            tree,
            cause1=collapse_redundant_no_versions(c1),
            cause2=collapse_redundant_no_versions(c2),
        )
    no, other = (c1, c2) if isinstance(c1, NoVersions) else (c2, c1)
    assert isinstance(no, NoVersions)
    other = collapse_redundant_no_versions(other)
    tree = replace(tree, cause2=other) if no is c1 else replace(tree, cause1=other)
    term = (other.terms if isinstance(other, Derived) else tree.terms).get(no.package)
    if term is None or not term.positive:
        return tree
    available = no.range.complement()
    if available.as_singleton() is not None:
        return tree
    if not term.range.is_full() and term.range != available:
        return tree
    return other


def collapse_redundant_no_versions_tree(tree: DerivationTree) -> tuple[DerivationTree, bool]:
    """Two "no versions" leaves of one package under a node become one leaf."""
    if not isinstance(tree, Derived):
        return tree, False
    c1, c2 = tree.cause1, tree.cause2
    if isinstance(c1, NoVersions) and isinstance(c2, NoVersions) and c1.package == c2.package:
        term = tree.terms.get(c1.package)
        if term is None or not term.positive:
            return tree, False
        if c1.range.subset_of(term.range) and c2.range.subset_of(term.range):
            return NoVersions(c1.package, term.range), True
        return tree, False
    new1, changed = collapse_redundant_no_versions_tree(c1)
    if changed:
        return replace(tree, cause1=new1), True
    new2, changed = collapse_redundant_no_versions_tree(c2)
    return (replace(tree, cause2=new2), True) if changed else (tree, False)
