"""The marker decision diagram's nodes and operations (see :mod:`xv.resolver.markers`).

Nodes are interned integers: ``0`` is false, ``1`` is true, and every other id names
one ``(variable, edges)`` pair, created once, so equal functions are equal ids.
Operations are memoised by id; the tables only grow, which suits one process
resolving once (a universal resolution makes a few thousand nodes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from xv.resolver.pubgrub import Range

# A variable is a tuple whose order is the diagram's variable order (uv's): string
# fields first (the platform ones on top, where the known-impossible pairs are
# checked), then version fields, then ``in``/``contains`` tests, then extras.
_STRING, _VERSION, _IN, _CONTAINS, _EXTRA = range(5)
STRING_KEYS = (
    "os_name",
    "sys_platform",
    "platform_system",
    "platform_machine",
    "platform_python_implementation",
    "platform_release",
    "platform_version",
    "implementation_name",
)
VERSION_KEYS = ("implementation_version", "python_full_version")
_PLATFORM_TOP = 2  # string variables 0..2 take part in the impossible pairs
PYTHON_VAR = (_VERSION, 1)

# uv only rewrites values that name exactly one sys.platform.
_SYSTEM_TO_PLATFORM = {
    "Windows": "win32",
    "Darwin": "darwin",
    "Linux": "linux",
    "AIX": "aix",
    "Emscripten": "emscripten",
    "Android": "android",
}

Var = tuple[Any, ...]
# Edges of an interval variable: a partition of its values into consecutive
# intervals, each given by its upper bound ``(hi, hi_inclusive, child)``; the last
# has ``hi is None`` (unbounded). A boolean variable's edges are ``(high, low)``.
RangeEdges = tuple[tuple[Any, bool, int], ...]

_FALSE_ID, _TRUE_ID = 0, 1
_nodes: list[tuple[Var, tuple[Any, ...]]] = [((), ()), ((), ())]
_unique: dict[tuple[Var, tuple[Any, ...]], int] = {}
_and_memo: dict[tuple[int, int], int] = {}
_not_memo: dict[int, int] = {_TRUE_ID: _FALSE_ID, _FALSE_ID: _TRUE_ID}
_exclusions: list[int] = []


def release_key(text: str) -> tuple[int, ...]:
    """A version's release numbers without trailing zeros: how markers compare them.

    >>> release_key("3.10.0"), release_key("3.8.1")
    ((3, 10), (3, 8, 1))
    """
    return _trim(Version(text).release)


def _trim(release: tuple[int, ...]) -> tuple[int, ...]:
    end = len(release)
    while end > 1 and release[end - 1] == 0:
        end -= 1
    return tuple(release[:end])


def _is_bool(var: Var) -> bool:
    return bool(var[0] >= _IN)


# -- interning -----------------------------------------------------------------


def _make(var: Var, edges: tuple[Any, ...]) -> int:
    """The canonical node for ``var`` with ``edges`` (reduced: a test whose children
    are all one node is that node; touching intervals with one child are joined)."""
    if _is_bool(var):
        if edges[0] == edges[1]:
            return int(edges[0])
    else:
        merged: list[tuple[Any, bool, int]] = []
        for hi, hi_i, child in edges:
            if merged and merged[-1][2] == child:
                merged[-1] = (hi, hi_i, child)
            else:
                merged.append((hi, hi_i, child))
        if len(merged) == 1:
            return merged[0][2]
        edges = tuple(merged)
    key = (var, edges)
    found = _unique.get(key)
    if found is None:
        found = _unique[key] = len(_nodes)
        _nodes.append(key)
    return found


def _upper_lt(a: Any, a_i: bool, b: Any, b_i: bool) -> bool:
    """Does an interval ending at ``a`` end before one ending at ``b``? (None: +inf)"""
    if a is None:
        return False
    if b is None or a < b:
        return True
    if b < a:
        return False
    return b_i and not a_i


def _children(edges: tuple[Any, ...], var: Var) -> Iterable[int]:
    return edges if _is_bool(var) else (child for _, _, child in edges)


def _map(var: Var, edges: tuple[Any, ...], f: Callable[[int], int]) -> int:
    if _is_bool(var):
        return _make(var, (f(edges[0]), f(edges[1])))
    return _make(var, tuple((hi, hi_i, f(c)) for hi, hi_i, c in edges))


def _zip(var: Var, a: tuple[Any, ...], b: tuple[Any, ...], f: Callable[[int, int], int]) -> int:
    """Apply ``f`` to the children of two nodes of one variable, interval by interval."""
    if _is_bool(var):
        return _make(var, (f(a[0], b[0]), f(a[1], b[1])))
    out: list[tuple[Any, bool, int]] = []
    i = j = 0
    while True:
        ahi, ahi_i, ac = a[i]
        bhi, bhi_i, bc = b[j]
        child = f(ac, bc)
        if _upper_lt(ahi, ahi_i, bhi, bhi_i):
            out.append((ahi, ahi_i, child))
            i += 1
        elif _upper_lt(bhi, bhi_i, ahi, ahi_i):
            out.append((bhi, bhi_i, child))
            j += 1
        else:
            out.append((ahi, ahi_i, child))
            if ahi is None:
                return _make(var, tuple(out))
            i += 1
            j += 1


# -- the operations ------------------------------------------------------------


def _not(x: int) -> int:
    found = _not_memo.get(x)
    if found is None:
        var, edges = _nodes[x]
        found = _map(var, edges, _not)
        _not_memo[x] = found
        _not_memo[found] = x
    return found


def _and(x: int, y: int) -> int:
    if x in (_TRUE_ID, y):
        return y
    if y == _TRUE_ID:
        return x
    if x == _FALSE_ID or y == _FALSE_ID or _not_memo.get(x) == y:
        return _FALSE_ID
    if x > y:
        x, y = y, x
    found = _and_memo.get((x, y))
    if found is not None:
        return found
    (xv, xe), (yv, ye) = _nodes[x], _nodes[y]
    if xv < yv:
        node = _map(xv, xe, lambda c: _and(c, y))
    elif yv < xv:
        node = _map(yv, ye, lambda c: _and(x, c))
    else:
        node = _zip(xv, xe, ye, _and)
    _and_memo[(x, y)] = node
    return node


def _or(x: int, y: int) -> int:
    return _not(_and(_not(x), _not(y)))


# -- platforms -----------------------------------------------------------------
# Some platform tests never hold together (``os_name == "nt"`` and ``sys_platform ==
# "linux"``). On such impossible assignments a function's value does not matter, so
# canonicalising picks one value there, as uv does, so that functions equal on every
# possible platform are one node. Platform fields sit on top of the variable order,
# so only a root testing one of them with a child testing another can be affected.


def _is_platform(var: Var) -> bool:
    return bool(var[0] == _STRING and var[1] <= _PLATFORM_TOP)


def _mixes_platforms(node: int) -> bool:
    if node <= _TRUE_ID:
        return False
    var, edges = _nodes[node]
    return _is_platform(var) and any(
        c > _TRUE_ID and _is_platform(_nodes[c][0]) for c in _children(edges, var)
    )


_canon_memo: dict[int, int] = {}


def canonical(node: int) -> int:
    """The one node for ``node``'s function on the possible platforms."""
    if not _mixes_platforms(node):
        return node
    found = _canon_memo.get(node)
    if found is None:
        found = _cofactor(node, _not(_exclusions_node()), {})
        if _mixes_platforms(found):
            var, edges = _nodes[found]
            found = _map(var, edges, canonical)
        _canon_memo[node] = found
        _canon_memo[_not(node)] = _not(found)
    return found


