"""One home for the target (issue 11 step 1) and uv's --python-platform names (issue 10
defect 6): every platform list comes from env/tags, checked against packaging."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging import _manylinux, _musllinux, tags
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from xv.cache import Cache, CacheBucket
from xv.env import _probe, platforms, target
from xv.env.interpreter import Interpreter, running_facts
from xv.env.tags import (
    android_platforms,
    ios_platforms,
    manylinux_platforms,
    musllinux_platforms,
)
from xv.env.target import interpreter_target
from xv.errors import UsageError

# `uv pip compile --help` (uv 0.13.9), --python-platform's possible values.
UV_PLATFORMS = [
    "windows",
    "linux",
    "macos",
    "x86_64-pc-windows-msvc",
    "aarch64-pc-windows-msvc",
    "i686-pc-windows-msvc",
    "x86_64-unknown-linux-gnu",
    "aarch64-apple-darwin",
    "x86_64-apple-darwin",
    "aarch64-unknown-linux-gnu",
    "aarch64-unknown-linux-musl",
    "x86_64-unknown-linux-musl",
    "riscv64-unknown-linux",
    "x86_64-manylinux2014",
    "x86_64-manylinux_2_17",
    "x86_64-manylinux_2_28",
    "x86_64-manylinux_2_31",
    "x86_64-manylinux_2_32",
    "x86_64-manylinux_2_33",
    "x86_64-manylinux_2_34",
    "x86_64-manylinux_2_35",
    "x86_64-manylinux_2_36",
    "x86_64-manylinux_2_37",
    "x86_64-manylinux_2_38",
    "x86_64-manylinux_2_39",
    "x86_64-manylinux_2_40",
    "aarch64-manylinux2014",
    "aarch64-manylinux_2_17",
    "aarch64-manylinux_2_28",
    "aarch64-manylinux_2_31",
    "aarch64-manylinux_2_32",
    "aarch64-manylinux_2_33",
    "aarch64-manylinux_2_34",
    "aarch64-manylinux_2_35",
    "aarch64-manylinux_2_36",
    "aarch64-manylinux_2_37",
    "aarch64-manylinux_2_38",
    "aarch64-manylinux_2_39",
    "aarch64-manylinux_2_40",
    "aarch64-linux-android",
    "x86_64-linux-android",
    "wasm32-pyodide2024",
    "wasm32-pyodide2025",
    "arm64-apple-ios",
    "arm64-apple-ios-simulator",
    "x86_64-apple-ios-simulator",
]


@pytest.mark.parametrize(
    ("glibc", "archs"),
    [((2, 17), ["x86_64"]), ((2, 28), ["x86_64"]), ((2, 35), ["aarch64"]), ((2, 5), ["i686"]),
     ((2, 31), ["armv8l", "armv7l"]), ((2, 40), ["ppc64le"]), ((2, 12), ["x86_64"])],
)  # fmt: skip
def test_manylinux_platforms_match_packaging(
    glibc: tuple[int, int], archs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_manylinux, "_get_glibc_version", lambda: glibc)
    monkeypatch.setattr(_manylinux, "_have_compatible_abi", lambda *a: True)
    assert list(manylinux_platforms(glibc, archs)) == list(_manylinux.platform_tags(archs))


def test_musllinux_platforms_match_packaging(monkeypatch: pytest.MonkeyPatch) -> None:
    version = _musllinux._MuslVersion(1, 2)
    monkeypatch.setattr(_musllinux, "_get_musl_version", lambda _: version)
    expected = list(_musllinux.platform_tags(["aarch64"]))
    assert list(musllinux_platforms((1, 2), ["aarch64"])) == expected


def test_android_and_ios_platforms_match_packaging() -> None:
    if not hasattr(tags, "android_platforms"):
        pytest.skip("this packaging has no Android/iOS tags")
    assert list(android_platforms(24, "arm64_v8a")) == list(tags.android_platforms(24, "arm64_v8a"))
    expected = list(tags.ios_platforms((13, 2), "arm64_iphoneos"))
    assert list(ios_platforms((13, 2), "arm64_iphoneos")) == expected


@pytest.mark.parametrize("name", ["linux", "x86_64-unknown-linux-gnu", "x86_64-manylinux2014",
                                  "x86_64-manylinux_2_17", "x86_64-manylinux_2_40"])  # fmt: skip
def test_x86_64_linux_targets_take_legacy_manylinux_wheels(name: str) -> None:
    t = target.make_target("3.11", name)
    for plat in ("manylinux1", "manylinux2010", "manylinux2014", "manylinux_2_5", "linux"):
        assert t.wheel_priority(f"a-1-cp311-cp311-{plat}_x86_64.whl") is not None, plat
    newer = t.wheel_priority("a-1-cp311-cp311-manylinux_2_17_x86_64.whl")
    older = t.wheel_priority("a-1-cp311-cp311-manylinux1_x86_64.whl")
    plain = t.wheel_priority("a-1-cp311-cp311-linux_x86_64.whl")
    assert newer is not None and older is not None and plain is not None
    assert newer < older < plain  # as uv ranks them: the plain linux tag last


def test_every_uv_platform_name_is_accepted() -> None:
    assert set(platforms.NAMES) == set(UV_PLATFORMS)
    for name in UV_PLATFORMS:
        t = target.make_target("3.12", name)
        assert t.tag_priority, name


@pytest.mark.parametrize(
    ("name", "markers", "best"),
    [
        ("windows", ("win32", "Windows", "nt", "x86_64"), "win_amd64"),
        ("aarch64-pc-windows-msvc", ("win32", "Windows", "nt", "ARM64"), "win_arm64"),
        ("i686-pc-windows-msvc", ("win32", "Windows", "nt", "x86"), "win32"),
        ("linux", ("linux", "Linux", "posix", "x86_64"), "manylinux_2_28_x86_64"),
        ("macos", ("darwin", "Darwin", "posix", "arm64"), "macosx_13_0_arm64"),
        ("x86_64-apple-darwin", ("darwin", "Darwin", "posix", "x86_64"), "macosx_13_0_x86_64"),
        ("aarch64-unknown-linux-musl", ("linux", "Linux", "posix", "aarch64"),
         "musllinux_1_2_aarch64"),
        ("riscv64-unknown-linux", ("linux", "Linux", "posix", "riscv64"),
         "manylinux_2_39_riscv64"),
        ("manylinux_2_31_aarch64", ("linux", "Linux", "posix", "aarch64"),
         "manylinux_2_31_aarch64"),
        ("x86_64-linux-android", ("android", "Android", "posix", "x86_64"), "android_24_x86_64"),
        ("wasm32-pyodide2024", ("emscripten", "Emscripten", "posix", "wasm32"),
         "pyemscripten_2024_0_wasm32"),
        ("arm64-apple-ios-simulator", ("ios", "iOS", "posix", "arm64"),
         "ios_13_0_arm64_iphonesimulator"),
    ],
)  # fmt: skip
def test_platform_markers_and_tags_are_uvs(
    name: str, markers: tuple[str, str, str, str], best: str
) -> None:
    plat = platforms.platform_named(name, {})
    keys = ("sys_platform", "platform_system", "os_name", "platform_machine")
    assert tuple(plat.markers[k] for k in keys) == markers
    assert plat.platforms[0] == best
    t = target.make_target("3.12", name)
    assert {k: t.markers[k] for k in keys} == dict(zip(keys, markers, strict=True))


def test_riscv64_starts_at_manylinux_2_31() -> None:
    plats = platforms.platform_named("riscv64-unknown-linux", {}).platforms
    assert plats[-2:] == ("manylinux_2_31_riscv64", "linux_riscv64")


def test_deployment_targets_and_api_level_come_from_the_environment() -> None:
    mac = platforms.platform_named("macos", {"MACOSX_DEPLOYMENT_TARGET": "14.2"})
    assert mac.platforms[0] == "macosx_14_0_arm64"
    ios = platforms.platform_named("arm64-apple-ios", {"IPHONEOS_DEPLOYMENT_TARGET": "15.1"})
    assert ios.platforms[0] == "ios_15_1_arm64_iphoneos"
    android = platforms.platform_named("aarch64-linux-android", {"ANDROID_API_LEVEL": "30"})
    assert android.platforms[0] == "android_30_arm64_v8a"


def test_unknown_platform_lists_uvs_names() -> None:
    with pytest.raises(UsageError, match="riscv64-unknown-linux"):
        platforms.platform_named("beos", {})


def test_running_interpreter_matches_packaging_sys_tags() -> None:
    # The running interpreter goes through the same probe and generator as any other.
    own = target.current_target()
    expected = list(tags.sys_tags())
    assert list(own.tag_priority) == [str(tag) for tag in expected]


def test_python_version_override_keeps_the_base_platform() -> None:
    base = target.running_interpreter()
    t = target.make_target("3.9", None, base)
    assert t.markers["python_full_version"] == "3.9.0"
    assert t.markers["sys_platform"] == base.markers["sys_platform"]
    assert f"cp39-cp39-{base.platforms[0]}" in {str(tag) for tag in t.tag_priority}


def test_target_for_reads_tags_as_packaging_parses_them() -> None:
    texts = ["CP311-cp311-Manylinux_2_17_x86_64", "py2.py3-none-any", "cp311-abi3-linux_x86_64",
             "py3-none-any", "cp311-cp311-manylinux_2_17_x86_64"]  # fmt: skip
    groups: list[set[str]] = []  # a compressed set's members share its place, in any order
    for text in texts:
        fresh = {str(tag) for tag in tags.parse_tag(text)} - set().union(*groups)
        groups.append(fresh)
    got = target.target_for({"python_version": "3.11"}, texts).tag_priority
    keys = list(got)
    assert list(got.values()) == list(range(len(keys)))
    start = 0
    for group in groups:
        assert set(keys[start : start + len(group)]) == group
        start += len(group)
    assert start == len(keys)
    assert str(next(iter(got))) == "cp311-cp311-manylinux_2_17_x86_64"


def test_the_running_interpreter_from_the_cache_is_the_probed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compile's target from the cached facts is the in-process probe's; a damaged entry,
    or one whose tags another packaging derived, is probed again and rewritten."""
    cache = Cache(tmp_path)
    fresh = interpreter_target(Interpreter.from_facts(_probe.facts()))
    first = running_facts(cache)
    (entry,) = (tmp_path / CacheBucket.INTERPRETER).iterdir()
    calls: list[int] = []
    real: Any = _probe.facts  # the probe is untyped: it runs on Pythons back to 3.8

    def counted() -> Any:
        calls.append(1)
        return real()

    monkeypatch.setattr(_probe, "facts", counted)
    second = running_facts(cache)
    assert calls == []  # read back, not probed
    for facts in (first, second):
        assert interpreter_target(Interpreter.from_facts(facts)) == fresh
    for damage in (b"garbage", None):
        if damage is None:  # tags derived by another packaging
            Cache(tmp_path).bucket(CacheBucket.INTERPRETER).put(
                entry.name, {**second, "tags": {"by": "0", "supported": ["x-y-z"]}}
            )
        else:
            entry.write_bytes(damage)
        assert interpreter_target(Interpreter.from_facts(running_facts(cache))) == fresh
    assert len(calls) == 2
    assert calls and running_facts(cache) == second  # rewritten
    # Another kernel under the same executable (the platform_release marker): probed again.
    sysname, node, _, version, machine = os.uname()
    monkeypatch.setattr(os, "uname", lambda: (sysname, node, "0.0-other", version, machine))
    running_facts(cache)
    assert len(calls) == 3


