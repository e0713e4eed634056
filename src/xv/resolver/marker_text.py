"""A marker diagram back as short text, the way uv prints it.

The diagram's paths to *true* give a disjunction of conjunctions (DNF); edges that
lead to one child are joined first, then uv's simplification drops terms made
redundant by another clause (``A or (not A and B)`` is ``A or B``) and clauses
that contain another; terms and clauses are sorted by field. Versions print as
their release without trailing zeros, values in single quotes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from xv.resolver import marker_algebra as alg
from xv.resolver.pubgrub import Range

_NEGATE = {
    "==": "!=",
    "!=": "==",
    "<": ">=",
    ">=": "<",
    "<=": ">",
    ">": "<=",
    "==*": "!=*",
    "!=*": "==*",
    "in": "not in",
    "not in": "in",
    "contains": "not contains",
    "not contains": "contains",
}
# uv sorts terms by the kind of field (its MarkerValueVersion/MarkerValueString order).
_VERSION_ORDER = {"implementation_version": 0, "python_full_version": 1}
_STRING_ORDER = {
    "implementation_name": 0,
    "os_name": 1,
    "platform_machine": 3,
    "platform_python_implementation": 5,
    "platform_release": 8,
    "platform_system": 9,
    "platform_version": 10,
    "sys_platform": 12,
}


class Term(NamedTuple):
    """One comparison of the output: ``key op value``."""

    key: str
    op: str
    value: Any  # a release tuple for version fields, else a string

    def kind(self) -> tuple[int, ...]:
        if self.key in _VERSION_ORDER:
            return (0, _VERSION_ORDER[self.key])
        if self.key == "extra":
            return (4,)
        return (2, _STRING_ORDER[self.key])

    def negates(self, other: Term) -> bool:
        return self.key == other.key and self.value == other.value and _NEGATE[self.op] == other.op

    def __str__(self) -> str:
        if self.key in _VERSION_ORDER:
            text = ".".join(map(str, self.value))
            if self.op in ("==*", "!=*"):
                return f"{self.key} {self.op[:-1]} '{text}.*'"
            return f"{self.key} {self.op} '{text}'"
        if self.op in ("contains", "not contains"):
            return f"'{self.value}' {self.op.replace('contains', 'in')} {self.key}"
        if self.op in ("in", "not in"):
            return f"{self.key} {self.op} '{self.value}'"
        return f"{self.key} {self.op} '{self.value}'"


def render(node: int) -> str | None:
    """The marker's text; None when it always holds."""
    if node == alg._TRUE_ID:
        return None
    if node == alg._FALSE_ID:
        return "python_version < '0'"
    dnf: list[list[Term]] = []
    _collect(node, dnf, [])
    _simplify(dnf)
    for clause in dnf:
        clause.sort(key=Term.kind)
    dnf.sort(key=lambda c: [t.kind() for t in c])
    if len(dnf) == 1:
        return " and ".join(map(str, dnf[0]))
    return " or ".join(
        " and ".join(map(str, c)) if len(c) == 1 else f"({' and '.join(map(str, c))})" for c in dnf
    )


def _key_name(var: alg.Var) -> str:
    kind = var[0]
    if kind == alg._VERSION:
        return alg.VERSION_KEYS[var[1]]
    if kind == alg._EXTRA:
        return "extra"
    return alg.STRING_KEYS[var[1]]


def _collect(node: int, dnf: list[list[Term]], path: list[Term]) -> None:
    if node == alg._FALSE_ID:
        return
    if node == alg._TRUE_ID:
        if path:
            dnf.append(list(path))
        return
    var, edges = alg._nodes[node]
    key = _key_name(var)
    if alg._is_bool(var):
        positive, negative = {
            alg._IN: ("in", "not in"),
            alg._CONTAINS: ("contains", "not contains"),
            alg._EXTRA: ("==", "!="),
        }[var[0]]
        value = var[2]
        for op, child in ((positive, edges[0]), (negative, edges[1])):
            _collect(child, dnf, [*path, Term(key, op, value)])
        return
    for child, rng in _grouped_edges(edges).items():
        for terms in _range_terms(key, rng, var[0] == alg._VERSION):
            _collect(child, dnf, [*path, *terms])


