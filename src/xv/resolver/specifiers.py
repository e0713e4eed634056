"""PEP 440 specifiers as version ranges, and ranges back as specifier-like text.

Some PEP 440 sets have no real version as a bound: ``==1.2`` holds ``1.2`` and every
``1.2+local``, and ``>1.2`` starts after every ``1.2.postN``. Such bounds are
:class:`Boundary` points, which sort just above a version's locals
(``AFTER_LOCALS``) or just above its post-releases (``AFTER_POSTS``), exactly as
packaging 26 models them (uv calls them ``+[max]`` sentinels). A boundary is never
equal to a real version, and is used as an inclusive lower / exclusive upper bound.

The operators (matching packaging >= 26 with ``prereleases=True``):

==========  ==============================================
``>=V``     ``[V, ∞)``
``<=V``     ``(-∞, AFTER_LOCALS(V))``
``<V``      ``(-∞, V)`` if V is a pre-release, else ``(-∞, V.dev0)``
``>V``      ``[V.dev(N+1), ∞)`` / ``[V.post(N+1).dev0, ∞)`` / ``[AFTER_POSTS(V), ∞)``
``==V``     ``[V, AFTER_LOCALS(V))``; ``[V, V]`` when V has a local label
``==V.*``   ``[V.dev0, W.dev0)`` where W bumps V's last release number
``~=V``     ``>=V`` and ``==P.*`` where P is V's release without its last number
``!=``      the complement of ``==``
``===V``    ``[V, V]`` (a deviation: packaging compares the raw string)
==========  ==============================================

Whether pre-releases are admitted at all is the provider's business, not the range's.
Older packaging (< 26) differs on corner cases of ``<V``/``>V`` with pre-, post- and
local versions of V itself; this module follows the interval semantics above.
"""

from __future__ import annotations

from typing import Any

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from xv.resolver.pubgrub import Range

__all__ = [
    "Boundary",
    "format_range",
    "is_local_gap",
    "specifier_to_range",
    "strip_boundaries",
]

_PRE_RANK = {"a": 0, "b": 1, "rc": 2}
_INF = float("inf")


def _trim(release: tuple[int, ...]) -> tuple[int, ...]:
    end = len(release)
    while end > 1 and release[end - 1] == 0:
        end -= 1
    return release[:end]


def _make(
    epoch: int,
    release: tuple[int, ...],
    pre: tuple[str, int] | None = None,
    post: int | None = None,
    dev: int | None = None,
) -> Version:
    text = f"{epoch}!" if epoch else ""
    text += ".".join(str(n) for n in release)
    if pre is not None:
        text += f"{pre[0]}{pre[1]}"
    if post is not None:
        text += f".post{post}"
    if dev is not None:
        text += f".dev{dev}"
    return Version(text)


class Boundary(Version):
    """A point just above ``base``'s local versions, or above all its post-releases.

    >>> b = Boundary(Version("1.0"), after_posts=False)
    >>> Version("1.0+local") < b < Version("1.0.post0")
    True
    """

    def __init__(self, base: Version, *, after_posts: bool) -> None:
        super().__init__(base.public)
        self.base = Version(base.public)
        self.after_posts = after_posts
        self._release = _trim(base.release)
        pre = base.pre
        if pre is None:
            pre_key: tuple[int, float] = (
                (-1, 0) if base.post is None and base.dev is not None else (3, 0)
            )
        else:
            pre_key = (_PRE_RANK[pre[0]], pre[1])
        if after_posts:
            tail: tuple[float, float] = (_INF, _INF)
        else:
            tail = (-1 if base.post is None else base.post, _INF if base.dev is None else base.dev)
        self._order = (base.epoch, self._release, *pre_key, *tail)

    def _covers(self, other: Version) -> bool:
        """Is ``other`` in the family this boundary sorts above?"""
        if other.epoch != self.base.epoch or _trim(other.release) != self._release:
            return False
        if other.pre != self.base.pre:
            return False
        if self.after_posts:
            return other.dev == self.base.dev or other.post is not None
        return other.post == self.base.post and other.dev == self.base.dev

    def _below(self, other: Version) -> bool:
        """Is this boundary below the real version ``other``?"""
        return self.base < other and not self._covers(other)

    def __lt__(self, other: object) -> bool:
        if isinstance(other, Boundary):
            return self._order < other._order
        if isinstance(other, Version):
            return self._below(other)
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, Boundary):
            return self._order > other._order
        if isinstance(other, Version):
            return not self._below(other)
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, Boundary):
            return self._order <= other._order
        return self.__lt__(other)

    def __ge__(self, other: object) -> bool:
        if isinstance(other, Boundary):
            return self._order >= other._order
        return self.__gt__(other)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Boundary):
            return self._order == other._order
        return False

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self._order)

    def __str__(self) -> str:
        return f"{self.base}{'.post[max]' if self.after_posts else '+[max]'}"

    def __repr__(self) -> str:
        return f"<Boundary {self}>"


