"""Incompatibilities: sets of terms that must not all hold at once.

An incompatibility either records a fact from the provider (its ``cause`` is an
:data:`~xv.resolver.pubgrub.tree.External`) or was learned during conflict
resolution from two others (its cause is :class:`DerivedFrom`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from xv.resolver.pubgrub.ranges import Range, V
from xv.resolver.pubgrub.term import Term
from xv.resolver.pubgrub.tree import (
    External,
    FromDependencyOf,
    NotRoot,
    NoVersions,
    UnavailableVersions,
)

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class DerivedFrom:
    """Learned from incompatibilities ``cause1`` and ``cause2`` (ids in the store)."""

    cause1: int
    cause2: int


class Incompatibility(Generic[P, V]):
    __slots__ = ("id", "terms", "cause")

    def __init__(self, id: int, terms: dict[P, Term[V]], cause: External | DerivedFrom) -> None:
        self.id = id
        self.terms = terms
        self.cause = cause

    def is_terminal(self, root: P, root_version: V) -> bool:
        """Does this say that solving failed (nothing, or "root cannot be chosen")?"""
        if not self.terms:
            return True
        if len(self.terms) == 1:
            ((package, term),) = self.terms.items()
            return package == root and term.contains(root_version)
        return False

    def dependency_key(self) -> tuple[P, P, Range[V]] | None:
        """``(package, dependency, dependency range)`` when this is a two-term
        dependency fact: facts with the same key may be merged into one."""
        c = self.cause
        if isinstance(c, FromDependencyOf) and len(self.terms) == 2:
            return c.package, c.dependency, c.dependency_range
        return None

    def __repr__(self) -> str:
        inner = ", ".join(f"{p}: {t!r}" for p, t in self.terms.items())
        return f"Incompatibility(#{self.id}, {{{inner}}}, {self.cause!r})"


class IncompatibilityStore(Generic[P, V]):
    """Owns every incompatibility by id; factories for each kind of fact."""

    def __init__(self) -> None:
        self._items: list[Incompatibility[P, V]] = []

    def __getitem__(self, id: int) -> Incompatibility[P, V]:
        return self._items[id]

    def __len__(self) -> int:
        return len(self._items)

    def _add(self, terms: dict[P, Term[V]], cause: External | DerivedFrom) -> Incompatibility[P, V]:
        inc = Incompatibility(len(self._items), terms, cause)
        self._items.append(inc)
        return inc

    def not_root(self, package: P, version: V) -> Incompatibility[P, V]:
        return self._add({package: Term.neg(Range.singleton(version))}, NotRoot(package, version))

    def no_versions(self, package: P, term: Term[V]) -> Incompatibility[P, V]:
        assert term.positive, "no_versions needs a positive term"
        return self._add({package: term}, NoVersions(package, term.range))

    def unavailable(
        self, package: P, range: Range[V], reason: str, span: Range[V] | None = None
    ) -> Incompatibility[P, V]:
        """``package ∈ range`` cannot be used; the fact covers ``span`` (a range
        holding no other version than ``range`` does) when given."""
        cause = UnavailableVersions(package, range, reason)
        return self._add({package: Term.pos(range if span is None else span)}, cause)

    def from_dependency(
        self,
        package: P,
        versions: Range[V],
        dependency: P,
        dep_range: Range[V],
        span: Range[V] | None = None,
    ) -> Incompatibility[P, V]:
        """``package ∈ versions`` depends on ``dependency ∈ dep_range``.

        ``span``, when given, is a wider range that holds no other version of the
        package than ``versions`` does (``[1.2, next version)`` for ``==1.2``): the
        fact is stated over it so that versions rejected one after another add up
        to one interval instead of hundreds of singletons with gaps between them;
        the cause keeps ``versions`` for reports.
        """
        cause = FromDependencyOf(package, versions, dependency, dep_range)
        covered = versions if span is None else span
        if dependency == package:
            # A self-dependency either holds trivially or makes these versions unusable.
            return self._add({package: Term.pos(covered.difference(dep_range))}, cause)
        terms: dict[P, Term[V]] = {package: Term.pos(covered)}
        if not dep_range.is_empty():
            terms[dependency] = Term.neg(dep_range)
        return self._add(terms, cause)

    def merged_dependency(
        self, old: Incompatibility[P, V], new: Incompatibility[P, V]
    ) -> Incompatibility[P, V] | None:
        """One fact for two dependency facts that differ only in the depender's versions."""
        a, b = old.cause, new.cause
        if not (isinstance(a, FromDependencyOf) and isinstance(b, FromDependencyOf)):
            return None
        if a.package != b.package or a.dependency != b.dependency:
            return None
        if a.dependency_range != b.dependency_range:
            return None
        span = old.terms[a.package].range.union(new.terms[b.package].range)
        return self.from_dependency(
            a.package, a.range.union(b.range), a.dependency, a.dependency_range, span
        )

    def prior_cause(self, current: int, satisfier_cause: int, package: P) -> Incompatibility[P, V]:
        """Resolve two incompatibilities on ``package`` (the PubGrub resolution rule)."""
        t1 = self._items[current].terms
        t2 = self._items[satisfier_cause].terms
        terms: dict[P, Term[V]] = {}
        for p, t in t1.items():
            if p != package:
                terms[p] = t
        for p, t in t2.items():
            if p != package:
                terms[p] = terms[p].intersection(t) if p in terms else t
        package_term = t1[package].union(t2[package])
        if not package_term.is_any():
            terms[package] = package_term
        return self._add(terms, DerivedFrom(current, satisfier_cause))
