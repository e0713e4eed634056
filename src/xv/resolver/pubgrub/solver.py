"""The PubGrub main loop: unit propagation, conflict resolution, decisions.

This follows Dart pub's ``solver.md`` and pubgrub-rs. The solver never does I/O:
it asks a :class:`DependencyProvider` which package to decide next, which version
to try and what that version depends on.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from xv.resolver.pubgrub.incompatibility import DerivedFrom, Incompatibility, IncompatibilityStore
from xv.resolver.pubgrub.partial_solution import (
    ALMOST_SATISFIED,
    CONTRADICTED,
    SATISFIED,
    PartialSolution,
)
from xv.resolver.pubgrub.ranges import Range, V
from xv.resolver.pubgrub.term import Term
from xv.resolver.pubgrub.tree import DerivationTree, Derived

P = TypeVar("P")
_SETTLED = object()  # _choose_with_twin added facts instead of choosing


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A provider's answer: this version (or package) cannot be used, for ``reason``.

    ``reason`` reads after the package: ``"has no wheels for this platform"``.
    """

    reason: str


class DependencyProvider(Generic[P, V]):
    """What the solver asks of the outside world; subclass it and answer the three
    questions. The hooks have defaults that do nothing, so a provider overrides only
    the ones it needs (as resolvelib's ``AbstractProvider``).
    """

    def prioritize(self, package: P, range: Range[V]) -> Any:
        """A sortable priority; the solver decides the package with the HIGHEST one
        next (ties: the package the solver met first)."""
        raise NotImplementedError

    def choose_version(self, package: P, range: Range[V]) -> V | Unavailable | None:
        """A version in ``range`` to try; ``None`` when there is none (the report
        says "no versions"), or ``Unavailable`` to say why the package is unusable."""
        raise NotImplementedError

    def get_dependencies(self, package: P, version: V) -> Mapping[P, Range[V]] | Unavailable:
        """What ``version`` of ``package`` depends on, or why it cannot be used."""
        raise NotImplementedError

    # -- optional hooks --------------------------------------------------------
    def version_span(self, package: P, version: V) -> Range[V] | None:
        """A range around ``version`` holding no other version of the package
        (``[v, next version)``), over which facts about ``version`` are then stated
        (Dart pub does this; it keeps ranges short when many versions are rejected).
        ``None``: facts are stated about ``version`` alone."""
        return None

    def twin_of(self, package: P) -> P | None:
        """The package that every version of ``package`` depends on at that same version,
        if any (a Python project's extra on the project itself: ``foo[x] 1.2`` depends on
        ``foo ==1.2``). The solver then tries only versions its twin may still take, and
        says at once when none is left, instead of reading the dependencies of one version
        after another: an extra whose project was bounded walked down every older version,
        each rejected once its metadata was read, to the first whose metadata needed a
        build (see ``_Solver._choose_with_twin``)."""
        return None

    def should_cancel(self) -> None:
        """Called once per step of the main loop; raise to abort."""

    def on_conflict(self, affected: P, culprits: Sequence[P]) -> None:
        """Called at every step of conflict resolution with the package whose assignment
        satisfied the conflicting incompatibility last (the one that gets "rejected") and
        the other packages of that incompatibility (those decided earlier that caused
        it), so a provider can reorder packages that keep conflicting, as uv does."""


class _Ranked(Generic[P]):
    """A heap entry: ``key`` ranks ``package`` (the best key first); ``cached`` is the
    (term, priority) it was computed from, which tells whether it is still current."""

    __slots__ = ("key", "package", "cached")

    def __init__(self, key: tuple[Any, int], package: P, cached: tuple[Any, Any]) -> None:
        self.key = key
        self.package = package
        self.cached = cached

    def __lt__(self, other: _Ranked[P]) -> bool:
        return other.key < self.key  # heapq keeps the smallest first: the best key here


