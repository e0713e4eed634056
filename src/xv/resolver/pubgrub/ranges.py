"""Version ranges: immutable unions of disjoint intervals over any totally ordered type.

A :class:`Range` is kept in a canonical form (sorted, disjoint, never touching),
so two ranges holding the same set under a *dense* reading of the order are
structurally equal. The solver relies on that: "is this term a subset of that
one" is answered as ``a.intersection(b) == a``.

>>> r = Range.between(1, 3).union(Range.higher_than(5))
>>> str(r)
'>=1, <3 | >=5'
>>> r.contains(2), r.contains(4)
(True, False)
>>> str(r.complement())
'<1 | >=3, <5'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Generic, NamedTuple, Protocol, TypeVar


class Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


V = TypeVar("V", bound=Comparable)

# One interval: (lower, lower_inclusive, upper, upper_inclusive); ``None`` is unbounded.
_Seg = tuple[Any, bool, Any, bool]
_FULL_SEG: _Seg = (None, False, None, False)


class Segment(NamedTuple, Generic[V]):
    """One interval of a range; ``None`` bounds are unbounded."""

    lower: V | None
    lower_inclusive: bool
    upper: V | None
    upper_inclusive: bool


def _nonempty(lo: Any, lo_inc: bool, hi: Any, hi_inc: bool) -> bool:
    if lo is None or hi is None:
        return True
    if lo < hi:
        return True
    if hi < lo:
        return False
    return lo_inc and hi_inc


def _upper_le(a: Any, a_inc: bool, b: Any, b_inc: bool) -> bool:
    """Does an interval ending at ``a`` end no later than one ending at ``b``?"""
    if b is None:
        return True
    if a is None:
        return False
    if a < b:
        return True
    if b < a:
        return False
    return b_inc or not a_inc


def _intersect(a: tuple[_Seg, ...], b: tuple[_Seg, ...]) -> tuple[_Seg, ...]:
    out: list[_Seg] = []
    i = j = 0
    while i < len(a) and j < len(b):
        alo, alo_i, ahi, ahi_i = a[i]
        blo, blo_i, bhi, bhi_i = b[j]
        if alo is None:
            lo, lo_i = blo, blo_i
        elif blo is None or blo < alo:
            lo, lo_i = alo, alo_i
        elif alo < blo:
            lo, lo_i = blo, blo_i
        else:
            lo, lo_i = alo, alo_i and blo_i
        if _upper_le(ahi, ahi_i, bhi, bhi_i):
            hi, hi_i = ahi, ahi_i
            i += 1
        else:
            hi, hi_i = bhi, bhi_i
            j += 1
        if _nonempty(lo, lo_i, hi, hi_i):
            out.append((lo, lo_i, hi, hi_i))
    return tuple(out)


def _complement(segs: tuple[_Seg, ...]) -> tuple[_Seg, ...]:
    if not segs:
        return (_FULL_SEG,)
    out: list[_Seg] = []
    lo: Any = None
    lo_i = False
    for slo, slo_i, shi, shi_i in segs:
        if slo is not None:
            out.append((lo, lo_i, slo, not slo_i))
        if shi is None:
            return tuple(out)
        lo, lo_i = shi, not shi_i
    out.append((lo, lo_i, None, False))
    return tuple(out)


# -- many segments against few -------------------------------------------------
# A package whose versions are rejected one by one accumulates a range of
# hundreds of intervals ("not 1.35.2, not 1.35.1, ..."), while the terms it meets
# have one or two. These helpers find the part of the large range that matters by
# binary search instead of walking all of it.

_FEW = 2  # a side with at most this many intervals counts as small


def _below(seg: _Seg, lo: Any, lo_inc: bool, apart: bool = False) -> bool:
    """Is every point of ``seg`` below an interval starting at ``lo``?

    With ``apart``, there must also be a gap between them (they cannot be joined).
    """
    hi = seg[2]
    if lo is None or hi is None:
        return False
    if hi < lo:
        return True
    if lo < hi:
        return False
    return not (seg[3] or lo_inc) if apart else not (seg[3] and lo_inc)


def _above(seg: _Seg, hi: Any, hi_inc: bool, apart: bool = False) -> bool:
    """Is every point of ``seg`` above an interval ending at ``hi``? (``apart``: as above.)"""
    lo = seg[0]
    if hi is None or lo is None:
        return False
    if hi < lo:
        return True
    if lo < hi:
        return False
    return not (seg[1] or hi_inc) if apart else not (seg[1] and hi_inc)


def _first(segs: tuple[_Seg, ...], pred: Any, lo: int = 0) -> int:
    """The first index from ``lo`` whose segment fails ``pred`` (true on a prefix)."""
    hi = len(segs)
    while lo < hi:
        mid = (lo + hi) // 2
        if pred(segs[mid]):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _overlapping(segs: tuple[_Seg, ...], seg: _Seg) -> tuple[int, int]:
    """The slice ``[i, j)`` of ``segs`` whose intervals meet ``seg``."""
    lo, lo_i, hi, hi_i = seg
    i = _first(segs, lambda s: _below(s, lo, lo_i))
    j = _first(segs, lambda s: not _above(s, hi, hi_i), i)
    return i, j


def _intersect_few(many: tuple[_Seg, ...], few: tuple[_Seg, ...]) -> tuple[_Seg, ...]:
    out: list[_Seg] = []
    for seg in few:
        i, j = _overlapping(many, seg)
        if j - i == 1:
            out.extend(_intersect(many[i:j], (seg,)))
        elif j - i > 1:
            # Inner intervals lie inside ``seg``; only the two ends need trimming.
            out.extend(_intersect(many[i : i + 1], (seg,)))
            out.extend(many[i + 1 : j - 1])
            out.extend(_intersect(many[j - 1 : j], (seg,)))
    return tuple(out)


def _disjoint_few(many: tuple[_Seg, ...], few: tuple[_Seg, ...]) -> bool:
    for seg in few:
        i, j = _overlapping(many, seg)
        if i < j:
            return False
    return True


def _subset_few(few: tuple[_Seg, ...], many: tuple[_Seg, ...]) -> bool:
    """Is every interval of ``few`` inside one interval of ``many``?"""
    for seg in few:
        i, j = _overlapping(many, seg)
        if j - i != 1 or _intersect(many[i:j], (seg,)) != (seg,):
            return False
    return True


def _union_few(many: tuple[_Seg, ...], few: tuple[_Seg, ...]) -> tuple[_Seg, ...]:
    out = many
    for seg in few:
        lo, lo_i, hi, hi_i = seg
        i = _first(out, lambda s, lo=lo, lo_i=lo_i: _below(s, lo, lo_i, True))
        j = _first(out, lambda s, hi=hi, hi_i=hi_i: not _above(s, hi, hi_i, True), i)
        if i < j:  # merge the intervals that meet or touch ``seg`` into one
            first, last = out[i], out[j - 1]
            if lo is not None and (
                first[0] is None or first[0] < lo or (first[0] == lo and first[1])
            ):
                lo, lo_i = first[0], first[1] or (first[0] == lo and lo_i)
            if last[2] is None or (
                hi is not None and (hi < last[2] or (hi == last[2] and last[3]))
            ):
                hi, hi_i = last[2], last[3] or (last[2] == hi and hi_i)
        out = (*out[:i], (lo, lo_i, hi, hi_i), *out[j:])
    return out


def _difference_few(few: tuple[_Seg, ...], many: tuple[_Seg, ...]) -> tuple[_Seg, ...]:
    out: list[_Seg] = []
    for seg in few:
        i, j = _overlapping(many, seg)
        out.extend(_intersect((seg,), _complement(many[i:j])))
    return tuple(out)


class Range(Generic[V]):
    """An immutable set of versions: a union of disjoint intervals."""

    __slots__ = ("_segs",)

    _segs: tuple[_Seg, ...]

    def __init__(self, _segs: tuple[_Seg, ...] = ()) -> None:
        # Internal: callers use the class-method constructors, which keep the form canonical.
        self._segs = _segs

    # -- constructors ----------------------------------------------------------
    @classmethod
    def empty(cls) -> Range[V]:
        return cls(())

    @classmethod
    def full(cls) -> Range[V]:
        return cls((_FULL_SEG,))

    @classmethod
    def singleton(cls, v: V) -> Range[V]:
        return cls(((v, True, v, True),))

    @classmethod
    def higher_than(cls, v: V) -> Range[V]:
        """``>= v``"""
        return cls(((v, True, None, False),))

    @classmethod
    def strictly_higher_than(cls, v: V) -> Range[V]:
        """``> v``"""
        return cls(((v, False, None, False),))

    @classmethod
    def lower_than(cls, v: V) -> Range[V]:
        """``<= v``"""
        return cls(((None, False, v, True),))

    @classmethod
    def strictly_lower_than(cls, v: V) -> Range[V]:
        """``< v``"""
        return cls(((None, False, v, False),))

    @classmethod
    def between(cls, lo: V, hi: V) -> Range[V]:
        """``[lo, hi)``"""
        return cls.from_bounds(lo, True, hi, False)

    @classmethod
    def from_bounds(
        cls, lower: V | None, lower_inclusive: bool, upper: V | None, upper_inclusive: bool
    ) -> Range[V]:
        """One interval; ``None`` is unbounded. An empty interval gives the empty range."""
        lo_i = lower_inclusive and lower is not None
        hi_i = upper_inclusive and upper is not None
        if not _nonempty(lower, lo_i, upper, hi_i):
            return cls(())
        return cls(((lower, lo_i, upper, hi_i),))

    # -- queries ---------------------------------------------------------------
    @property
    def segments(self) -> tuple[Segment[V], ...]:
        return tuple(Segment(*s) for s in self._segs)

    def __iter__(self) -> Iterator[Segment[V]]:
        return iter(self.segments)

    def __len__(self) -> int:
        """The number of intervals."""
        return len(self._segs)

    def is_empty(self) -> bool:
        return not self._segs

    def is_full(self) -> bool:
        return self._segs == (_FULL_SEG,)

    def as_singleton(self) -> V | None:
        """The single version this range holds, if it is ``==v``."""
        if len(self._segs) == 1:
            lo, lo_i, hi, hi_i = self._segs[0]
            if lo_i and hi_i and (lo is hi or not (lo < hi)):
                single: V = lo  # segments hold versions typed Any for speed
                return single
        return None

    def contains(self, v: V) -> bool:
        segs = self._segs
        # Binary search for the last interval whose lower bound is at or below v.
        lo_idx, hi_idx = 0, len(segs)
        while lo_idx < hi_idx:
            mid = (lo_idx + hi_idx) // 2
            low, low_i = segs[mid][0], segs[mid][1]
            if low is None or low < v or (low_i and not (v < low)):
                lo_idx = mid + 1
            else:
                hi_idx = mid
        if lo_idx == 0:
            return False
        _, _, hi, hi_i = segs[lo_idx - 1]
        return hi is None or v < hi or (hi_i and not (hi < v))

    def __contains__(self, v: V) -> bool:
        return self.contains(v)

    # -- set algebra -----------------------------------------------------------
    def intersection(self, other: Range[V]) -> Range[V]:
        if self.is_full():
            return other
        if other.is_full():
            return self
        a, b = self._segs, other._segs
        if len(b) <= _FEW < len(a):
            return Range(_intersect_few(a, b))
        if len(a) <= _FEW < len(b):
            return Range(_intersect_few(b, a))
        return Range(_intersect(a, b))

    def complement(self) -> Range[V]:
        return Range(_complement(self._segs))

    def union(self, other: Range[V]) -> Range[V]:
        if not self._segs:
            return other
        if not other._segs:
            return self
        a, b = self._segs, other._segs
        if len(b) <= _FEW < len(a):
            return Range(_union_few(a, b))
        if len(a) <= _FEW < len(b):
            return Range(_union_few(b, a))
        return Range(_complement(_intersect(_complement(a), _complement(b))))

    def difference(self, other: Range[V]) -> Range[V]:
        a, b = self._segs, other._segs
        if len(a) <= _FEW < len(b):
            return Range(_difference_few(a, b))
        return self.intersection(other.complement())

    def subset_of(self, other: Range[V]) -> bool:
        a, b = self._segs, other._segs
        if len(a) <= _FEW < len(b):
            return _subset_few(a, b)
        return self.intersection(other) == self

    def is_disjoint(self, other: Range[V]) -> bool:
        a, b = self._segs, other._segs
        if len(b) <= _FEW < len(a):
            return _disjoint_few(a, b)
        if len(a) <= _FEW < len(b):
            return _disjoint_few(b, a)
        return self.intersection(other).is_empty()

    def simplify(self, versions: Iterable[V]) -> Range[V]:
        """A range that agrees with this one on every version of ``versions`` (sorted).

        Runs of consecutive listed versions inside the range become one interval,
        from the lower bound of the run's first interval to the upper bound of its
        last; a run reaching the first (last) listed version loses its lower (upper)
        bound. Singletons, and ranges holding none of the versions, are unchanged.
        This is pubgrub-rs's ``Ranges::simplify``.
        """
        if self.as_singleton() is not None:
            return self
        groups: list[list[int | None]] = []  # [first segment index, last segment index]
        current: list[int | None] | None = None
        first = True
        idx = 0
        for v in versions:
            while idx < len(self._segs) and _above_segment(v, self._segs[idx]):
                idx += 1
            inside = idx < len(self._segs) and _at_or_above_lower(v, self._segs[idx])
            if inside:
                if current is None:
                    current = [None if first else idx, idx]
                    groups.append(current)
                current[1] = idx
            else:
                current = None
            first = False
        if not groups:
            return self
        if current is not None:
            current[1] = None  # the last listed version is inside: drop the upper bound
        segs: list[_Seg] = []
        for start, end in groups:
            lo, lo_i = (None, False) if start is None else self._segs[start][:2]
            hi, hi_i = (None, False) if end is None else self._segs[end][2:]
            segs.append((lo, lo_i, hi, hi_i))
        return Range(tuple(segs))

    # -- dunder ----------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Range):
            return NotImplemented
        return self._segs == other._segs

    def __hash__(self) -> int:
        return hash(self._segs)

    def __repr__(self) -> str:
        return f"Range({str(self)!r})"

    def __str__(self) -> str:
        segs = self._segs
        if not segs:
            return "∅"
        if segs == (_FULL_SEG,):
            return "*"
        if len(segs) == 2:
            (lo1, _, hi1, hi1_i), (lo2, lo2_i, hi2, _) = segs
            if lo1 is None and hi2 is None and not hi1_i and not lo2_i and hi1 == lo2:
                return f"!={hi1}"
        return " | ".join(_segment_str(s) for s in segs)


def _above_segment(v: Any, seg: _Seg) -> bool:
    """Is ``v`` above every version of the interval?"""
    hi, hi_i = seg[2], seg[3]
    if hi is None:
        return False
    return hi < v or (not hi_i and not (v < hi))


def _at_or_above_lower(v: Any, seg: _Seg) -> bool:
    lo, lo_i = seg[0], seg[1]
    return lo is None or lo < v or (lo_i and not (v < lo))


def _segment_str(seg: _Seg) -> str:
    lo, lo_i, hi, hi_i = seg
    if lo is None and hi is None:
        return "*"
    if lo is None:
        return f"<={hi}" if hi_i else f"<{hi}"
    low = f">={lo}" if lo_i else f">{lo}"
    if hi is None:
        return low
    if lo_i and hi_i and not (lo < hi):
        return f"=={lo}"
    return f"{low}, {'<=' if hi_i else '<'}{hi}"