def _first_child(node: int) -> int:
    var, edges = _nodes[node]
    return int(edges[0] if _is_bool(var) else edges[0][2])


def _cofactor(value: int, domain: int, memo: dict[tuple[int, int], int]) -> int:
    """``value`` extended from the platforms in ``domain`` to all: uv's
    ``platform_cofactor`` (on impossible values, follow the first range's child)."""
    if domain == _TRUE_ID or value <= _TRUE_ID:
        return value
    var, edges = _nodes[value]
    if not _is_platform(var):
        return value
    found = memo.get((value, domain))
    if found is not None:
        return found
    dvar, dedges = _nodes[domain]
    default_domain = _first_child(domain)
    if var < dvar:
        found = _map(var, edges, lambda c: _cofactor(c, domain, memo))
    elif dvar < var:
        found = _cofactor(value, default_domain, memo)
    else:
        default_value = _first_child(value)
        default = _cofactor(default_value, default_domain, memo)

        def pick(child: int, enabled: int) -> int:
            if enabled == _FALSE_ID or child == default_value:
                return default
            result = _cofactor(child, enabled, memo)
            if enabled != default_domain and result == _cofactor(default, enabled, memo):
                return default
            return result

        found = _zip(var, edges, dedges, pick)
    memo[(value, domain)] = found
    return found


