"""Targets (markers, tags) and candidate judging."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from packaging.version import Version

from xv.env.target import make_target
from xv.errors import UsageError
from xv.index.simple import DistFile, ProjectPage
from xv.resolver.candidates import BinaryPolicy, build_candidates


def _f(name: str, **kw: object) -> DistFile:
    return DistFile(filename=name, url=f"http://x/{name}", **kw)  # type: ignore[arg-type]


def test_python_version_changes_markers_and_tags() -> None:
    t = make_target("3.9", "linux")
    assert t.markers["python_version"] == "3.9"
    assert t.markers["python_full_version"] == "3.9.0"
    assert t.markers["sys_platform"] == "linux"
    assert t.wheel_priority("a-1-cp39-cp39-manylinux_2_17_x86_64.whl") is not None
    assert t.wheel_priority("a-1-cp39-cp39-manylinux2014_x86_64.whl") is not None
    assert t.wheel_priority("a-1-cp311-cp311-manylinux_2_17_x86_64.whl") is None
    assert t.wheel_priority("a-1-cp39-cp39-manylinux_2_28_x86_64.whl") is not None  # uv >= 0.8
    assert t.wheel_priority("a-1-cp39-cp39-manylinux_2_31_x86_64.whl") is None
    assert t.wheel_priority("a-1-cp39-cp39-win_amd64.whl") is None
    assert t.wheel_priority("a-1-py3-none-any.whl") is not None
    # a specific wheel is preferred over a universal one
    specific = t.wheel_priority("a-1-cp39-cp39-manylinux_2_17_x86_64.whl")
    universal = t.wheel_priority("a-1-py3-none-any.whl")
    assert specific is not None and universal is not None and specific < universal


@pytest.mark.parametrize(
    ("platform", "sys_platform", "good", "bad"),
    [
        ("windows", "win32", "a-1-cp312-cp312-win_amd64.whl", "a-1-cp312-cp312-win32.whl"),
        (
            "macos",
            "darwin",
            "a-1-cp312-cp312-macosx_11_0_arm64.whl",
            "a-1-cp312-cp312-macosx_11_0_x86_64.whl",
        ),
        (
            "x86_64-manylinux_2_28",
            "linux",
            "a-1-cp312-cp312-manylinux_2_28_x86_64.whl",
            "a-1-cp312-cp312-manylinux_2_31_x86_64.whl",
        ),
    ],
)
def test_platforms(platform: str, sys_platform: str, good: str, bad: str) -> None:
    t = make_target("3.12", platform)
    assert t.markers["sys_platform"] == sys_platform
    assert t.wheel_priority(good) is not None
    assert t.wheel_priority(bad) is None


def test_unknown_platform_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown --python-platform 'beos'"):
        make_target(None, "beos")
    with pytest.raises(UsageError, match="x86_64-manylinux_2_29"):  # not one of uv's
        make_target(None, "x86_64-manylinux_2_29")


def test_requires_python_only_lower_bounds_count() -> None:
    t = make_target("3.11", "linux")
    assert t.allows_requires_python(">=3.8,<3.11")  # upper bound ignored, as uv does
    assert not t.allows_requires_python(">=3.12")
    assert t.allows_requires_python(None)
    assert not t.allows_requires_python("==2.7.*")


def test_candidates_grouped_and_judged() -> None:
    t = make_target("3.11", "linux")
    page = ProjectPage(
        name="demo",
        index_url="http://x",
        files=(
            _f("demo-2.0-py3-none-any.whl", requires_python=">=3.12"),
            _f("demo-1.5-cp311-cp311-win_amd64.whl"),
            _f("demo-1.4-py3-none-any.whl", yanked="broken"),
            _f("demo-1.3.tar.gz"),
            _f("demo-1.3-cp311-cp311-win_amd64.whl"),
            _f("Demo-1.2.zip", upload_time="2030-01-01T00:00:00Z"),
            _f("demo-1.1-py3-none-any.whl", metadata_hashes={}),
            _f("demo-1.1.tar.gz"),
        ),
    )
    cands = {str(c.version): c for c in build_candidates(page, t, BinaryPolicy())}
    assert list(cands) == ["2.0", "1.5", "1.4", "1.3", "1.2", "1.1"]
    assert cands["2.0"].excluded == "requires Python >=3.12"
    assert cands["1.5"].excluded == "has no wheels with a matching platform tag"
    assert cands["1.4"].yanked and cands["1.4"].excluded is None
    # the sdist is usable, but metadata is read from the other platform's wheel
    meta13 = cands["1.3"].metadata_file
    assert meta13 is not None and meta13.filename.endswith("win_amd64.whl")
    meta11 = cands["1.1"].metadata_file
    assert meta11 is not None and meta11.filename == "demo-1.1-py3-none-any.whl"
    newer = build_candidates(page, t, BinaryPolicy(), datetime(2025, 1, 1, tzinfo=UTC))
    assert Version("1.2") not in {c.version for c in newer}
    no_build = {str(c.version): c for c in build_candidates(page, t, BinaryPolicy(no_build=True))}
    assert no_build["1.3"].excluded == "has no usable wheels"
    only_sdist = build_candidates(page, t, BinaryPolicy(no_binary=frozenset({":all:"})))
    assert {str(c.version) for c in only_sdist if c.excluded is None} == {"1.3", "1.2", "1.1"}
