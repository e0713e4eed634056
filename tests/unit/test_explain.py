"""English reports of failed resolutions (uv's wording over pubgrub-rs's report shape).

Expected texts were worked out by hand from the derivation trees, following
pubgrub-rs's DefaultStringReporter and uv's formatter and tree reductions.
"""

from __future__ import annotations

from typing import Any

import pytest
from packaging.version import Version

from tests.unit.pubgrub_helpers import OfflineProvider, caret, index_from, spec
from xv.resolver.explain import explain, unavailable_leaves
from xv.resolver.pubgrub import (
    Derived,
    FromDependencyOf,
    NoSolutionError,
    NoVersions,
    Range,
    Term,
    collapse_no_versions,
    resolve,
)


def failure(
    table: dict[str, Any], root_deps: dict[str, Range[Version]]
) -> tuple[Any, OfflineProvider]:
    provider = index_from({**table, "root": {"1.0.0": root_deps}})
    with pytest.raises(NoSolutionError) as info:
        resolve(provider, "root", Version("1.0.0"))
    return info.value.tree, provider


def test_fastapi_starlette() -> None:
    tree, provider = failure(
        {
            "fastapi": {"0.109.0": {}, "0.110.0": {"starlette": spec(">=0.36.3,<0.37.0")}},
            "starlette": {"0.35.0": {}, "0.36.3": {}, "0.37.2": {}, "0.38.0": {}},
        },
        {"fastapi": spec("==0.110.0"), "starlette": spec("==0.37.2")},
    )
    assert explain(tree, versions=provider.versions) == (
        "Because fastapi==0.110.0 depends on starlette>=0.36.3,<0.37.0 and you require "
        "fastapi==0.110.0, we can conclude that you require starlette>=0.36.3,<0.37.0.\n"
        "And because you require starlette==0.37.2, we can conclude that your requirements "
        "are unsatisfiable."
    )


LINEAR = {
    "foo": {"1.0.0": {"bar": caret("2.0.0")}},
    "bar": {"2.0.0": {"baz": caret("3.0.0")}},
    "baz": {"1.0.0": {}, "3.0.0": {}},
}


def test_linear_error_reporting() -> None:
    tree, provider = failure(LINEAR, {"foo": caret("1.0.0"), "baz": caret("1.0.0")})
    assert explain(tree, versions=provider.versions) == (
        "Because only bar==2.0.0 is available and bar==2.0.0 depends on baz>=3.0.0, "
        "we can conclude that bar==2.0.0 depends on baz>=3.0.0.\n"
        "And because foo==1.0.0 depends on bar==2.0.0 and only foo==1.0.0 is available, "
        "we can conclude that foo==1.0.0 depends on baz>=3.0.0.\n"
        "And because you require foo==1.0.0 and baz<2.0.0, "
        "we can conclude that your requirements are unsatisfiable."
    )


def test_linear_error_reporting_with_collapsed_no_versions() -> None:
    tree, provider = failure(LINEAR, {"foo": caret("1.0.0"), "baz": caret("1.0.0")})
    assert explain(collapse_no_versions(tree), versions=provider.versions) == (
        "Because bar==2.0.0 depends on baz>=3.0.0 and foo==1.0.0 depends on bar==2.0.0, "
        "we can conclude that foo==1.0.0 depends on baz>=3.0.0.\n"
        "And because you require foo==1.0.0 and baz<2.0.0, "
        "we can conclude that your requirements are unsatisfiable."
    )


def test_linear_error_reporting_without_known_versions() -> None:
    tree, _ = failure(LINEAR, {"foo": caret("1.0.0"), "baz": caret("1.0.0")})
    assert explain(collapse_no_versions(tree)) == (
        "Because bar>=2.0.0,<3.0.0 depends on baz>=3.0.0,<4.0.0 and foo==1.0.0 depends on "
        "bar>=2.0.0,<3.0.0, we can conclude that foo==1.0.0 depends on baz>=3.0.0,<4.0.0.\n"
        "And because you require foo>=1.0.0,<2.0.0 and baz>=1.0.0,<2.0.0, "
        "we can conclude that your requirements are unsatisfiable."
    )


def test_branching_error_reporting() -> None:
    tree, provider = failure(
        {
            "foo": {
                "1.0.0": {"a": caret("1.0.0"), "b": caret("1.0.0")},
                "1.1.0": {"x": caret("1.0.0"), "y": caret("1.0.0")},
            },
            "a": {"1.0.0": {"b": caret("2.0.0")}},
            "b": {"1.0.0": {}, "2.0.0": {}},
            "x": {"1.0.0": {"y": caret("2.0.0")}},
            "y": {"1.0.0": {}, "2.0.0": {}},
        },
        {"foo": caret("1.0.0")},
    )
    assert explain(tree, versions=provider.versions) == (
        "Because a==1.0.0 depends on b>=2.0.0 and only a==1.0.0 is available, "
        "we can conclude that a==1.0.0 depends on b>=2.0.0.\n"
        "And because foo==1.0.0 depends on a==1.0.0, "
        "we can conclude that foo==1.0.0 depends on b>=2.0.0.\n"
        "And because foo==1.0.0 depends on b<2.0.0 and only the following versions of foo "
        "are available: foo<=1.0.0 | ==1.1.0, we can conclude that foo<1.1.0 cannot be used. (1)\n"
        "\n"
        "Because x==1.0.0 depends on y>=2.0.0 and only x==1.0.0 is available, "
        "we can conclude that x==1.0.0 depends on y>=2.0.0.\n"
        "And because foo==1.1.0 depends on x==1.0.0 and y<2.0.0, "
        "we can conclude that foo==1.1.0 cannot be used.\n"
        "And because we know from (1) that foo<1.1.0 cannot be used, "
        "we can conclude that all versions of foo cannot be used.\n"
        "And because you require foo, we can conclude that your requirements are unsatisfiable."
    )