_RELEASES = st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=4).map(
    lambda parts: ".".join(map(str, parts))
)
_CLAUSES = st.one_of(
    st.tuples(st.sampled_from([">=", "<", "<=", "==", ">", "!="]), _RELEASES, st.just("")),
    st.tuples(st.sampled_from(["!=", "=="]), _RELEASES, st.just(".*")),
    st.tuples(st.just("~="), _RELEASES.map(lambda v: v + ".1"), st.just("")),
)


@given(st.lists(_CLAUSES, min_size=1, max_size=4), _RELEASES, st.sampled_from(["", " "]))
def test_plain_lower_bounds_answer_as_packaging(
    clauses: list[tuple[str, str, str]], python: str, space: str
) -> None:
    """The quick reading of Requires-Python gives packaging's answer, or leaves it to it."""
    text = ("," + space).join(f"{op}{space}{version}{star}" for op, version, star in clauses)
    quick = target.plain_lower_bounds(text, python)
    spec = SpecifierSet(text)
    lower = SpecifierSet(",".join(str(s) for s in spec if s.operator not in ("<", "<=")))
    expected = lower.contains(Version(python), prereleases=True)
    if all(op in (">=", "<", "<=", "!=") for op, _, _ in clauses):
        assert quick == expected
    else:
        assert quick is None
