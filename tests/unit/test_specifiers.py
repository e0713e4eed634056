"""PEP 440 specifiers as ranges, checked against packaging."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from xv.resolver.pubgrub import Range
from xv.resolver.specifiers import (
    Boundary,
    format_range,
    is_local_gap,
    specifier_to_range,
    strip_boundaries,
)


@pytest.mark.parametrize(
    ("spec", "inside", "outside"),
    [
        ("==1.2", ["1.2", "1.2.0", "1.2+abc", "1.2.0+1"], ["1.2.post1", "1.2a1", "1.2.1", "1.1"]),
        ("==1.2+abc", ["1.2+abc"], ["1.2", "1.2+abd"]),
        ("!=1.2", ["1.2.post1", "1.2a1", "1.3"], ["1.2", "1.2+x"]),
        (
            "==1.2.*",
            ["1.2.dev0", "1.2a1", "1.2", "1.2.9.post3", "1.2+l"],
            ["1.1.9", "1.3.dev0", "1.20"],
        ),
        ("!=1.2.*", ["1.1", "1.3.dev0"], ["1.2", "1.2.5"]),
        ("~=1.4.2", ["1.4.2", "1.4.9", "1.4.2.post1"], ["1.4.1", "1.5.dev0", "1.5", "1.4.2a1"]),
        ("<2", ["1.9", "1.9.post1"], ["2.dev0", "2a1", "2"]),
        ("<2a3", ["2a2", "2.dev5"], ["2a3"]),
        (">1", ["1.0.1", "1.1a1", "2"], ["1", "1+local", "1.post3", "1.post3.dev1"]),
        (">1.0.post1", ["1.0.post2.dev0", "1.0.post2", "1.1"], ["1.0.post1", "1.0.post1+x"]),
        ("<=1.2", ["1.2", "1.2+abc", "1.1"], ["1.2.post0", "1.2.1"]),
        (">=1.2", ["1.2", "1.2.post1"], ["1.2rc1", "1.1"]),
        ("===1.0", ["1.0"], ["1.0.1"]),
        ("", ["0.dev0", "99"], []),
    ],
)
def test_table(spec: str, inside: list[str], outside: list[str]) -> None:
    r = specifier_to_range(SpecifierSet(spec))
    for v in inside:
        assert r.contains(Version(v)), v
    for v in outside:
        assert not r.contains(Version(v)), v


def test_arbitrary_equality_needs_a_version() -> None:
    with pytest.raises(ValueError, match="arbitrary equality"):
        specifier_to_range(SpecifierSet("===foobar"))


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ("==1.2", "==1.2"),
        ("!=1.2", "!=1.2"),
        ("==1.2.*", "==1.2.*"),
        ("!=1.2.*", "!=1.2.*"),
        ("~=1.4.2", ">=1.4.2,<1.5"),
        (">=1.0,<2", ">=1.0,<2"),
        ("<=1.0", "<=1.0"),
        (">1.0", ">1.0"),
        ("", ""),
        ("<1,>2", "∅"),
    ],
)
def test_format_range(spec: str, text: str) -> None:
    assert format_range(specifier_to_range(spec)) == text


def test_boundaries_order_between_real_versions() -> None:
    after_locals = Boundary(Version("1.0"), after_posts=False)
    after_posts = Boundary(Version("1.0"), after_posts=True)
    assert Version("1.0+zzz") < after_locals < Version("1.0.post0.dev0")
    assert Version("1.0.post99+x") < after_posts < Version("1.0.0.1.dev0")
    assert after_locals < after_posts
    assert after_posts == Boundary(Version("1.0.post3"), after_posts=True)
    assert after_locals != Version("1.0") and Version("1.0") != after_locals
    assert sorted([Version("1.1"), after_posts, Version("1.0.post1")])[1] == after_posts


def test_report_helpers() -> None:
    assert strip_boundaries(specifier_to_range("==1.0")) == Range.singleton(Version("1.0"))
    assert strip_boundaries(specifier_to_range(">1.0")) == Range.strictly_higher_than(
        Version("1.0")
    )
    eq = specifier_to_range("==1.0")
    assert is_local_gap(eq.difference(Range.singleton(Version("1.0"))))
    assert not is_local_gap(eq)


# -- property: agree with packaging ---------------------------------------------------

_numbers = st.integers(0, 3)


@st.composite
def versions(draw: st.DrawFn) -> Version:
    release = ".".join(str(draw(_numbers)) for _ in range(draw(st.integers(1, 3))))
    text = release
    if draw(st.booleans()):
        text += draw(st.sampled_from(["a", "b", "rc"])) + str(draw(_numbers))
    if draw(st.booleans()):
        text += f".post{draw(_numbers)}"
    if draw(st.booleans()):
        text += f".dev{draw(_numbers)}"
    if draw(st.integers(0, 4)) == 0:
        text = "1!" + text
    if draw(st.integers(0, 3)) == 0:
        text += "+" + draw(st.sampled_from(["abc", "1", "x.2"]))
    return Version(text)


@st.composite
def specifiers(draw: st.DrawFn) -> str:
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~=", "==*", "!=*"]))
    v = draw(versions())
    public = Version(v.public)
    if op in ("==*", "!=*"):
        return f"{op[:2]}{'.'.join(str(n) for n in v.release)}.*"
    if op == "~=":
        release = v.release if len(v.release) > 1 else (*v.release, 0)
        rest = str(public)[len(".".join(map(str, public.release))) + (2 if public.epoch else 0) :]
        epoch = f"{public.epoch}!" if public.epoch else ""
        return f"~={epoch}{'.'.join(map(str, release))}{rest}"
    if op in ("==", "!="):
        return f"{op}{v}"
    return f"{op}{public}"


@settings(max_examples=300, deadline=None)
@given(st.lists(specifiers(), min_size=1, max_size=2), st.lists(versions(), min_size=1, max_size=8))
def test_ranges_agree_with_packaging(specs: list[str], probes: list[Version]) -> None:
    spec = SpecifierSet(",".join(specs))
    r = specifier_to_range(spec)
    for v in probes:
        assert r.contains(v) == spec.contains(v, prereleases=True), (str(spec), str(v))