def _grouped_edges(edges: tuple[Any, ...]) -> dict[int, Range[Any]]:
    """The values leading to each child, in the order the children are first met."""
    out: dict[int, Range[Any]] = {}
    lo: Any = None
    lo_i = False
    for hi, hi_i, child in edges:
        seg: Range[Any] = Range.from_bounds(lo, lo_i, hi, hi_i)
        out[child] = out[child].union(seg) if child in out else seg
        lo, lo_i = hi, not hi_i
    return out


def _range_terms(key: str, rng: Range[Any], version: bool) -> list[list[Term]]:
    """The alternatives (each a conjunction of terms) that say "the field is in ``rng``"."""
    segs = rng.segments
    excluded = _excluded_points(segs)
    if excluded is not None:
        return [[Term(key, "!=", v) for v in excluded]]
    if version and len(segs) == 2:
        star = _not_star(segs)
        if star is not None:
            return [[Term(key, "!=*", star)]]
    return [_segment_terms(key, s, version) for s in segs]


def _excluded_points(segs: tuple[Any, ...]) -> list[Any] | None:
    """``x != a and x != b``: unbounded both ways with single points left out."""
    if segs[0].lower is not None or segs[-1].upper is not None:
        return None
    points = []
    for left, right in zip(segs, segs[1:], strict=False):
        if left.upper_inclusive or right.lower_inclusive or left.upper != right.lower:
            return None
        points.append(left.upper)
    return points


def _not_star(segs: tuple[Any, ...]) -> tuple[int, ...] | None:
    """``< 3.8 or >= 3.9`` is ``!= 3.8.*``."""
    (lo1, _, hi1, hi1_i), (lo2, lo2_i, hi2, _) = segs
    if lo1 is not None or hi1_i or not lo2_i or hi2 is not None:
        return None
    if len(hi1) == 1 and lo2 == (hi1[0], 1):
        return (hi1[0], 0)
    if len(hi1) == 2 and lo2 == (hi1[0], hi1[1] + 1):
        return tuple(hi1)
    return None


def _segment_terms(key: str, seg: Any, version: bool) -> list[Term]:
    lo, lo_i, hi, hi_i = seg
    if lo is not None and lo_i and hi_i and lo == hi:
        return [Term(key, "==", lo)]
    if version and lo is not None and lo_i and hi is not None and not hi_i:
        if len(lo) == 1 and hi == (lo[0], 1):
            return [Term(key, "==*", (lo[0], 0))]
        if len(lo) == 2 and hi == (lo[0], lo[1] + 1):
            return [Term(key, "==*", lo)]
    out = []
    if lo is not None:
        out.append(Term(key, ">=" if lo_i else ">", lo))
    if hi is not None:
        out.append(Term(key, "<=" if hi_i else "<", hi))
    return out


def _simplify(dnf: list[list[Term]]) -> None:
    """uv's DNF simplification, step for step (the output must match its text)."""
    for i in range(len(dnf)):
        clause = dnf[i]
        redundant: list[int] = []
        for skipped, skipped_term in enumerate(clause):
            for j, other in enumerate(dnf):
                if i != j and _implied_away(other, skipped_term, clause, redundant):
                    redundant.append(skipped)
                    break
        for k in sorted(redundant, reverse=True):
            del clause[k]
    dropped: list[int] = []
    for i, clause in enumerate(dnf):
        for j, other in enumerate(dnf):
            if i != j and j not in dropped and all(t in clause for t in other):
                dropped.append(i)
                break
    for i in reversed(dropped):
        del dnf[i]


def _implied_away(other: list[Term], skipped: Term, clause: list[Term], gone: list[int]) -> bool:
    """Is ``skipped`` redundant in ``clause`` because ``other`` is ``clause`` with
    ``skipped`` negated (or a subset of that)?"""
    for term in other:
        if term == skipped:
            return False
        if term.negates(skipped):
            continue
        if term not in clause or clause.index(term) in gone:
            return False
    return True