def _after_locals(v: Version) -> Boundary:
    return Boundary(v, after_posts=False)


def _prefix_bounds(v: Version) -> tuple[Version, Version]:
    """``==V.*`` as ``[V.dev0, W.dev0)``."""
    release = v.release
    bumped = (*release[:-1], release[-1] + 1)
    return _make(v.epoch, release, dev=0), _make(v.epoch, bumped, dev=0)


def _equal(v: Version, has_local: bool) -> Range[Version]:
    if has_local:
        return Range.singleton(v)
    return Range.from_bounds(v, True, _after_locals(v), False)


def _greater(v: Version) -> Range[Version]:
    if v.dev is not None:
        return Range.higher_than(_make(v.epoch, v.release, v.pre, v.post, v.dev + 1))
    if v.post is not None:
        return Range.higher_than(_make(v.epoch, v.release, v.pre, v.post + 1, 0))
    return Range.higher_than(Boundary(v, after_posts=True))


def _less(v: Version) -> Range[Version]:
    bound = v if v.is_prerelease else _make(v.epoch, v.release, v.pre, v.post, 0)
    return Range.strictly_lower_than(bound)


def _one(spec: Specifier) -> Range[Version]:
    op, text = spec.operator, spec.version
    if op == "===":
        try:
            return Range.singleton(Version(text))
        except InvalidVersion:
            raise ValueError(
                f"cannot use arbitrary equality on {text!r}: not a PEP 440 version"
            ) from None
    if text.endswith(".*"):
        lo, hi = _prefix_bounds(Version(text[:-2]))
        prefix = Range.between(lo, hi)
        return prefix if op == "==" else prefix.complement()
    v = Version(text)
    if op == ">=":
        return Range.higher_than(v)
    if op == "<=":
        return Range.strictly_lower_than(_after_locals(v))
    if op == ">":
        return _greater(v)
    if op == "<":
        return _less(v)
    if op in ("==", "!="):
        eq = _equal(v, "+" in text)
        return eq if op == "==" else eq.complement()
    if op == "~=":
        lo, hi = _prefix_bounds(_make(v.epoch, v.release[:-1]))
        return Range.between(v, hi)
    raise InvalidSpecifier(f"unknown operator in {spec}")  # pragma: no cover


def specifier_to_range(spec: SpecifierSet | Specifier | str) -> Range[Version]:
    """The versions a specifier set admits (pre-release policy aside).

    >>> format_range(specifier_to_range(SpecifierSet(">=1.0,<2")))
    '>=1.0,<2'
    >>> specifier_to_range(SpecifierSet("==1.2")).contains(Version("1.2.0+abc"))
    True
    """
    if isinstance(spec, str):
        spec = SpecifierSet(spec)
    if isinstance(spec, Specifier):
        return _one(spec)
    result: Range[Version] = Range.full()
    for one in spec:
        result = result.intersection(_one(one))
    return result


# -- rendering -----------------------------------------------------------------


def _is_dev0_release(v: Version) -> bool:
    return (
        not isinstance(v, Boundary)
        and v.dev == 0
        and v.pre is None
        and v.post is None
        and v.local is None
    )