def _exclusions_node() -> int:
    """The union of the pairs of platform tests that never hold together."""
    if _exclusions:
        return _exclusions[0]

    def eq(key: str, value: str) -> int:
        return _string_node(key, "==", value)

    pairs = [(eq("os_name", "nt"), eq("sys_platform", p)) for p in ("linux", "darwin", "ios")] + [
        (eq("os_name", "posix"), eq("sys_platform", "win32"))
    ]
    platforms = ("aix", "android", "emscripten", "ios", "linux", "darwin", "win32", "cygwin")
    for system in ("FreeBSD", "NetBSD", "OpenBSD", "SunOS", "iOS", "iPadOS"):
        for plat in (*platforms, "wasi"):
            if plat == "ios" and system in ("iOS", "iPadOS"):
                continue
            pairs.append((eq("platform_system", system), eq("sys_platform", plat)))
    tree = _FALSE_ID
    for a, b in pairs:
        tree = _or(tree, _and(a, b))
    _exclusions.append(tree)
    return tree


# -- leaves --------------------------------------------------------------------


def _from_range(var: Var, rng: Range[Any]) -> int:
    """A node true exactly on ``rng`` (a union of intervals of the variable's values)."""
    edges: list[tuple[Any, bool, int]] = []
    for seg in rng.segments:
        if seg.lower is not None:
            edges.append((seg.lower, not seg.lower_inclusive, _FALSE_ID))
        edges.append((seg.upper, seg.upper_inclusive, _TRUE_ID))
    if not edges or edges[-1][0] is not None:
        edges.append((None, False, _FALSE_ID))
    return _make(var, tuple(edges))


def _string_node(key: str, op: str, value: str) -> int:
    if key == "platform_system" and value in _SYSTEM_TO_PLATFORM:
        key, value = "sys_platform", _SYSTEM_TO_PLATFORM[value]
    var = (_STRING, STRING_KEYS.index(key))
    ranges: dict[str, Callable[[], Range[str]]] = {
        "==": lambda: Range.singleton(value),
        "===": lambda: Range.singleton(value),
        "!=": lambda: Range.singleton(value).complement(),
        # PEP 508: strict ordering of string fields is false, ``<=``/``>=`` equality;
        # uv keeps lexicographic order for the two fields that hold versions.
        "<": lambda: Range.empty(),
        ">": lambda: Range.empty(),
        "<=": lambda: Range.singleton(value),
        ">=": lambda: Range.singleton(value),
    }
    if key in ("platform_release", "platform_version"):
        ranges["<"], ranges[">"] = (
            lambda: Range.strictly_lower_than(value),
            lambda: Range.strictly_higher_than(value),
        )
        ranges["<="], ranges[">="] = (
            lambda: Range.lower_than(value),
            lambda: Range.higher_than(value),
        )
    if op not in ranges:
        return _TRUE_ID  # ``~=`` on a string: uv ignores the comparison
    return _from_range(var, ranges[op]())


def release_range(op: str, text: str) -> Range[tuple[int, ...]] | None:
    """The release-number keys a marker comparison ``<field> op text`` holds for.

    >>> str(release_range("~=", "3.8"))
    '>=(3, 8), <(4,)'
    """
    star = text.endswith(".*")
    try:
        version = Version(text[:-2] if star else text)
    except InvalidVersion:
        return None
    release, v = version.release, _trim(version.release)
    if star and op in ("==", "!="):
        upper = _trim((*release[:-1], release[-1] + 1))
        rng: Range[tuple[int, ...]] = Range.between(v, upper)
        return rng if op == "==" else rng.complement()
    if op == "~=":
        if len(release) < 2:
            return None
        return Range.between(v, _trim((*release[:-2], release[-2] + 1)))
    simple = {
        "==": Range.singleton,
        "===": Range.singleton,
        "<": Range.strictly_lower_than,
        "<=": Range.lower_than,
        ">": Range.strictly_higher_than,
        ">=": Range.higher_than,
    }
    if op == "!=":
        return Range.singleton(v).complement()
    return simple[op](v) if op in simple else None


