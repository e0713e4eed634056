"""The marker algebra against brute force: every operation agrees with evaluating
the markers in each environment of a grid that reaches every region the atoms
below can tell apart (so "false", "disjoint" and "implies" are exact, not only sound).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import Marker

from xv.resolver import marker_algebra as alg
from xv.resolver.markers import FALSE, TRUE, MarkerTree

SYS_PLATFORMS = ["linux", "darwin", "win32", "freebsd13", "freebsd14", "cygwin", "java1.8"]
SYSTEMS = ["Linux", "Darwin", "Windows", "FreeBSD", "Java"]
OS_NAMES = ["posix", "nt", "java"]
_SAME = {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}
_IMPOSSIBLE = {("nt", "linux"), ("nt", "darwin"), ("posix", "win32")}


def _platforms() -> list[tuple[str, str, str]]:
    """Every (sys_platform, platform_system, os_name) the algebra counts as possible:
    it reads ``platform_system == "Windows"`` as ``sys_platform == "win32"`` (and so
    on), and knows some pairs never occur."""
    out = []
    for plat, system, os_name in itertools.product(SYS_PLATFORMS, SYSTEMS, OS_NAMES):
        if (system in _SAME or plat in _SAME.values()) and _SAME.get(system) != plat:
            continue
        if (os_name, plat) in _IMPOSSIBLE:
            continue
        if system == "FreeBSD" and not plat.startswith("freebsd") and plat != "java1.8":
            continue
        out.append((plat, system, os_name))
    return out


PLATFORMS = _platforms()
PYTHONS = [
    "2.6.0",
    "2.7.18",
    "2.9.0",
    "3.0.0",
    "3.1.0",
    "3.7.0",
    "3.8.0",
    "3.8.5",
    "3.8.6",
    "3.9.0",
    "3.9.1",
    "3.10.0",
    "3.10.1",
    "3.10.2",
    "3.11.0",
    "3.12.0",
    "3.13.0",
    "4.0.0",
]
MACHINES = ["x86_64", "arm64", "AMD64"]
IMPLEMENTATIONS = [("cpython", "CPython"), ("pypy", "PyPy")]
EXTRAS = [frozenset(), frozenset({"a"}), frozenset({"b"}), frozenset({"a", "b"})]

Env = tuple[dict[str, str], frozenset[str]]


def _grid() -> list[Env]:
    out = []
    for (plat, system, os_name), py, machine, (impl, pyimpl), extras in itertools.product(
        PLATFORMS, PYTHONS, MACHINES, IMPLEMENTATIONS, EXTRAS
    ):
        env = {
            "sys_platform": plat,
            "platform_system": system,
            "os_name": os_name,
            "python_full_version": py,
            "python_version": ".".join(py.split(".")[:2]),
            "implementation_version": py,
            "platform_machine": machine,
            "implementation_name": impl,
            "platform_python_implementation": pyimpl,
            "platform_release": "",
            "platform_version": "",
        }
        out.append((env, extras))
    return out


GRID = _grid()

VERSION_VALUES = ["2.7", "3", "3.8", "3.9", "3.10", "3.12", "3.8.5", "3.10.1"]
ATOMS = (
    [
        f'python_version {op} "{v}"'
        for op in ("<", "<=", ">", ">=", "==", "!=")
        for v in ("2.7", "3", "3.8", "3.9", "3.10", "3.12")
    ]
    + [f'python_version {op} "3.9.*"' for op in ("==", "!=")]
    + ['python_version ~= "3.8"', 'python_version ~= "3.8.0"']
    + [
        f'python_full_version {op} "{v}"'
        for op in ("<", "<=", ">", ">=", "==", "!=")
        for v in ("3.8.5", "3.9", "3.10.1")
    ]
    + [f'sys_platform {op} "{v}"' for op in ("==", "!=") for v in ("linux", "darwin", "win32")]
    + [f'sys_platform {op} "freebsd13"' for op in ("==", "!=")]
    + [
        f'platform_system {op} "{v}"'
        for op in ("==", "!=")
        for v in ("Linux", "Windows", "FreeBSD")
    ]
    + [f'os_name {op} "{v}"' for op in ("==", "!=") for v in ("nt", "posix")]
    + [f'platform_machine {op} "{v}"' for op in ("==", "!=") for v in ("x86_64", "arm64")]
    + [f'implementation_name {op} "pypy"' for op in ("==", "!=")]
    + ['"linux" in sys_platform', '"win" not in sys_platform', 'sys_platform in "linux darwin"']
    + [f'extra {op} "{v}"' for op in ("==", "!=") for v in ("a", "b")]
)


@cache
def _atom_truth(atom: str) -> tuple[bool, ...]:
    """packaging's answer for one atom in every environment of the grid (asked once per
    distinct value of the fields the atom reads)."""
    if atom.startswith("extra"):
        # packaging evaluates one extra at a time; several requested extras make
        # ``extra == x`` true when x is one of them.
        name = atom.split('"')[1]
        return tuple((name in extras) == ("==" in atom) for _, extras in GRID)
    marker = Marker(atom)
    keys = [key for key in GRID[0][0] if key in atom]
    answers: dict[tuple[str, ...], bool] = {}
    out = []
    for env, _ in GRID:
        seen = tuple(env[k] for k in keys)
        if seen not in answers:
            answers[seen] = marker.evaluate({**env, "extra": ""})
        out.append(answers[seen])
    return tuple(out)


class Truth(tuple[bool, ...]):
    """An expression's value in each environment of the grid (short repr for failures)."""

    def __repr__(self) -> str:
        return f"<true in {sum(self)} of {len(self)}>"