def _release_text(v: Version) -> str:
    return (f"{v.epoch}!" if v.epoch else "") + ".".join(str(n) for n in v.release)


def _prefix_text(lo: Version, hi: Version) -> str | None:
    """``1.2.*`` when ``[lo, hi)`` is ``==1.2.*``."""
    if not (_is_dev0_release(lo) and _is_dev0_release(hi)) or lo.epoch != hi.epoch:
        return None
    a, b = lo.release, hi.release
    if len(a) != len(b) or a[:-1] != b[:-1] or b[-1] != a[-1] + 1:
        return None
    return _release_text(lo) + ".*"


def _lower_text(lo: Version, inclusive: bool) -> str:
    if isinstance(lo, Boundary):
        return f">{lo.base}"
    return f">={lo}" if inclusive else f">{lo}"


def _upper_text(hi: Version, inclusive: bool) -> str:
    if isinstance(hi, Boundary):
        return f"<={hi.base}"
    if inclusive:
        return f"<={hi}"
    if _is_dev0_release(hi):
        return f"<{_release_text(hi)}"
    return f"<{hi}"


def _segment_text(lo: Version | None, lo_i: bool, hi: Version | None, hi_i: bool) -> str:
    if lo is None and hi is None:
        return ""
    if lo is None:
        assert hi is not None
        return _upper_text(hi, hi_i)
    if hi is None:
        return _lower_text(lo, lo_i)
    if lo_i and (hi == lo or (isinstance(hi, Boundary) and not hi.after_posts and hi.base == lo)):
        return f"=={lo}"
    if lo_i and not hi_i:
        prefix = _prefix_text(lo, hi)
        if prefix is not None:
            return f"=={prefix}"
    return f"{_lower_text(lo, lo_i)},{_upper_text(hi, hi_i)}"


def format_range(range: Range[Version]) -> str:
    """Specifier-like text: ``>=1.0,<2``, ``==1.2``, ``!=1.2``, ``==1.2.*``;
    unions joined with `` | ``; ``""`` for every version and ``∅`` for none.

    >>> format_range(specifier_to_range("!=1.2"))
    '!=1.2'
    """
    segs = range.segments
    if not segs:
        return "∅"
    if len(segs) == 2 and segs[0].lower is None and segs[1].upper is None:
        inner = _segment_text(
            segs[0].upper, not segs[0].upper_inclusive, segs[1].lower, not segs[1].lower_inclusive
        )
        if inner.startswith("=="):
            return "!=" + inner[2:]
    return " | ".join(_segment_text(*s) for s in segs)


# -- report helpers ------------------------------------------------------------


def strip_boundaries(range: Range[Version]) -> Range[Version]:
    """The range with every :class:`Boundary` replaced by its base version, for
    reports: ``[1.0, 1.0+[max])`` becomes ``==1.0`` and ``[1.0.post[max], ∞)`` ``>1.0``
    (uv's ``SentinelRange::strip``). Ranges without boundaries come back unchanged."""
    segs = range.segments
    if not any(isinstance(b, Boundary) for s in segs for b in (s.lower, s.upper)):
        return range
    out: Range[Version] = Range.empty()
    for lo, lo_i, hi, hi_i in segs:
        if isinstance(lo, Boundary):
            lo, lo_i = lo.base, False
        if isinstance(hi, Boundary):
            hi, hi_i = hi.base, True
        out = out.union(Range.from_bounds(lo, lo_i, hi, hi_i))
    return out


def is_local_gap(range: Range[Any]) -> bool:
    """Does the range hold only local versions of some version (``(1.0, 1.0+[max])``)?

    Such ranges appear when ``==1.0`` was narrowed by excluding ``1.0`` itself; a
    report says nothing useful by listing them."""
    segs = range.segments
    return bool(segs) and all(
        isinstance(s.upper, Boundary)
        and not s.upper.after_posts
        and s.lower is not None
        and not s.lower_inclusive
        and not isinstance(s.lower, Boundary)
        and s.lower == s.upper.base
        for s in segs
    )
