"""Range and Term algebra, checked against membership on a dense grid."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from xv.resolver.pubgrub import Range, Term

# Bounds are integers 0..6; probing half-steps checks the dense reading of the order.
PROBES = [Fraction(n, 2) for n in range(-2, 16)]


@st.composite
def ranges(draw: st.DrawFn) -> Range[Fraction]:
    result: Range[Fraction] = Range.empty()
    for _ in range(draw(st.integers(0, 3))):
        lo = draw(st.none() | st.integers(0, 6).map(Fraction))
        hi = draw(st.none() | st.integers(0, 6).map(Fraction))
        piece = Range.from_bounds(lo, draw(st.booleans()), hi, draw(st.booleans()))
        result = result.union(piece)
    return result


def members(r: Range[Fraction]) -> set[Fraction]:
    return {p for p in PROBES if r.contains(p)}


@settings(max_examples=150, deadline=None)
@given(ranges(), ranges())
def test_set_algebra_matches_membership(a: Range[Fraction], b: Range[Fraction]) -> None:
    assert members(a.intersection(b)) == members(a) & members(b)
    assert members(a.union(b)) == members(a) | members(b)
    assert members(a.complement()) == set(PROBES) - members(a)
    assert a.complement().complement() == a
    assert a.union(b) == b.union(a)
    assert a.intersection(b) == b.intersection(a)
    assert a.subset_of(b) == (a.intersection(b) == a)
    if a.subset_of(b):
        assert members(a) <= members(b)


@settings(max_examples=100, deadline=None)
@given(ranges(), ranges())
def test_canonical_form_is_structural_equality(a: Range[Fraction], b: Range[Fraction]) -> None:
    # Same set (on the dense grid, which separates all bounds) <=> equal ranges.
    assert (members(a) == members(b)) == (a == b)
    if a == b:
        assert hash(a) == hash(b)


@settings(max_examples=100, deadline=None)
@given(ranges(), st.lists(st.integers(0, 6), unique=True).map(sorted))
def test_simplify_agrees_on_listed_versions(r: Range[Fraction], versions: list[int]) -> None:
    vs = [Fraction(v) for v in versions]
    simple = r.simplify(vs)
    for v in vs:
        assert simple.contains(v) == r.contains(v)
    assert len(simple) <= max(len(r), 1)


def test_constructors_and_str() -> None:
    assert str(Range.full()) == "*"
    assert str(Range.empty()) == "∅"
    assert str(Range.singleton(1)) == "==1"
    assert str(Range.singleton(1).complement()) == "!=1"
    assert str(Range.between(1, 2)) == ">=1, <2"
    assert str(Range.higher_than(1)) == ">=1"
    assert str(Range.strictly_higher_than(1)) == ">1"
    assert str(Range.lower_than(1)) == "<=1"
    assert str(Range.strictly_lower_than(1)) == "<1"
    assert str(Range.strictly_lower_than(1).union(Range.strictly_higher_than(2))) == "<1 | >2"
    assert Range.between(2, 2).is_empty()
    assert Range.singleton(3).as_singleton() == 3
    assert Range.between(1, 3).as_singleton() is None


def test_adjacent_intervals_merge() -> None:
    assert Range.between(1, 2).union(Range.between(2, 3)) == Range.between(1, 3)
    closed = Range.from_bounds(1, True, 2, True).union(Range.from_bounds(2, False, 3, False))
    assert closed == Range.between(1, 3)
    assert len(Range.between(1, 2).union(Range.between(3, 4))) == 2


def test_contains_with_many_segments() -> None:
    r: Range[int] = Range.empty()
    for n in range(0, 40, 2):
        r = r.union(Range.singleton(n))
    assert len(r) == 20
    assert all(r.contains(n) == (n % 2 == 0 and 0 <= n < 40) for n in range(-1, 42))


def test_simplify_like_pubgrub_rs() -> None:
    r = Range.between(1, 2).union(Range.between(3, 4)).union(Range.between(6, 7))
    # 1 and 3 are adjacent among the listed versions, 5 is a hole, 6 is the last.
    assert r.simplify([1, 3, 5, 6]) == Range.strictly_lower_than(4).union(Range.higher_than(6))
    assert r.simplify([10]) == r  # holds none of them: unchanged
    assert Range.singleton(1).simplify([1, 2]) == Range.singleton(1)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (
            Term.pos(Range.between(1, 5)),
            Term.pos(Range.between(3, 8)),
            Term.pos(Range.between(3, 5)),
        ),
        (
            Term.pos(Range.between(1, 5)),
            Term.neg(Range.between(3, 8)),
            Term.pos(Range.between(1, 3)),
        ),
        (
            Term.neg(Range.between(1, 5)),
            Term.neg(Range.between(3, 8)),
            Term.neg(Range.between(1, 8)),
        ),
    ],
)
def test_term_intersection(a: Term[int], b: Term[int], expected: Term[int]) -> None:
    assert a.intersection(b) == expected
    assert b.intersection(a) == expected


def test_term_union_relation_and_special_terms() -> None:
    pos = Term.pos(Range.between(1, 5))
    neg = Term.neg(Range.between(3, 8))
    assert pos.union(neg) == Term.neg(Range.between(5, 8))
    assert Term.any().is_any() and Term.void().is_void()
    assert pos.negate().negate() == pos
    assert Term.exact(2).subset_of(pos)
    from xv.resolver.pubgrub.term import Relation

    assert pos.relation_with(Term.exact(2)) is Relation.SATISFIED
    assert pos.relation_with(Term.exact(7)) is Relation.CONTRADICTED
    assert pos.relation_with(Term.pos(Range.between(4, 9))) is Relation.INCONCLUSIVE
    # A negative term is satisfied by "not selected at all", a positive one is not.
    assert neg.relation_with(Term.neg(Range.full())) is Relation.SATISFIED
    assert pos.relation_with(Term.neg(Range.full())) is Relation.CONTRADICTED


GRID = [Fraction(n, 2) for n in range(-2, 44)]


@st.composite
def fragmented(draw: st.DrawFn) -> Range[Fraction]:
    """Up to a dozen intervals over 0..20, as a package's range gets after many rejections."""
    result: Range[Fraction] = Range.empty()
    for _ in range(draw(st.integers(0, 12))):
        lo = draw(st.none() | st.integers(0, 20).map(Fraction))
        hi = draw(st.none() | st.integers(0, 20).map(Fraction))
        result = result.union(Range.from_bounds(lo, draw(st.booleans()), hi, draw(st.booleans())))
    return result


@settings(max_examples=300, deadline=None)
@given(fragmented(), fragmented())
def test_many_against_few_intervals_matches_membership(
    a: Range[Fraction], b: Range[Fraction]
) -> None:
    def grid(r: Range[Fraction]) -> set[Fraction]:
        return {p for p in GRID if r.contains(p)}

    ga, gb = grid(a), grid(b)
    note(f"{len(a)} and {len(b)} intervals")
    for x, y, gx, gy in ((a, b, ga, gb), (b, a, gb, ga)):
        assert grid(x.intersection(y)) == gx & gy
        assert grid(x.difference(y)) == gx - gy
        assert grid(x.union(y)) == gx | gy
        assert x.union(y) == x.complement().intersection(y.complement()).complement()
        assert x.subset_of(y) == (gx <= gy)
        assert x.is_disjoint(y) == (not gx & gy)
        # canonical form: the same structure as the general algorithm's answer
        assert x.intersection(y) == x.complement().union(y.complement()).complement()
        for pos_t, pos_u in ((True, True), (True, False), (False, True), (False, False)):
            t, u = Term(pos_t, x), Term(pos_u, y)
            assert t.subset_of(u) == (t.intersection(u) == t)
            assert t.is_disjoint(u) == t.intersection(u).is_void()