class NoSolutionError(Exception):
    """Solving failed; ``tree`` says why."""

    def __init__(self, tree: DerivationTree) -> None:
        super().__init__("no solution")
        self.tree = tree


def resolve(provider: DependencyProvider[P, V], root_package: P, root_version: V) -> dict[P, V]:
    """Select one version of every package reachable from the root, or raise
    :class:`NoSolutionError`."""
    return _Solver(provider, root_package, root_version).run()


class _Solver(Generic[P, V]):
    def __init__(self, provider: DependencyProvider[P, V], root: P, root_version: V) -> None:
        self.provider = provider
        self.root = root
        self.root_version = root_version
        self.store: IncompatibilityStore[P, V] = IncompatibilityStore()
        self.solution: PartialSolution[P, V] = PartialSolution()
        # Per package, the ids of its incompatibilities in the order they were added
        # (a dict as an ordered set: merging removes old ids in O(1)).
        self.by_package: dict[P, dict[int, None]] = {}
        self.contradicted: dict[int, int] = {}  # incompatibility id -> decision level
        # The same, by level: a backtrack drops the levels above its target, not a pass over
        # every entry (boto3 with an old urllib3: thousands of backtracks over tens of
        # thousands of entries took 0.4 s of the solver's 3 s).
        self._contradicted_at: dict[int, list[int]] = {}
        # (package, dependency, dependency range) -> the one fact that says it, for merging.
        self.merged_deps: dict[tuple[P, P, Range[V]], int] = {}
        self.added_deps: dict[P, set[V]] = {}
        self.priorities: dict[P, tuple[Term[V], Any]] = {}
        self.first_seen: dict[P, int] = {}
        # The undecided packages ranked, best first; entries go stale when a package's
        # term or priority changes and are dropped when they reach the top (see _pick).
        self.ranked: list[_Ranked[P]] = []
        self.rerank_all = False  # the provider's priorities changed: rank every package anew

    def run(self) -> dict[P, V]:
        self._index(self.store.not_root(self.root, self.root_version))
        next_package = self.root
        while True:
            self.provider.should_cancel()
            self._propagate(next_package)
            package = self._pick()
            if package is None:
                return self.solution.solution()
            next_package = package
            self._decide(package)

    # -- decisions -------------------------------------------------------------
    def _pick(self) -> P | None:
        """The undecided package with the highest (priority, earliest met).

        Only the packages whose term changed since the last pick are ranked again (the
        priority is the provider's answer for the package's range); the others keep their
        place in a heap, so a pick costs O(changed + log n), not O(n) for n undecided
        packages, which made resolving thousands of packages quadratic."""
        if self.rerank_all:
            self.rerank_all = False
            self.solution.take_changed()
            self.ranked = [self._rank(p) for p in self.solution.undecided()]
            heapq.heapify(self.ranked)
        else:
            for package in self.solution.take_changed():
                heapq.heappush(self.ranked, self._rank(package))
        ranked = self.ranked
        while ranked:
            top = ranked[0]
            if self._current(top):
                return top.package
            heapq.heappop(ranked)
        return None

    def _rank(self, package: P) -> _Ranked[P]:
        term = self.solution.term(package)
        assert term is not None
        cached = self.priorities.get(package)
        if cached is None or cached[0] is not term:
            cached = (term, self.provider.prioritize(package, term.range))
            self.priorities[package] = cached
        seen = self.first_seen.setdefault(package, len(self.first_seen))
        return _Ranked((cached[1], -seen), package, cached)

    def _current(self, entry: _Ranked[P]) -> bool:
        """Whether ``entry`` still ranks its package: undecided, with the term and the
        priority it was ranked by (a package whose term changes is ranked anew)."""
        package = entry.package
        cached = entry.cached
        return (
            self.priorities.get(package) is cached
            and self.solution.is_undecided(package)
            and self.solution.term(package) is cached[0]
        )

    def _decide(self, package: P) -> None:
        term = self.solution.term(package)
        assert term is not None and term.positive
        choice = self._choose_with_twin(package, term.range)
        if choice is _SETTLED:
            return
        if choice is None:
            self._index(self.store.no_versions(package, term))
            return
        if isinstance(choice, Unavailable):
            self._index(self.store.unavailable(package, term.range, choice.reason))
            return
        if not term.range.contains(choice):
            raise ValueError(f"provider chose {package} {choice}, outside {term.range}")
        seen = self.added_deps.setdefault(package, set())
        if choice in seen:
            self.solution.add_decision(package, choice)
            return
        seen.add(choice)
        deps = self.provider.get_dependencies(package, choice)
        if isinstance(deps, Unavailable):
            span = self._span(package, choice)
            inc = self.store.unavailable(package, Range.singleton(choice), deps.reason, span)
            self._index(inc)
            return
        new = self._add_dependencies(package, choice, deps)
        if not any(self.solution.would_satisfy(inc, package, choice) for inc in new):
            self.solution.add_decision(package, choice)

    def _choose_with_twin(self, package: P, rng: Range[V]) -> Any:
        """:meth:`DependencyProvider.choose_version` within what ``package``'s twin (see
        :meth:`DependencyProvider.twin_of`) may still take, when the twin must be in a
        range: a version outside it would only be rejected, once its dependencies were
        read. When no version is left there, facts that hold however the twin is bounded
        later are added instead of a choice (and ``_SETTLED`` returned): ``package`` has no
        version in ``rng`` within the twin's range, and its versions in ``rng`` outside
        that range depend on the twin outside it too (each version depends on its twin at
        that version). Propagation then finds the conflict, whose resolution backtracks
        what bounded the twin."""
        twin = self.provider.twin_of(package)
        bound = self.solution.term(twin) if twin is not None else None
        if twin is None or bound is None or not bound.positive:
            return self.provider.choose_version(package, rng)
        inside = rng.intersection(bound.range)
        if not inside.is_empty():
            choice = self.provider.choose_version(package, inside)
            if choice is not None:
                return choice
            self._index(self.store.no_versions(package, Term.pos(inside)))
        outside = rng.difference(bound.range)
        if not outside.is_empty():
            self._index(self.store.from_dependency(package, outside, twin, outside))
        return _SETTLED

    def _add_dependencies(
        self, package: P, version: V, deps: Mapping[P, Range[V]]
    ) -> list[Incompatibility[P, V]]:
        versions = Range.singleton(version)
        span = self._span(package, version)
        added = []
        for dep, dep_range in deps.items():
            if dep == package and dep_range.contains(version):
                continue
            inc = self.store.from_dependency(package, versions, dep, dep_range, span)
            added.append(self._index(inc))
        return added

    def _span(self, package: P, version: V) -> Range[V] | None:
        """The provider's widest range around ``version`` holding no other version."""
        return self.provider.version_span(package, version)

    # -- incompatibility index -------------------------------------------------
    def _index(self, inc: Incompatibility[P, V]) -> Incompatibility[P, V]:
        """Make ``inc`` known to unit propagation, merging dependency facts that
        differ only in the depender's versions ("foo 1 and foo 2 depend on bar")."""
        key = inc.dependency_key()
        if key is not None:
            past_id = self.merged_deps.get(key)
            if past_id is not None:
                merged = self.store.merged_dependency(self.store[past_id], inc)
                if merged is not None:
                    for p in merged.terms:
                        self.by_package[p].pop(past_id, None)
                    inc = merged
            self.merged_deps[key] = inc.id
        for p in inc.terms:
            self.by_package.setdefault(p, {})[inc.id] = None
        return inc

    # -- unit propagation ------------------------------------------------------
    def _propagate(self, package: P) -> None:
        # ``queued`` mirrors ``buffer`` as a set: a membership test on the list was
        # quadratic when one decision (the root's) derives thousands of packages.
        buffer = [package]
        queued = {package}
        while buffer:
            current = buffer.pop()
            queued.discard(current)
            conflict: int | None = None
            for inc_id in reversed(self.by_package.get(current, ())):
                if inc_id in self.contradicted:
                    continue
                inc = self.store[inc_id]
                relation, other = self.solution.relation(inc)
                if relation == SATISFIED:
                    conflict = inc_id
                    break
                if relation == ALMOST_SATISFIED:
                    assert other is not None
                    if other not in queued:
                        buffer.append(other)
                        queued.add(other)
                    self.solution.add_derivation(other, inc_id, self.store)
                    self._contradict(inc_id)
                elif relation == CONTRADICTED:
                    self._contradict(inc_id)
            if conflict is not None:
                almost, root_cause = self._resolve_conflict(conflict)
                buffer = [almost]
                queued = {almost}
                self.solution.add_derivation(almost, root_cause, self.store)
                self._contradict(root_cause)

    def _contradict(self, inc_id: int) -> None:
        """Mark ``inc_id`` contradicted (or used) at the current decision level."""
        level = self.solution.level
        self.contradicted[inc_id] = level
        self._contradicted_at.setdefault(level, []).append(inc_id)

    def _backtrack(self, previous: int) -> None:
        """Back to decision level ``previous``: the marks made above it are dropped."""
        top = self.solution.level
        self.solution.backtrack(previous)
        contradicted, at = self.contradicted, self._contradicted_at
        for level in range(previous + 1, top + 1):
            for inc_id in at.pop(level, ()):
                if contradicted.get(inc_id) == level:  # not marked again since, elsewhere
                    del contradicted[inc_id]

    # -- conflict resolution ---------------------------------------------------
    def _resolve_conflict(self, inc_id: int) -> tuple[P, int]:
        changed = False
        while True:
            inc = self.store[inc_id]
            if inc.is_terminal(self.root, self.root_version):
                raise NoSolutionError(self._tree(inc_id))
            package, cause, level, previous = self.solution.satisfier_search(inc, self.store)
            self._report_conflict(package, inc)
            if previous < level:
                self._backtrack(previous)
                if changed:
                    inc = self._index(inc)
                return package, inc.id
            assert cause is not None
            inc_id = self.store.prior_cause(inc_id, cause, package).id
            changed = True

    def _report_conflict(self, affected: P, inc: Incompatibility[P, V]) -> None:
        culprits = [p for p in inc.terms if p != affected and p != self.root]
        if culprits:
            self.provider.on_conflict(affected, culprits)
            self.priorities.clear()
            self.rerank_all = True

    # -- failure report --------------------------------------------------------
    def _tree(self, terminal: int) -> DerivationTree:
        """The derivation tree of ``terminal``; derived nodes reached more than once
        carry their incompatibility id as ``shared_id``."""
        refs: dict[int, int] = {terminal: 1}
        stack = [terminal]
        while stack:
            cause = self.store[stack.pop()].cause
            if isinstance(cause, DerivedFrom):
                for child in (cause.cause1, cause.cause2):
                    refs[child] = refs.get(child, 0) + 1
                    if refs[child] == 1:
                        stack.append(child)
        built: dict[int, DerivationTree] = {}
        todo: list[tuple[int, bool]] = [(terminal, False)]
        while todo:
            i, ready = todo.pop()
            if i in built:
                continue
            inc = self.store[i]
            cause = inc.cause
            if not isinstance(cause, DerivedFrom):
                built[i] = cause
            elif ready:
                shared_id = i if refs[i] > 1 else None
                c1, c2 = built[cause.cause1], built[cause.cause2]
                built[i] = Derived(dict(inc.terms), shared_id, c1, c2)
            else:
                todo.extend(((i, True), (cause.cause2, False), (cause.cause1, False)))
        return built[terminal]
