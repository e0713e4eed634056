"""The resolver against the local index: every policy the provider implements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.support.localindex import Pkg
from xv.cache import Cache
from xv.env.target import make_target
from xv.errors import ResolutionError
from xv.index.client import IndexClient, IndexSettings
from xv.pool import WorkerPool
from xv.resolver.candidates import BinaryPolicy
from xv.resolver.index_source import IndexSource
from xv.resolver.provider import (
    InputRequirement,
    PythonProvider,
    ResolverInputs,
    ResolverSettings,
)
from xv.resolver.resolve import run
from xv.resolver.result import Parent, Resolution

REQ = Parent("requirement", "requirements.in")


def _inputs(reqs: Iterable[str], parent: Parent = REQ) -> list[InputRequirement]:
    return [InputRequirement(Requirement(r), parent) for r in reqs]


def resolve(
    idx: Any,
    tmp_path: Path,
    reqs: Iterable[str],
    *,
    constraints: Iterable[str] = (),
    overrides: Iterable[str] = (),
    preferences: Mapping[str, str] | None = None,
    python: str = "3.11",
    **settings: Any,
) -> dict[str, str]:
    resolution = resolve_full(
        idx,
        tmp_path,
        reqs,
        constraints=constraints,
        overrides=overrides,
        preferences=preferences,
        python=python,
        **settings,
    )
    return {d.name: str(d.version) for d in resolution.dists}


def resolve_full(
    idx: Any,
    tmp_path: Path,
    reqs: Iterable[str],
    *,
    constraints: Iterable[str] = (),
    overrides: Iterable[str] = (),
    preferences: Mapping[str, str] | None = None,
    python: str = "3.11",
    **settings: Any,
) -> Resolution:
    client = IndexClient(IndexSettings(index_url=idx.url), Cache(tmp_path / "cache"))
    inputs = ResolverInputs(
        requirements=_inputs(reqs),
        constraints=_inputs(constraints, Parent("constraint", "constraints.txt")),
        overrides=_inputs(overrides, Parent("override", "overrides.txt")),
        preferences={k: Version(v) for k, v in (preferences or {}).items()},
    )
    with WorkerPool(kind="thread", workers=4) as pool:
        provider = PythonProvider(
            inputs,
            ResolverSettings(**settings),
            make_target(python, "linux"),
            IndexSource(client, pool),
        )
        return run(provider)


PKGS = [
    Pkg(
        "app",
        "1.0",
        deps=["lib>=1", "extra-only; extra == 'fast'"],
        extras={"fast": ["speedup>=2"]},
    ),
    Pkg(
        "app",
        "2.0",
        deps=["lib>=2", "winonly; sys_platform == 'win32'", "old; python_version < '3.8'"],
        extras={"fast": ["speedup>=2"]},
    ),
    Pkg("lib", "1.0"),
    Pkg("lib", "2.0"),
    Pkg("lib", "2.1"),
    Pkg("lib", "3.0b1"),
    Pkg("speedup", "2.0"),
    Pkg("speedup", "2.5", yanked="broken build"),
    Pkg("winonly", "1.0"),
    Pkg("old", "1.0"),
    Pkg("newpy", "1.0"),
    Pkg("newpy", "2.0", requires_python=">=3.12"),
    Pkg("newpy", "3.0", requires_python=">=3.8,<3.10"),
    Pkg("onlypre", "1.0a1"),
    Pkg("onlypre", "1.0a2"),
    Pkg("dated", "1.0", upload_time="2023-01-01T00:00:00Z"),
    Pkg("dated", "2.0", upload_time="2024-06-01T00:00:00Z"),
    Pkg("native", "1.0", tags=("cp311-cp311-win_amd64",), sdist=False),
    Pkg("native", "0.9"),
    Pkg("oldwheel", "1.0", tags=("cp311-cp311-manylinux1_x86_64",), sdist=False),
    Pkg("oldwheel", "2.0", tags=("cp311-cp311-manylinux2010_x86_64",), sdist=False),
]


@pytest.fixture
def idx(make_index: Any) -> Any:
    return make_index(PKGS)


def test_highest_with_extras_and_markers(idx: Any, tmp_path: Path) -> None:
    res = resolve_full(idx, tmp_path, ["app[fast]"])
    got = {d.name: str(d.version) for d in res.dists}
    # win-only and old-python dependencies are left out; the extra pulls speedup,
    # the yanked 2.5 is passed over
    assert got == {"app": "2.0", "lib": "2.1", "speedup": "2.0"}
    by = res.by_name()
    assert by["app"].extras == frozenset({"fast"})
    assert by["speedup"].parents == frozenset({Parent("package", "app")})
    assert by["app"].parents == frozenset({REQ})
    assert {f.filename for f in by["lib"].files} == {"lib-2.1-py3-none-any.whl", "lib-2.1.tar.gz"}


def test_markers_follow_target(idx: Any, tmp_path: Path) -> None:
    assert "old" in resolve(idx, tmp_path, ["app"], python="3.7")


def test_requires_python_lower_bound_only(idx: Any, tmp_path: Path) -> None:
    # 3.0 says <3.10, but upper bounds are ignored (uv's rule); 2.0 needs 3.12
    assert resolve(idx, tmp_path, ["newpy"], python="3.11") == {"newpy": "3.0"}
    assert resolve(idx, tmp_path, ["newpy<3"], python="3.11") == {"newpy": "1.0"}
    assert resolve(idx, tmp_path, ["newpy<3"], python="3.12") == {"newpy": "2.0"}


@pytest.mark.parametrize(
    ("mode", "req", "expected"),
    [
        ("disallow", "lib", "2.1"),
        ("allow", "lib", "3.0b1"),
        ("if-necessary", "lib", "2.1"),
        ("if-necessary", "lib>2.5", "3.0b1"),
        ("if-necessary", "onlypre", "1.0a2"),
        ("explicit", "lib>=3.0b1", "3.0b1"),
        ("explicit", "lib", "2.1"),
        ("if-necessary-or-explicit", "lib>=3.0b1", "3.0b1"),
        ("if-necessary-or-explicit", "onlypre", "1.0a2"),
        ("if-necessary-or-explicit", "lib", "2.1"),
    ],
)
def test_prerelease_modes(idx: Any, tmp_path: Path, mode: str, req: str, expected: str) -> None:
    assert (
        resolve(idx, tmp_path, [req], prerelease=mode)["lib" if "lib" in req else "onlypre"]
        == expected
    )


@pytest.mark.parametrize("mode", ["disallow", "explicit"])
def test_prerelease_refused_explains_with_hint(idx: Any, tmp_path: Path, mode: str) -> None:
    with pytest.raises(ResolutionError) as err:
        resolve(idx, tmp_path, ["onlypre"], prerelease=mode)
    assert "pre-releases are available for onlypre" in str(err.value)


def test_yanked_only_when_pinned(idx: Any, tmp_path: Path) -> None:
    assert resolve(idx, tmp_path, ["speedup"]) == {"speedup": "2.0"}
    assert resolve(idx, tmp_path, ["speedup==2.5"]) == {"speedup": "2.5"}
    with pytest.raises(ResolutionError) as err:
        resolve(idx, tmp_path, ["speedup>2.0"])
    assert "speedup==2.5 was yanked" in str(err.value)


def test_constraints_only_restrict(idx: Any, tmp_path: Path) -> None:
    got = resolve(idx, tmp_path, ["app"], constraints=["lib<2.1", "winonly==1.0", "newpy==1.0"])
    assert got == {"app": "2.0", "lib": "2.0"}  # constrained packages are not added
    res = resolve_full(idx, tmp_path, ["app"], constraints=["lib<2.1"])
    assert Parent("constraint", "constraints.txt") in res.by_name()["lib"].parents


def test_overrides_replace_declared_requirements(idx: Any, tmp_path: Path) -> None:
    # app 2.0 says lib>=2; the override forces lib 1.0 anyway
    assert resolve(idx, tmp_path, ["app"], overrides=["lib==1.0"]) == {"app": "2.0", "lib": "1.0"}


def test_preferences_and_upgrade(idx: Any, tmp_path: Path) -> None:
    prefs = {"app": "1.0", "lib": "2.0"}
    assert resolve(idx, tmp_path, ["app"], preferences=prefs) == {"app": "1.0", "lib": "2.0"}
    # a preference outside the allowed range is ignored
    assert resolve(idx, tmp_path, ["app>=2"], preferences=prefs) == {"app": "2.0", "lib": "2.0"}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("highest", {"app": "2.0", "lib": "2.1"}),
        ("lowest", {"app": "1.0", "lib": "1.0"}),
        ("lowest-direct", {"app": "1.0", "lib": "2.1"}),
    ],
)
def test_resolution_modes(idx: Any, tmp_path: Path, mode: str, expected: dict[str, str]) -> None:
    assert resolve(idx, tmp_path, ["app"], resolution=mode) == expected


def test_exclude_newer(idx: Any, tmp_path: Path) -> None:
    cutoff = datetime(2024, 1, 1, tzinfo=UTC)
    assert resolve(idx, tmp_path, ["dated"], exclude_newer=cutoff) == {"dated": "1.0"}
    assert resolve(idx, tmp_path, ["dated"]) == {"dated": "2.0"}


def test_wheel_tags_and_no_build(idx: Any, tmp_path: Path) -> None:
    assert resolve(idx, tmp_path, ["native"]) == {"native": "0.9"}
    with pytest.raises(ResolutionError) as err:
        resolve(idx, tmp_path, ["native==1.0"])
    assert "native==1.0 has no wheels with a matching platform tag" in str(err.value)
    assert resolve(idx, tmp_path, ["lib"], binary=BinaryPolicy(no_build=True)) == {"lib": "2.1"}


def test_linux_takes_manylinux1_and_manylinux2010_wheels(idx: Any, tmp_path: Path) -> None:
    # Issue 10 defect 6: --python-platform linux rejected both legacy spellings.
    assert resolve(idx, tmp_path, ["oldwheel"]) == {"oldwheel": "2.0"}
    assert resolve(idx, tmp_path, ["oldwheel<2"]) == {"oldwheel": "1.0"}


def test_missing_package_is_explained(idx: Any, tmp_path: Path) -> None:
    with pytest.raises(ResolutionError) as err:
        resolve(idx, tmp_path, ["nonexistent"])
    assert "nonexistent was not found in the package registry" in str(err.value)


def test_conflict_explanation(idx: Any, tmp_path: Path) -> None:
    with pytest.raises(ResolutionError) as err:
        resolve(idx, tmp_path, ["app==2.0", "lib<2"])
    text = str(err.value)
    assert "app==2.0 depends on lib>=2" in text
    assert "your requirements are unsatisfiable" in text


def test_pins_of_an_existing_lock_are_fetched_first(make_index: Any, tmp_path: Path) -> None:
    chain = ["aa", "bb", "cc", "dd"]
    pkgs = [
        Pkg(name, version, deps=[f"{nxt}>=1"] if nxt else [], sdist=False)
        for name, nxt in zip(chain, [*chain[1:], None], strict=True)
        for version in ("1.0", "2.0")
    ]
    index = make_index(pkgs)
    # The index logs a request when it has answered it; files answer half a second late, so
    # that a page asked for up front is logged before any file whatever the thread timing.
    index.inject_fault("slow", times=1000, match=".whl", delay=0.5)
    prefs = {name: "1.0" for name in chain}
    assert resolve(index, tmp_path, ["aa"], preferences=prefs) == prefs
    index.clear_faults()
    paths = [r.path for r in index.requests]
    first_file = next(i for i, p in enumerate(paths) if "/files/" in p or p.endswith(".whl"))
    # Every pinned project's page comes before any file is read, not one level at a time.
    pages = {p.rstrip("/").rsplit("/", 1)[-1] for p in paths[:first_file]}
    assert set(chain) <= pages


@pytest.mark.parametrize(
    ("reqs", "constraints", "pair"),
    [
        (["lib==1.0", "lib==2.1"], [], "lib==1.0 and lib==2.1"),
        (["lib<1", "lib>1"], [], "lib<1 and lib>1"),
        (["lib>=1", "lib<3", "lib==2.1", "lib<2"], [], "lib==2.1 and lib<2"),
        (["lib==1.0"], ["lib==2.1"], "lib==1.0 and lib==2.1"),
        (["lib"], ["lib>2", "lib<2"], "lib>2 and lib<2"),
    ],
)
def test_conflicting_inputs_name_both_requirements(
    idx: Any, tmp_path: Path, reqs: list[str], constraints: list[str], pair: str
) -> None:
    # Issue 10 defect 4: inputs no version satisfies together read "You require lib∅."
    with pytest.raises(ResolutionError) as err:
        resolve(idx, tmp_path, reqs, constraints=constraints)
    assert str(err.value) == (
        f"Because you require {pair}, we can conclude that your requirements are unsatisfiable."
    )
