"""A marker diagram back as short text, the way uv prints it.

As uv 0.13 does: an irredundant sum of products is taken from the diagram (each
product a path of single-variable guards), written as terms, terms and clauses
sorted by field, then clauses sharing a prefix or suffix are factored. Versions
print as their release without trailing zeros, values in single quotes.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    _expand(isop(node), dnf, [])
    for clause in dnf:
        clause.sort(key=Term.kind)
    dnf.sort(key=lambda c: [t.kind() for t in c])
    return _factored(dnf)


def _key_name(var: alg.Var) -> str:
    kind = var[0]
    if kind == alg._VERSION:
        return alg.VERSION_KEYS[var[1]]
    if kind == alg._EXTRA:
        return "extra"
    return alg.STRING_KEYS[var[1]]


def _expand(cover: Cover, dnf: list[list[Term]], path: list[Term]) -> None:
    """The clauses of a cover, each guard written as terms."""
    if cover is True:
        if path:
            dnf.append(list(path))
    elif isinstance(cover, int):
        _expand_guard(cover, alg._TRUE_ID, True, dnf, path)
    elif cover is not False:
        for (node, child), suffix in cover:
            _expand_guard(node, child, suffix, dnf, path)


def _expand_guard(
    node: int, child: int, suffix: Cover, dnf: list[list[Term]], path: list[Term]
) -> None:
    """The guard is "``node`` leads to ``child``" (one variable's test)."""
    if node == alg._FALSE_ID:
        return
    if node == alg._TRUE_ID:
        _expand(suffix, dnf, path)
        return
    var, edges = alg._nodes[node]
    key = _key_name(var)
    if alg._is_bool(var):
        positive, negative = {
            alg._IN: ("in", "not in"),
            alg._CONTAINS: ("contains", "not contains"),
            alg._EXTRA: ("==", "!="),
        }[var[0]]
        for op, target in ((positive, edges[0]), (negative, edges[1])):
            if target == child:
                _expand(suffix, dnf, [*path, Term(key, op, var[2])])
        return
    rng = _grouped_edges(edges).get(child, Range.empty())
    for terms in _range_terms(key, rng, var[0] == alg._VERSION):
        _expand(suffix, dnf, [*path, *terms])


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


def _factored(clauses: list[list[Term]]) -> str:
    """uv's output: clauses grouped by a shared prefix, and prefixes with equal
    suffixes combined (``AX or AY or BX or BY`` is ``(A or B) and (X or Y)``)."""
    if len(clauses) < 2 or all(len(c) == 1 for c in clauses):
        return _disjunction(clauses)
    by_first: dict[Term, list[list[Term]]] = {}
    for clause in clauses:
        by_first.setdefault(clause[0], []).append(clause)
    shared_prefix = len(by_first) < len(clauses)
    by_suffixes: dict[tuple[tuple[Term, ...], ...], list[list[Term]]] = {}
    for group in by_first.values():
        first = group[0]
        size = 1 if len(group) == 1 else len(first)
        for clause in group[1:]:
            size = sum(1 for _ in _common(first[:size], clause))
        suffixes = tuple(tuple(c[size:]) for c in group)
        if any(not s for s in suffixes):
            suffixes = ()  # the prefix alone covers the group's longer clauses
        by_suffixes.setdefault(suffixes, []).append(first[:size])
    shared_suffix = any(s and len(p) > 1 for s, p in by_suffixes.items())
    if not shared_prefix and not shared_suffix:
        return _disjunction(clauses)
    parts = []
    for suffixes, prefixes in by_suffixes.items():
        if not suffixes:
            parts.append(_disjunction(prefixes))
        else:
            parts.append(f"{_operand(prefixes)} and {_operand([list(s) for s in suffixes])}")
    return " or ".join(parts)


def _common(a: list[Term], b: list[Term]) -> Iterable[Term]:
    for x, y in zip(a, b, strict=False):
        if x != y:
            return
        yield x


def _operand(clauses: list[list[Term]]) -> str:
    text = _disjunction(clauses)
    return text if len(clauses) == 1 else f"({text})"


def _disjunction(clauses: list[list[Term]]) -> str:
    return " or ".join(
        f"({' and '.join(map(str, c))})"
        if len(clauses) > 1 and len(c) > 1
        else " and ".join(map(str, c))
        for c in clauses
    )


# -- cover extraction ----------------------------------------------------------
# uv 0.13 writes a marker from an irredundant sum of products taken straight
# from the diagram (Minato-Morreale; for interval variables, the part every
# branch allows is pulled out as a branch without a test of that variable).
# A cover is True, False, a single-variable node, or branches: a list of
# ((guard node, child it leads to), suffix cover).

Cover = Any
_Guard = tuple[int, int]


def isop(node: int) -> Cover:
    return _isop(node, node, {})[1]


def _isop(
    lower: int, upper: int, memo: dict[tuple[int, int], tuple[int, Cover]]
) -> tuple[int, Cover]:
    """A cover and its function ``f`` with ``lower => f => upper``."""
    if lower == alg._FALSE_ID:
        return alg._FALSE_ID, False
    if upper == alg._TRUE_ID:
        return alg._TRUE_ID, True
    found = memo.get((lower, upper))
    if found is not None:
        return found
    if lower == upper and all(c <= alg._TRUE_ID for c in _kids(lower)):
        return lower, lower
    exact = lower == upper
    cofactors = _cofactors(lower, upper)
    common_upper = alg._TRUE_ID
    for _, _, up in cofactors:
        common_upper = alg._and(common_upper, up)
    common_lower = function = alg._FALSE_ID
    branches: dict[int, tuple[_Guard, Cover]] = {}
    for guard, lo, up in cofactors:
        required = alg._and(lo, alg._not(common_upper))
        specific, cover = _isop(required, up, memo)
        common_lower = alg._or(common_lower, alg._and(lo, alg._not(specific)))
        if specific == alg._FALSE_ID:
            continue
        if not exact:
            function = alg._or(function, alg._and(_guard_node(guard), specific))
        if specific in branches:
            joined = alg._or(_guard_node(branches[specific][0]), _guard_node(guard))
            branches[specific] = ((joined, alg._TRUE_ID), branches[specific][1])
        else:
            branches[specific] = (guard, cover)
    common, cover = _isop(common_lower, common_upper, memo)
    function = lower if exact else alg._or(function, common)
    if common != alg._FALSE_ID:
        branches[common] = ((alg._TRUE_ID, alg._TRUE_ID), cover)
    result = (function, list(branches.values()))
    memo[(lower, upper)] = result
    return result


def _kids(node: int) -> Iterable[int]:
    var, edges = alg._nodes[node]
    return alg._children(edges, var)


def _guard_node(guard: _Guard) -> int:
    """The single-variable node true where ``guard`` holds."""
    node, child = guard
    if child == alg._TRUE_ID or node <= alg._TRUE_ID:
        return node
    var, edges = alg._nodes[node]
    if alg._is_bool(var):
        high = edges[0] == child
        return alg._make(
            var, (alg._TRUE_ID, alg._FALSE_ID) if high else (alg._FALSE_ID, alg._TRUE_ID)
        )
    return alg._from_range(var, _grouped_edges(edges)[child])


def _cofactors(lower: int, upper: int) -> list[tuple[_Guard, int, int]]:
    """The first variable's guards with the matching cofactors of both bounds."""
    if lower == upper:
        var, edges = alg._nodes[lower]
        kids = (edges[1], edges[0]) if alg._is_bool(var) else dict.fromkeys(_kids(lower))
        return [((lower, c), c, c) for c in kids]
    (lv, le), (uv, ue) = alg._nodes[lower], alg._nodes[upper]
    var = min(lv, uv)
    if alg._is_bool(var):
        lo_low, lo_high = (le[1], le[0]) if lv == var else (lower, lower)
        up_low, up_high = (ue[1], ue[0]) if uv == var else (upper, upper)
        guard = alg._make(var, (alg._TRUE_ID, alg._FALSE_ID))
        return [
            ((alg._not(guard), alg._TRUE_ID), lo_low, up_low),
            ((guard, alg._TRUE_ID), lo_high, up_high),
        ]
    regions: dict[tuple[int, int], Range[Any]] = {}
    lo_parts = _parts(le) if lv == var else [(Range.full(), lower)]
    up_parts = _parts(ue) if uv == var else [(Range.full(), upper)]
    for lo_rng, lo_child in lo_parts:
        for up_rng, up_child in up_parts:
            both = lo_rng.intersection(up_rng)
            if not both.is_empty():
                key = (lo_child, up_child)
                regions[key] = regions[key].union(both) if key in regions else both
    out: list[tuple[_Guard, int, int]] = []
    for (lo_c, up_c), rng in regions.items():
        node = alg._FALSE_ID if lo_c == alg._FALSE_ID else alg._from_range(var, rng)
        out.append(((node, alg._TRUE_ID), lo_c, up_c))
    return out


def _parts(edges: tuple[Any, ...]) -> list[tuple[Range[Any], int]]:
    out: list[tuple[Range[Any], int]] = []
    lo: Any = None
    lo_i = False
    for hi, hi_i, child in edges:
        out.append((Range.from_bounds(lo, lo_i, hi, hi_i), child))
        lo, lo_i = hi, not hi_i
    return out