class Expr(tuple[MarkerTree, Truth, str]):
    """A tree, its expected truth table, and the expression text it was built from.

    An ``in``/``not in`` test is its own variable to the algebra (as to uv), which
    cannot see that ``sys_platform == "win32"`` and ``"linux" in sys_platform`` never
    hold together: with one, "false", "disjoint" and "implies" are only sound."""

    @property
    def exact(self) -> bool:
        return " in " not in self[2]

    def __repr__(self) -> str:
        return f"Expr({self[2]!r} -> {str(self[0])!r})"


@st.composite
def exprs(draw: st.DrawFn, depth: int = 3) -> Expr:
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        atom = draw(st.sampled_from(ATOMS))
        return Expr((MarkerTree.parse(atom), Truth(_atom_truth(atom)), atom))
    op = draw(st.sampled_from(["and", "or", "not"]))
    a_tree, a_val, a_text = draw(exprs(depth - 1))
    if op == "not":
        return Expr((~a_tree, Truth(not v for v in a_val), f"not ({a_text})"))
    b_tree, b_val, b_text = draw(exprs(depth - 1))
    combine: Callable[[bool, bool], bool] = (
        (lambda x, y: x and y) if op == "and" else (lambda x, y: x or y)
    )
    tree = a_tree & b_tree if op == "and" else a_tree | b_tree
    truth = Truth(combine(x, y) for x, y in zip(a_val, b_val, strict=True))
    return Expr((tree, truth, f"({a_text}) {op} ({b_text})"))


def _evaluated(tree: MarkerTree) -> Truth:
    """The diagram's value in every environment, as a bit set per node (fast), and
    :meth:`MarkerTree.evaluate` checked against it on a slice of the grid."""
    bits = _node_bits(tree._id)
    truth = Truth(bool(bits >> i & 1) for i in range(len(GRID)))
    for i in range(0, len(GRID), 97):
        env, extras = GRID[i]
        assert tree.evaluate(env, extras) == truth[i]
    return truth


_ALL = (1 << len(GRID)) - 1


@cache
def _node_bits(node: int) -> int:
    if node <= alg._TRUE_ID:
        return _ALL if node == alg._TRUE_ID else 0
    var, edges = alg._nodes[node]
    if alg._is_bool(var):
        high = _bool_bits(var)
        return (high & _node_bits(edges[0])) | (~high & _ALL & _node_bits(edges[1]))
    out, lo, lo_i = 0, None, False
    for hi, hi_i, child in edges:
        out |= _interval_bits(var, lo, lo_i, hi, hi_i) & _node_bits(child)
        lo, lo_i = hi, not hi_i
    return out


