"""The cache form of project pages: grouped by version, decoded when read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from tests.unit.test_simple import HTML_PYPI, PAGE, assert_same_page
from xv.errors import XvError
from xv.index.pageform import (
    FileList,
    files_of_version,
    page_from_plain,
    page_to_plain,
)
from xv.index.simple import DistFile, ProjectPage, dist_name_version, parse_html

_text = st.text(max_size=20)
_hashes = st.dictionaries(st.sampled_from(["sha256", "md5", "sha512"]), st.text(max_size=64))
_version = st.sampled_from(["1.0", "1.0.0", "2.0rc1", "2.0", "10.1.post3", "bad-v"])
_filename = st.one_of(
    st.builds("demo-{}-py3-none-any.whl".format, _version),
    st.builds("demo-{}.tar.gz".format, _version),
    st.builds("Demo_Pkg-{}-cp311-cp311-manylinux_2_17_x86_64.whl".format, _version),
    _text,
)
_dist = st.builds(
    DistFile,
    filename=_filename,
    url=_text,
    hashes=_hashes,
    requires_python=st.none() | _text,
    yanked=st.none() | _text,
    upload_time=st.none() | _text,
    size=st.none() | st.integers(min_value=0, max_value=2**63 - 1),
    metadata_hashes=st.none() | _hashes,
)
_page = st.builds(
    ProjectPage,
    name=st.just("demo"),
    files=st.lists(_dist, max_size=8).map(tuple),
    index_url=_text,
    versions=st.lists(_text, max_size=3).map(tuple),
)


def _round_trip(page: ProjectPage, use_list: bool = False) -> ProjectPage:
    raw = msgpack.packb(page_to_plain(page), use_bin_type=True)
    return page_from_plain(msgpack.unpackb(raw, raw=False, use_list=use_list))


@given(_page)
def test_round_trip_keeps_every_file_in_page_order(page: ProjectPage) -> None:
    for use_list in (False, True):
        back = _round_trip(page, use_list)
        assert isinstance(back.files, FileList)
        assert_same_page(back, page)
        assert back.files == page.files


@given(_page, _version)
def test_files_of_a_version_agree_with_filtering_the_page(page: ProjectPage, text: str) -> None:
    try:
        version = Version(text)
    except ValueError:
        return
    back = _round_trip(page)
    oracle = tuple(
        f for f in page.files if dist_name_version(f.filename, "demo") == ("demo", version)
    )
    assert files_of_version(back, version) == oracle
    assert files_of_version(page, version) == oracle


def test_one_version_is_read_without_decoding_the_others() -> None:
    page = parse_html(HTML_PYPI, PAGE, "requests")
    back = _round_trip(page)
    assert isinstance(back.files, FileList)
    some = page.files[0]
    found = dist_name_version(some.filename, "requests")
    assert found is not None
    version = found[1]
    got = back.files.of_version(version)
    assert some in got
    assert back.files._all is None  # nothing else was decoded
    assert len(back.files) == len(page.files)


def test_equal_versions_share_a_group() -> None:
    files = tuple(
        DistFile(name, f"https://x/{name}")
        for name in ("demo-1.0-py3-none-any.whl", "demo-1.0.0.tar.gz", "other-1.0.tar.gz")
    )
    back = _round_trip(ProjectPage("demo", files, "https://x/simple"))
    assert [f.filename for f in back.files.of_version(Version("1"))] == [  # type: ignore[attr-defined]
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.0.tar.gz",
    ]


@pytest.mark.parametrize(
    "obj",
    [
        None,
        3,
        (),
        (1, "a", "u", (), ()),
        (2, "a", "u", ()),
        (2, "a", "u", (), [1]),
        (2, "a", "u", (), [("1", (1,), b"")]),  # the format before
        (3, "a", "u", (), [("1", "1", (1,), b"")]),
    ],
)
def test_garbage_is_a_value_error(obj: Any) -> None:
    with pytest.raises(ValueError):
        page_from_plain(obj)


def test_a_damaged_group_is_a_clear_error_when_read() -> None:
    page = page_from_plain(
        (3, "demo", "https://x/simple", (), (("1", "1.0", (0,), b"\xc1garbage"),))
    )
    with pytest.raises(XvError, match="--refresh"):
        list(page.files)


def test_versions_as_their_first_file_spells_them_without_decoding() -> None:
    files = tuple(
        DistFile(name, f"https://x/{name}")
        for name in ("demo-1.0.0.tar.gz", "demo-1.0-py3-none-any.whl", "demo-2-1.tar.gz", "x.txt")
    )
    back = _round_trip(ProjectPage("demo", files, "https://x/simple"))
    assert isinstance(back.files, FileList)
    assert back.files.versions() == {"1": "1.0.0", "2.post1": "2.post1"}
    assert [f.filename for f in back.files.of_key("1")] == [files[0].filename, files[1].filename]
    assert back.files._decoded.keys() == {"1"}


def test_cached_pages_load_lazily_through_the_client(tmp_path: Path) -> None:
    from xv.cache import Cache
    from xv.index.client import _PageEntry as Entry
    from xv.index.client import _read_entry, _write_entry

    page = parse_html(HTML_PYPI, PAGE, "requests")
    bucket = Cache.default(str(tmp_path), False).bucket("simple-v2")
    _write_entry(bucket, PAGE, Entry(page, 1.0, {"etag": '"x"'}))
    entry = _read_entry(bucket, PAGE)
    assert entry is not None and entry.page is not None
    assert_same_page(entry.page, page)