def test_shared_steps_are_explained_once_and_referenced() -> None:
    # Hand-made tree: S ("a cannot be used") is reached from both sides of the root.
    s: Derived[str, int] = Derived(
        {"a": Term.pos(Range.full())},
        7,
        FromDependencyOf("a", Range.full(), "b", Range.singleton(1)),
        NoVersions("b", Range.singleton(1)),
    )
    left = Derived(
        {"root": Term.pos(Range.singleton(0)), "c": Term.pos(Range.full())},
        None,
        s,
        FromDependencyOf("c", Range.full(), "a", Range.full()),
    )
    right = Derived(
        {"root": Term.pos(Range.singleton(0)), "c": Term.neg(Range.full())},
        None,
        s,
        FromDependencyOf("root", Range.singleton(0), "a", Range.full()),
    )
    tree = Derived({"root": Term.pos(Range.singleton(0))}, None, left, right)
    assert explain(tree, root="root") == (
        "Because all versions of a depend on b==1 and there is no version of b==1, "
        "we can conclude that all versions of a cannot be used. (1)\n"
        "And because all versions of c depend on a, "
        "we can conclude that your requirements and all versions of c are incompatible. (2)\n"
        "\n"
        "Because we know from (1) that all versions of a cannot be used and you require a, "
        "we can conclude that you require c.\n"
        "And because we know from (2) that your requirements and all versions of c are "
        "incompatible, we can conclude that your requirements are unsatisfiable."
    )


def test_unavailable_versions_and_leaves_for_hints() -> None:
    provider = OfflineProvider()
    provider.add("root", Version("0"), {"a": spec(">=1")})
    provider.add("a", Version("0.5"))
    provider.add_unavailable("a", Version("1.0"), "has no wheels for this platform")
    provider.add_unavailable("a", Version("1.1"), "has no wheels for this platform")
    with pytest.raises(NoSolutionError) as info:
        resolve(provider, "root", Version("0"))
    text = explain(info.value.tree, versions=provider.versions, hints=["try --python-platform"])
    assert "a>=1.0 has no wheels for this platform" in text
    assert text.endswith("your requirements are unsatisfiable.\n\nhint: try --python-platform")
    leaves = unavailable_leaves(info.value.tree)
    reasons = {reason for _, _, reason in leaves}
    assert "has no wheels for this platform" in reasons
    assert all(package == "a" for package, _, _ in leaves)


def test_missing_package_and_custom_package_names() -> None:
    provider = OfflineProvider()
    provider.add("root", Version("0"), {"ghost": Range.full()})
    with pytest.raises(NoSolutionError) as info:
        resolve(provider, "root", Version("0"))
    text = explain(info.value.tree, format_package=lambda p: f"<{p}>")
    assert text == (
        "Because there are no versions of <ghost> and you require <ghost>, "
        "we can conclude that your requirements are unsatisfiable."
    )


def test_generic_versions_render_without_packaging() -> None:
    provider = OfflineProvider()
    provider.add("root", 0, {"a": Range.between(2, 5)})
    provider.add("a", 1)
    with pytest.raises(NoSolutionError) as info:
        resolve(provider, "root", 0)
    assert explain(info.value.tree, versions=provider.versions) == (
        "Because only a==1 is available and you require a>=2,<5, "
        "we can conclude that your requirements are unsatisfiable."
    )
    assert explain(info.value.tree) == (
        "Because only the following versions of a are available: a<2 | >=5 and you require "
        "a>=2,<5, "
        "we can conclude that your requirements are unsatisfiable."
    )


def test_dependencies_of_different_ranges_are_not_merged() -> None:
    # Issue 10 defect 5: two "depends on" facts of one package were joined into one
    # sentence even when they hold for different versions of it, so a term of one
    # read as if it belonged to the other ("drf>=3.18.0 depends on django>=5.2 and
    # django>=4.2"). uv joins them only when the versions are the same.
    tree, provider = failure(
        {
            "drf": {
                "3.15.0": {},
                "3.16.0": {"django": spec(">=4.2")},
                "3.17.0": {"django": spec(">=4.2")},
                "3.18.0": {"django": spec(">=5.2")},
            },
            "django": {"4.1.0": {}, "4.2.0": {}, "5.2.0": {}},
        },
        {"drf": spec(">=3.16.0"), "django": spec("<4.2")},
    )
    assert explain(collapse_no_versions(tree), versions=provider.versions) == (
        "Because drf==3.18.0 depends on django>=5.2 and drf>=3.16.0,<3.18.0 depends on "
        "django>=4.2, we can conclude that drf>=3.16.0 depends on django>=4.2.\n"
        "And because you require drf>=3.16.0 and django<4.2, "
        "we can conclude that your requirements are unsatisfiable."
    )
