"""The partial solution: the solver's current assignments, grouped by package.

Every package keeps its derivations in order, each with the intersection of all
its terms so far, so the accumulated term of a package is O(1) to read and the
satisfier of a term is found by binary search. Decision level 0 holds what is
known before any decision; the root's decision is level 1.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from xv.resolver.pubgrub.incompatibility import Incompatibility, IncompatibilityStore
from xv.resolver.pubgrub.ranges import V
from xv.resolver.pubgrub.term import Relation, Term

P = TypeVar("P")

SATISFIED = "satisfied"
ALMOST_SATISFIED = "almost"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"


class _Derivation(Generic[V]):
    __slots__ = ("global_index", "level", "cause", "accumulated")

    def __init__(self, global_index: int, level: int, cause: int, accumulated: Term[V]) -> None:
        self.global_index = global_index
        self.level = level
        self.cause = cause
        self.accumulated = accumulated


class _Assignments(Generic[V]):
    """Everything assigned to one package: derivations, then maybe a decision."""

    __slots__ = ("smallest_level", "highest_level", "derivations", "decision", "term")

    def __init__(self, level: int) -> None:
        self.smallest_level = level
        self.highest_level = level
        self.derivations: list[_Derivation[V]] = []
        self.decision: tuple[int, V] | None = None  # (global index, version)
        self.term: Term[V] = Term.any()

    def satisfier(self, start: Term[V]) -> tuple[int | None, int, int]:
        """(cause or None for the decision, global index, level) of the first assignment
        whose accumulated term is disjoint from ``start``."""
        derivs = self.derivations
        lo, hi = 0, len(derivs)
        while lo < hi:
            mid = (lo + hi) // 2
            if derivs[mid].accumulated.is_disjoint(start):
                hi = mid
            else:
                lo = mid + 1
        if lo < len(derivs):
            d = derivs[lo]
            return d.cause, d.global_index, d.level
        assert self.decision is not None, "satisfier search ran past the derivations"
        return None, self.decision[0], self.highest_level


class PartialSolution(Generic[P, V]):
    def __init__(self) -> None:
        self.level = 0
        self._next_index = 0
        self._assignments: dict[P, _Assignments[V]] = {}
        self._undecided: dict[P, None] = {}  # packages with a positive term and no decision
        # Undecided packages whose term changed since the last take_changed(), in the order
        # they changed, so the solver re-ranks those alone instead of every undecided one.
        self._changed: dict[P, None] = {}

    # -- reading ---------------------------------------------------------------
    def term(self, package: P) -> Term[V] | None:
        pa = self._assignments.get(package)
        return None if pa is None else pa.term

    def undecided(self) -> list[P]:
        """Packages that must be selected but have no version yet, in the order they became so."""
        return list(self._undecided)

    def is_undecided(self, package: P) -> bool:
        return package in self._undecided

    def take_changed(self) -> list[P]:
        """The undecided packages whose term changed (or that became undecided) since the
        last call, in the order they first did (after a backtrack: those it changed first)."""
        changed = [p for p in self._changed if p in self._undecided]
        self._changed.clear()
        return changed

    def decided_version(self, package: P) -> V | None:
        pa = self._assignments.get(package)
        return None if pa is None or pa.decision is None else pa.decision[1]

    def solution(self) -> dict[P, V]:
        return {p: pa.decision[1] for p, pa in self._assignments.items() if pa.decision}

    def relation(self, inc: Incompatibility[P, V]) -> tuple[str, P | None]:
        """SATISFIED, CONTRADICTED (with the package), ALMOST_SATISFIED (with the
        package left undecided) or INCONCLUSIVE."""
        result = SATISFIED
        almost: P | None = None
        for package, term in inc.terms.items():
            pa = self._assignments.get(package)
            rel = Relation.INCONCLUSIVE if pa is None else term.relation_with(pa.term)
            if rel is Relation.SATISFIED:
                continue
            if rel is Relation.CONTRADICTED:
                return CONTRADICTED, package
            if result == SATISFIED:
                result, almost = ALMOST_SATISFIED, package
            else:
                return INCONCLUSIVE, None
        return result, almost

    # -- writing ---------------------------------------------------------------
    def add_decision(self, package: P, version: V) -> None:
        self.level += 1
        pa = self._assignments[package]
        pa.highest_level = self.level
        pa.decision = (self._next_index, version)
        pa.term = Term.exact(version)
        self._next_index += 1
        self._undecided.pop(package, None)

    def add_derivation(self, package: P, cause: int, store: IncompatibilityStore[P, V]) -> None:
        term = store[cause].terms[package].negate()
        pa = self._assignments.get(package)
        if pa is None:
            pa = self._assignments[package] = _Assignments(self.level)
        assert pa.decision is None, "derivation for a decided package"
        pa.highest_level = self.level
        pa.term = pa.term.intersection(term)
        pa.derivations.append(_Derivation(self._next_index, self.level, cause, pa.term))
        self._next_index += 1
        if pa.term.positive:
            self._undecided[package] = None
            self._changed[package] = None

    def would_satisfy(self, inc: Incompatibility[P, V], package: P, version: V) -> bool:
        """Would ``inc`` be satisfied if ``package`` were decided at ``version``?"""
        for p, term in inc.terms.items():
            if p == package:
                if not term.contains(version):
                    return False
                continue
            pa = self._assignments.get(p)
            if pa is None or term.relation_with(pa.term) is not Relation.SATISFIED:
                return False
        return True

    def backtrack(self, level: int) -> None:
        """Forget every assignment made above decision level ``level``."""
        self.level = level
        kept: dict[P, _Assignments[V]] = {}
        self._undecided.clear()
        changed = list(self._changed)
        for package, pa in self._assignments.items():
            if pa.smallest_level > level:
                continue
            if pa.highest_level > level:
                changed.append(package)
                # No decision survives: a decision is always a package's last assignment.
                pa.decision = None
                while pa.derivations[-1].level > level:
                    pa.derivations.pop()
                last = pa.derivations[-1]
                pa.highest_level = last.level
                pa.term = last.accumulated
            kept[package] = pa
            if pa.decision is None and pa.term.positive:
                self._undecided[package] = None
        self._assignments = kept
        # Still changed: the packages changed before and those changed now, if undecided.
        # Every package undecided now was undecided at the decision after ``level``, so the
        # solver has met them all: their order here does not matter (the order of the ones
        # that become undecided from now on does, for ties).
        self._changed = {p: None for p in changed if p in self._undecided}

    # -- conflict analysis -----------------------------------------------------
    def satisfier_search(
        self, inc: Incompatibility[P, V], store: IncompatibilityStore[P, V]
    ) -> tuple[P, int | None, int, int]:
        """(satisfier package, its cause, its level, the previous satisfier's level)."""
        found: dict[P, tuple[int | None, int, int]] = {}
        for package, term in inc.terms.items():
            found[package] = self._assignments[package].satisfier(term.negate())
        sat_pkg = max(found, key=lambda p: found[p][1])
        cause, _, sat_level = found[sat_pkg]
        pa = self._assignments[sat_pkg]
        if cause is not None:
            accum = store[cause].terms[sat_pkg].negate()
        else:
            assert pa.decision is not None
            accum = Term.exact(pa.decision[1])
        found[sat_pkg] = pa.satisfier(accum.intersection(inc.terms[sat_pkg].negate()))
        previous = max(found.values(), key=lambda f: f[1])[2]
        return sat_pkg, cause, sat_level, max(previous, 1)
