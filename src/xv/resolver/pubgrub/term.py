"""Terms: a statement about one package, ``p ∈ R`` (positive) or ``p ∉ R`` (negative).

A negative term is also satisfied when the package is not selected at all, which is
why ``not ∅`` ("anything, or nothing") differs from ``∈ *`` ("some version").
"""

from __future__ import annotations

from enum import Enum
from typing import Generic

from xv.resolver.pubgrub.ranges import Range, V


class Relation(Enum):
    SATISFIED = "satisfied"
    CONTRADICTED = "contradicted"
    INCONCLUSIVE = "inconclusive"


class Term(Generic[V]):
    __slots__ = ("positive", "range")

    positive: bool
    range: Range[V]

    def __init__(self, positive: bool, range: Range[V]) -> None:
        self.positive = positive
        self.range = range

    @classmethod
    def pos(cls, range: Range[V]) -> Term[V]:
        return cls(True, range)

    @classmethod
    def neg(cls, range: Range[V]) -> Term[V]:
        return cls(False, range)

    @classmethod
    def exact(cls, v: V) -> Term[V]:
        return cls(True, Range.singleton(v))

    @classmethod
    def any(cls) -> Term[V]:
        """``not ∅``: no constraint at all."""
        return cls(False, Range.empty())

    @classmethod
    def void(cls) -> Term[V]:
        """``∈ ∅``: cannot be satisfied."""
        return cls(True, Range.empty())

    def is_void(self) -> bool:
        return self.positive and self.range.is_empty()

    def is_any(self) -> bool:
        return not self.positive and self.range.is_empty()

    def negate(self) -> Term[V]:
        return Term(not self.positive, self.range)

    def contains(self, v: V) -> bool:
        return self.range.contains(v) == self.positive

    def intersection(self, other: Term[V]) -> Term[V]:
        if self.positive:
            if other.positive:
                return Term(True, self.range.intersection(other.range))
            return Term(True, self.range.difference(other.range))
        if other.positive:
            return Term(True, other.range.difference(self.range))
        return Term(False, self.range.union(other.range))

    def union(self, other: Term[V]) -> Term[V]:
        return self.negate().intersection(other.negate()).negate()

    def subset_of(self, other: Term[V]) -> bool:
        if self.positive:
            if other.positive:
                return self.range.subset_of(other.range)
            return self.range.is_disjoint(other.range)
        if other.positive:
            return False  # "not in R" also holds when the package is absent
        return other.range.subset_of(self.range)

    def is_disjoint(self, other: Term[V]) -> bool:
        if self.positive:
            if other.positive:
                return self.range.is_disjoint(other.range)
            return self.range.subset_of(other.range)
        if other.positive:
            return other.range.subset_of(self.range)
        return False  # both hold when the package is absent

    def relation_with(self, accumulated: Term[V]) -> Relation:
        """How the accumulated assignments of a package relate to this term."""
        if accumulated.positive:
            # Fast path for decided packages: a single version is in the term or not.
            single = accumulated.range.as_singleton()
            if single is not None:
                return Relation.SATISFIED if self.contains(single) else Relation.CONTRADICTED
        if accumulated.subset_of(self):
            return Relation.SATISFIED
        if accumulated.is_disjoint(self):
            return Relation.CONTRADICTED
        return Relation.INCONCLUSIVE

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Term):
            return NotImplemented
        return self.positive == other.positive and self.range == other.range

    def __hash__(self) -> int:
        return hash((self.positive, self.range))

    def __repr__(self) -> str:
        return f"Term({'+' if self.positive else 'not '}{self.range})"

    def __str__(self) -> str:
        return str(self.range) if self.positive else f"not {self.range}"