def _python_version_range(op: str, text: str) -> Range[tuple[int, ...]] | bool | None:
    """``python_version op text`` as a range of ``python_full_version`` keys (uv's
    table: ``python_version`` holds only ``X.Y``, the full version's first two numbers)."""
    star = text.endswith(".*")
    try:
        release = Version(text[:-2] if star else text).release
    except InvalidVersion:
        return None
    if star or op == "~=":
        if len(release) == 1 and star:
            return release_range(op, text)
        if any(release[2:]):  # python_version has no third number
            return op == "!="
        if len(release) == 2:
            return release_range(op, text)
        family = f"{release[0]}.{release[1]}.*"
        return release_range("==" if op == "~=" else op, family)
    if len(_trim(release)) <= 2:
        major, minor = int(release[0]), int((*release, 0)[1])
        here, after = f"{major}.{minor}", f"{major}.{minor + 1}"
        table = {"==": ("==", f"{here}.*"), "===": ("==", f"{here}.*")}
        table |= {"!=": ("!=", f"{here}.*"), "<": ("<", here), ">=": (">=", here)}
        table |= {">": (">=", after), "<=": ("<", after)}
        return release_range(*table[op]) if op in table else None
    after = f"{release[0]}.{release[1] + 1}"
    if op in ("==", "==="):
        return False
    if op == "!=":
        return True
    return release_range("<" if op in ("<", "<=") else ">=", after)


def _version_node(key: str, op: str, text: str) -> int:
    if op in ("in", "not in"):
        rng: Range[tuple[int, ...]] = Range.empty()
        for word in text.replace(",", " ").split():
            one = _version_node(key, "==", word)
            rng = rng.union(_true_range(one) if one > _TRUE_ID else Range.empty())
        node = _from_range(PYTHON_VAR if key == "python_version" else _version_var(key), rng)
        return _not(node) if op == "not in" else node
    if key == "python_version":
        found = _python_version_range(op, text)
        if isinstance(found, bool):
            return _TRUE_ID if found else _FALSE_ID
        return _TRUE_ID if found is None else _from_range(PYTHON_VAR, found)
    rng_or_none = release_range(op, text)
    return _TRUE_ID if rng_or_none is None else _from_range(_version_var(key), rng_or_none)


def _version_var(key: str) -> Var:
    return (_VERSION, VERSION_KEYS.index(key))


def _true_range(node: int) -> Range[Any]:
    """Where a one-variable node (made by :func:`_from_range`) is true."""
    var, edges = _nodes[node]
    out: Range[Any] = Range.empty()
    lo: Any = None
    lo_i = False
    for hi, hi_i, child in edges:
        if child == _TRUE_ID:
            out = out.union(Range.from_bounds(lo, lo_i, hi, hi_i))
        lo, lo_i = hi, not hi_i
    return out


def _expression(lhs: Any, op: str, rhs: Any) -> int:
    """One ``lhs op rhs`` comparison of packaging's parsed marker."""
    lhs_var, rhs_var = type(lhs).__name__ == "Variable", type(rhs).__name__ == "Variable"
    left, right = str(lhs.value), str(rhs.value)
    if lhs_var == rhs_var:
        return _TRUE_ID  # two literals or two fields: uv ignores the comparison
    if rhs_var:
        if op in ("in", "not in"):
            return _contains(right, left, op == "in")
        flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}
        return _expression(rhs, flipped.get(op, op), lhs)
    if left == "extra":
        if op not in ("==", "!="):
            return _TRUE_ID
        node = _make((_EXTRA, 0, canonicalize_name(right)), (_TRUE_ID, _FALSE_ID))
        return node if op == "==" else _not(node)
    if left in ("python_version", *VERSION_KEYS):
        return _version_node(left, op, right)
    if left not in STRING_KEYS:
        return _TRUE_ID
    if op in ("in", "not in"):
        node = _make((_IN, STRING_KEYS.index(left), right), (_TRUE_ID, _FALSE_ID))
        return node if op == "in" else _not(node)
    return _string_node(left, op, right)


def _contains(key: str, value: str, positive: bool) -> int:
    if key not in STRING_KEYS:
        return _TRUE_ID
    node = _make((_CONTAINS, STRING_KEYS.index(key), value), (_TRUE_ID, _FALSE_ID))
    return node if positive else _not(node)


def _from_parsed(items: list[Any]) -> int:
    """packaging's parsed form: a list alternating items and ``"and"``/``"or"``, where
    ``and`` binds tighter; an item is a ``(lhs, op, rhs)`` tuple or a nested list."""
    result, clause = _FALSE_ID, _TRUE_ID
    for item in items:
        if item == "or":
            result, clause = _or(result, clause), _TRUE_ID
        elif item != "and":
            if isinstance(item, list):
                node = _from_parsed(item)
            else:
                lhs, op, rhs = item
                node = _expression(lhs, str(op.value), rhs)
            clause = _and(clause, node)
    return _or(result, clause)
