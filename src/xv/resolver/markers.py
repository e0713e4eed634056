"""Marker algebra for universal resolution: PEP 508 markers as decision diagrams.

A universal resolution carries markers instead of evaluating them: it intersects
a dependency's marker with the marker of the fork it was met in, asks whether two
forks can both hold, and prints the marker under which each pin applies. This module
gives markers that algebra. A :class:`MarkerTree` is a reduced, ordered decision
diagram (uv's ``uv-pep508`` marker tree, written again in Python): each node tests
one variable, its edges split the variable's values into intervals (or true/false
for ``extra``, ``in`` and ``not in``), and equal functions share one canonical
node, so ``a & ~a`` *is* :data:`FALSE` and equivalence is identity.

What it knows beyond PEP 508, as uv does:

* ``python_version`` is rewritten to ``python_full_version`` (``python_version >
  "3.8"`` is ``python_full_version >= "3.9"``), and versions compare by their
  release numbers, so Python version ranges merge into intervals;
* ``platform_system == "Windows"`` (``Darwin``, ``Linux``, ...) is
  ``sys_platform == "win32"`` (``darwin``, ``linux``, ...), and pairs that never
  hold together (``os_name == "nt"`` with ``sys_platform == "linux"``,
  ``platform_system == "FreeBSD"`` with ``sys_platform == "darwin"``, ...) are false;
* ``extra == "x"`` is one boolean variable per extra, so several extras may hold.

Deviations from ``packaging``'s evaluation, all uv's (0.13): a strict ordering
comparison of a string field (``sys_platform < "x"``) is false and ``<=``/``>=``
mean ``==``, as PEP 508 says (``platform_release``/``platform_version`` compare
lexicographically); ``<version field> in "3.8 3.9"`` is a list of versions; a
comparison that cannot be understood (a string compared with ``~=``, an invalid
version) is dropped (true). uv's version ordering of Darwin ``platform_release``
is not modelled.

>>> a = MarkerTree.parse('python_version >= "3.9" and sys_platform == "linux"')
>>> b = MarkerTree.parse('python_version < "3.9"')
>>> a.is_disjoint(b), str(a | b)
(True, "python_full_version < '3.9' or sys_platform == 'linux'")
>>> str(MarkerTree.parse('platform_system == "Windows"'))
"sys_platform == 'win32'"
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from packaging.markers import Marker
from packaging.version import InvalidVersion

from xv.resolver import marker_algebra as alg
from xv.resolver.marker_text import render
from xv.resolver.pubgrub import Range

__all__ = ["FALSE", "TRUE", "MarkerTree", "python_range_of"]


class MarkerTree:
    """An immutable, canonical marker: equal functions are equal trees.

    ``&``, ``|`` and ``~`` combine trees; :meth:`is_disjoint` and :meth:`implies`
    compare them; ``str()`` prints the short canonical text (empty for
    :data:`TRUE`).
    """

    __slots__ = ("_id",)

    def __init__(self, node: int) -> None:
        self._id = node

    @classmethod
    def parse(cls, marker: str | Marker | None) -> MarkerTree:
        """A tree from marker text or a ``packaging`` marker (None: always true)."""
        if marker is None:
            return TRUE
        parsed = marker if isinstance(marker, Marker) else Marker(marker)
        # packaging exposes no public tree of a parsed marker; ``_markers`` has been
        # its parse result since packaging 16 (variables, ops and values as
        # objects with a ``value``, alternating with "and"/"or", lists for groups).
        return cls(alg.canonical(alg._from_parsed(parsed._markers)))

    @classmethod
    def python_range(cls, rng: Range[tuple[int, ...]]) -> MarkerTree:
        """``python_full_version`` within ``rng`` (release-number keys)."""
        return cls(alg._from_range(alg.PYTHON_VAR, rng))

    @classmethod
    def extra(cls, name: str) -> MarkerTree:
        return cls.parse(f"extra == {name!r}")

    # -- algebra ---------------------------------------------------------------
    def __and__(self, other: MarkerTree) -> MarkerTree:
        return MarkerTree(alg.canonical(alg._and(self._id, other._id)))

    def __or__(self, other: MarkerTree) -> MarkerTree:
        return MarkerTree(alg.canonical(alg._or(self._id, other._id)))

    def __invert__(self) -> MarkerTree:
        return MarkerTree(alg._not(self._id))

    def is_true(self) -> bool:
        return self._id == alg._TRUE_ID

    def is_false(self) -> bool:
        return self._id == alg._FALSE_ID

    def is_disjoint(self, other: MarkerTree) -> bool:
        """No environment satisfies both."""
        return alg.canonical(alg._and(self._id, other._id)) == alg._FALSE_ID

    def implies(self, other: MarkerTree) -> bool:
        """Every environment satisfying this one satisfies ``other``."""
        return alg.canonical(alg._and(self._id, alg._not(other._id))) == alg._FALSE_ID

    # -- partial evaluation ----------------------------------------------------
    def with_extras(self, active: Iterable[str]) -> MarkerTree:
        """The tree when exactly the extras ``active`` are requested (no extra tests left)."""
        chosen = frozenset(active)

        def at(var: Any, edges: Any, go: Callable[[int], int]) -> int | None:
            if var[0] != alg._EXTRA:
                return None
            return go(edges[0] if var[2] in chosen else edges[1])

        return MarkerTree(alg.canonical(_rewrite(self._id, at)))

    def without_extras(self) -> MarkerTree:
        """Where some choice of extras makes the tree true (extra tests removed)."""
        return MarkerTree(alg.canonical(_exists(self._id, lambda var: var[0] == alg._EXTRA)))

    def only_python(self) -> Range[tuple[int, ...]]:
        """The Python versions (release keys) for which the tree can hold."""
        return python_range_of(self._id)

    def simplify_python(self, lower: tuple[int, ...] | None) -> MarkerTree:
        """The tree read where ``python_full_version >= lower`` is known to hold, so
        tests it makes redundant go away (uv's ``simplify_python_versions``)."""
        if lower is None:
            return self

        def at(var: Any, edges: Any, go: Callable[[int], int]) -> int | None:
            if var != alg.PYTHON_VAR:
                return None
            return alg._make(
                var, tuple(e for e in edges if e[0] is None or not _ends_below(e, lower))
            )

        return MarkerTree(alg.canonical(_rewrite(self._id, at)))

    def evaluate(self, env: Mapping[str, str], extras: Iterable[str] = ()) -> bool:
        """The value in one environment (``env`` as ``packaging`` names its fields)."""
        active = frozenset(extras)
        node = self._id
        while node > alg._TRUE_ID:
            var, edges = alg._nodes[node]
            node = _step(var, edges, env, active)
        return node == alg._TRUE_ID

    # -- output ----------------------------------------------------------------
    def to_marker(self) -> Marker | None:
        text = render(self._id)
        return None if text is None else Marker(text)

    def __str__(self) -> str:
        return render(self._id) or ""

    def __repr__(self) -> str:
        return f"MarkerTree({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MarkerTree) and other._id == self._id

    def __hash__(self) -> int:
        return hash(self._id)


TRUE = MarkerTree(alg._TRUE_ID)
FALSE = MarkerTree(alg._FALSE_ID)


def _ends_below(edge: tuple[Any, bool, int], lower: tuple[int, ...]) -> bool:
    hi, hi_i, _ = edge
    return bool(hi < lower or (hi == lower and not hi_i))


def _rewrite(root: int, at: Callable[[Any, Any, Callable[[int], int]], int | None]) -> int:
    """Rebuild the diagram bottom-up, once per node: ``at(var, edges, go)`` gives the
    replacement of a node it handles (``go`` rewrites a child), or None to keep the node
    with its children rewritten."""
    memo: dict[int, int] = {}

    def go(node: int) -> int:
        if node <= alg._TRUE_ID:
            return node
        if node not in memo:
            var, edges = alg._nodes[node]
            done = at(var, edges, go)
            memo[node] = alg._map(var, edges, go) if done is None else done
        return memo[node]

    return go(root)


def _exists(root: int, drop: Any) -> int:
    """Existentially quantify the variables ``drop`` selects out of the diagram."""

    def at(var: Any, edges: Any, go: Callable[[int], int]) -> int | None:
        if not drop(var):
            return None
        either = alg._FALSE_ID
        for child in alg._children(edges, var):
            either = alg._or(either, go(child))
        return either

    return _rewrite(root, at)


_python_memo: dict[int, Range[tuple[int, ...]]] = {}


def python_range_of(node: int) -> Range[tuple[int, ...]]:
    """The ``python_full_version`` keys for which ``node`` can be true."""
    if node == alg._TRUE_ID:
        return Range.full()
    if node == alg._FALSE_ID:
        return Range.empty()
    found = _python_memo.get(node)
    if found is None:
        var, edges = alg._nodes[node]
        found = Range.empty()
        if var == alg.PYTHON_VAR:
            lo: Any = None
            lo_i = False
            for hi, hi_i, child in edges:
                if not python_range_of(child).is_empty():
                    found = found.union(Range.from_bounds(lo, lo_i, hi, hi_i))
                lo, lo_i = hi, not hi_i
        else:
            for child in alg._children(edges, var):
                found = found.union(python_range_of(child))
        _python_memo[node] = found
    return found


def _step(
    var: alg.Var, edges: tuple[Any, ...], env: Mapping[str, str], extras: frozenset[str]
) -> int:
    kind = var[0]
    value: Any
    if kind == alg._EXTRA:
        return int(edges[0] if var[2] in extras else edges[1])
    if kind in (alg._IN, alg._CONTAINS):
        value = env.get(alg.STRING_KEYS[var[1]], "")
        hit = value in var[2] if kind == alg._IN else var[2] in value
        return int(edges[0] if hit else edges[1])
    if kind == alg._VERSION:
        try:
            value = alg.release_key(env.get(alg.VERSION_KEYS[var[1]], "0"))
        except InvalidVersion:
            value = (0,)
    else:
        value = env.get(alg.STRING_KEYS[var[1]], "")
    for hi, hi_i, child in edges:
        if hi is None or value < hi or (hi_i and value == hi):
            return int(child)
    raise AssertionError("edges cover every value")