@cache
def _bool_bits(var: alg.Var) -> int:
    kind, out = var[0], 0
    for i, (env, extras) in enumerate(GRID):
        if kind == alg._EXTRA:
            hit = var[2] in extras
        else:
            value = env[alg.STRING_KEYS[var[1]]]
            hit = value in var[2] if kind == alg._IN else var[2] in value
        out |= hit << i
    return out


@cache
def _interval_bits(var: alg.Var, lo: Any, lo_i: bool, hi: Any, hi_i: bool) -> int:
    out = 0
    for i, (env, _) in enumerate(GRID):
        if var[0] == alg._VERSION:
            value: Any = alg.release_key(env[alg.VERSION_KEYS[var[1]]])
        else:
            value = env[alg.STRING_KEYS[var[1]]]
        above = lo is None or lo < value or (lo_i and lo == value)
        below = hi is None or value < hi or (hi_i and value == hi)
        out |= (above and below) << i
    return out


@settings(max_examples=120, deadline=None)
@given(exprs())
def test_tree_evaluates_as_its_expression(expr: Expr) -> None:
    tree, truth, _ = expr
    assert _evaluated(tree) == truth
    if expr.exact:
        assert tree.is_false() == (not any(truth))
        assert tree.is_true() == all(truth)


@settings(max_examples=120, deadline=None)
@given(exprs(), exprs())
def test_disjoint_and_implies_agree_with_the_grid(a: Expr, b: Expr) -> None:
    (ta, va, _), (tb, vb, _) = a, b
    disjoint = not any(x and y for x, y in zip(va, vb, strict=True))
    implies = all(y for x, y in zip(va, vb, strict=True) if x)
    if a.exact and b.exact:
        assert ta.is_disjoint(tb) == disjoint
        assert ta.implies(tb) == implies
        assert (ta == tb) == (va == vb)  # canonical: equal functions are equal trees
    else:  # sound: never claims more than holds
        assert disjoint or not ta.is_disjoint(tb)
        assert implies or not ta.implies(tb)
        assert va == vb or ta != tb


@settings(max_examples=120, deadline=None)
@given(exprs())
def test_printed_marker_means_the_same(expr: Expr) -> None:
    """The short text, read back by packaging, is the same function, and parses
    back to the very same tree."""
    tree, truth, _ = expr
    text = str(tree)
    if tree.is_true() or tree.is_false():
        assert text == ("" if tree.is_true() else "python_version < '0'")
        return
    assert MarkerTree.parse(text) == tree
    marker = Marker(text)
    for (env, extras), expected in list(zip(GRID, truth, strict=True))[::13]:
        if len(extras) <= 1:
            got = marker.evaluate({**env, "extra": next(iter(extras), "")})
            assert got == expected, (text, env, extras)


@settings(max_examples=80, deadline=None)
@given(exprs())
def test_extras_and_python_projections(expr: Expr) -> None:
    tree, truth, _ = expr
    n = len(EXTRAS)  # the grid's last dimension: environment i has EXTRAS[i % n]
    for k, chosen in enumerate(EXTRAS):
        fixed = _evaluated(tree.with_extras(chosen))
        assert all(fixed[i] == truth[i - i % n + k] for i in range(len(GRID)))
    dropped = _evaluated(tree.without_extras())
    assert all(dropped[i] == any(truth[i - i % n : i - i % n + n]) for i in range(len(GRID)))
    pythons = tree.only_python()
    for py in PYTHONS:
        holds = any(
            v for (e, _), v in zip(GRID, truth, strict=True) if e["python_full_version"] == py
        )
        key = alg.release_key(py)
        assert pythons.contains(key) == holds if expr.exact else holds <= pythons.contains(key)


def test_constants() -> None:
    assert (TRUE & FALSE).is_false() and (TRUE | FALSE).is_true()
    assert str(FALSE) == "python_version < '0'"
    assert MarkerTree.parse(None) == TRUE
