"""The cache form of project pages: grouped by version, decoded when read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from tests.unit.test_simple import HTML_PYPI, PAGE, assert_same_page
from xv.errors import XvError
from xv.index import pageform
from xv.index.filenames import dist_name_version
from xv.index.pageform import (
    FileList,
    files_of_version,
    page_from_plain,
    page_to_plain,
    plain_from_body,
)
from xv.index.simple import DistFile, ProjectPage, parse_html, parse_page

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
        (3, "a", "u", (), [("1", "1", ("0",), b"")]),  # positions that are no numbers
        (3, "a", "u", (), [("1", "1", (0, 0), b"")]),
        (3, "a", "u", (), [("1", "1", [0], b""), ("2", "2", [0], b"")]),
        (3, "a", "u", (), [("1", "1", 0, b"")]),
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


# A PEP 691 entry as an index may write it: every field optional or odd in the ways
# parse_json accepts (PEP 592 yanked as bool or reason, PEP 714 core-metadata and its
# older dist-info-metadata spelling, relative URLs, a size that is not an int).
_entry = st.fixed_dictionaries(
    {"filename": _filename},
    optional={
        "url": st.sampled_from(["../../f/x.whl", "https://files.example/x.whl", ""]),
        "hashes": _hashes,
        "requires-python": st.sampled_from([">=3.8", "", "<4,>=3.9"]),
        "yanked": st.sampled_from([True, False, "broken build", ""]),
        "upload-time": st.sampled_from(["2024-01-01T00:00:00Z", "2025-06-01T12:00:00.5Z"]),
        "size": st.sampled_from([0, 12345, "12"]),
        "core-metadata": st.sampled_from([True, False, {"sha256": "ab"}]),
        "dist-info-metadata": st.sampled_from([True, {"sha256": "cd"}]),
    },
)


@given(st.lists(_entry, max_size=10), st.none() | st.lists(_version, max_size=3))
def test_a_json_page_goes_to_its_cache_form_as_through_its_files(
    entries: list[dict[str, Any]], versions: list[str] | None
) -> None:
    """plain_from_body skips the DistFile values, nothing else: the same groups, rows,
    order and PEP 700 versions as page_to_plain of the parsed page."""
    doc: dict[str, Any] = {"meta": {"api-version": "1.1"}, "name": "Demo", "files": entries}
    if versions is not None:
        doc["versions"] = versions
    body = json.dumps(doc).encode()
    ctype = "application/vnd.pypi.simple.v1+json"
    page = parse_page(body, ctype, PAGE, "Demo", index_url="https://idx.example/simple")
    plain = plain_from_body(body, ctype, PAGE, "Demo", "https://idx.example/simple")
    assert plain == page_to_plain(page)
    assert_same_page(page_from_plain(plain), page)


@given(st.lists(_entry, max_size=10), _version)
def test_a_partial_page_holds_the_files_the_whole_page_gives_of_its_version(
    entries: list[dict[str, Any]], text: str
) -> None:
    """plain_from_body's ``only`` (a sync's read of a hashed pin's page): exactly
    files_of_version of the whole page, in page order, whatever else the page lists."""
    doc: dict[str, Any] = {"meta": {"api-version": "1.1"}, "name": "Demo", "files": entries}
    body = json.dumps(doc).encode()
    ctype = "application/vnd.pypi.simple.v1+json"
    key = pageform.version_key(text)
    if not key:
        return  # not a version: a sync asks only for a pin's
    whole = parse_page(body, ctype, PAGE, "Demo", index_url="https://idx.example/simple")
    part = page_from_plain(plain_from_body(body, ctype, PAGE, "Demo", "https://idx.example/simple", only=key))  # fmt: skip
    assert tuple(part.files) == files_of_version(whole, Version(text))
    assert files_of_version(part, Version(text)) == files_of_version(whole, Version(text))


def test_a_partial_page_still_refuses_a_bad_entry_of_its_own_version() -> None:
    """The partial read keeps every check for the entries it keeps: hashes that are not
    strings in a file of the pinned version refuse the page, as a whole read does; a bad
    entry of another version is dropped unread (the whole read refuses it)."""
    ctype = "application/vnd.pypi.simple.v1+json"
    good = {"filename": "a-1.0-py3-none-any.whl", "url": "a-1.0.whl", "hashes": {"sha256": "ab"}}
    bad = {"filename": "a-2.0-py3-none-any.whl", "url": "a-2.0.whl", "hashes": {"sha256": 1}}
    body = json.dumps({"meta": {"api-version": "1.1"}, "files": [good, bad]}).encode()
    with pytest.raises(ValueError, match="not a mapping of strings"):
        plain_from_body(body, ctype, PAGE, "a", "i", only="2")
    with pytest.raises(ValueError, match="not a mapping of strings"):
        plain_from_body(body, ctype, PAGE, "a", "i")
    part = page_from_plain(plain_from_body(body, ctype, PAGE, "a", "i", only="1"))
    assert [f.filename for f in part.files] == ["a-1.0-py3-none-any.whl"]


def test_a_partial_html_page_holds_its_versions_files() -> None:
    whole = parse_page(HTML_PYPI.encode(), "text/html", PAGE, "requests", index_url="i")
    found = dist_name_version(whole.files[0].filename, "requests")
    assert found is not None
    key = pageform.version_key(str(found[1]))
    plain = plain_from_body(HTML_PYPI.encode(), "text/html", PAGE, "requests", "i", only=key)
    part = page_from_plain(plain)
    assert tuple(part.files) == files_of_version(whole, found[1])
    assert 0 < len(part.files) < len(whole.files)


def test_an_html_page_and_a_refused_json_page_go_the_same_way_as_parse_page() -> None:
    html = parse_page(HTML_PYPI.encode(), "text/html", PAGE, "requests", index_url="i")
    assert plain_from_body(HTML_PYPI.encode(), "text/html", PAGE, "requests", "i") == (
        page_to_plain(html)
    )
    ctype = "application/vnd.pypi.simple.v1+json"
    bad_hashes = {"files": [{"filename": "a-1.0.tar.gz", "url": "u", "hashes": {"sha256": 1}}]}
    for doc in ({"meta": {"api-version": "2.0"}, "files": []}, {"files": 3}, bad_hashes):
        body = json.dumps(doc).encode()
        with pytest.raises(ValueError) as eager:
            parse_page(body, ctype, PAGE, "a")
        with pytest.raises(ValueError) as fused:
            plain_from_body(body, ctype, PAGE, "a", "i")
        assert str(fused.value) == str(eager.value)


def test_only_a_body_that_cannot_spell_an_at_sign_skips_the_credentials_check() -> None:
    from xv.index.client import _may_carry_credentials

    ctype = "application/vnd.pypi.simple.v1+json"
    escaped = (
        b'{"files": [{"filename": "a-1.0.tar.gz", "url": "https://u:p\\u0040h/a-1.0.tar.gz"}]}'
    )
    page = parse_page(escaped, ctype, PAGE, "a")
    assert "@" in page.files[0].url  # JSON may escape it: such a body is checked
    assert _may_carry_credentials(escaped)
    assert _may_carry_credentials(b'<a href="https://u:p&#64;h/a-1.0.tar.gz">a</a>')
    assert _may_carry_credentials(b'{"url": "https://u:p@h/a-1.0.tar.gz"}')
    assert not _may_carry_credentials(json.dumps({"files": [{"url": "https://h/a.whl"}]}).encode())
    # A backslash that starts no \u escape is no "@".
    assert not _may_carry_credentials(b'{"files": [{"yanked": "a \\"b\\"", "url": "https://h/a"}]}')


def test_positions_that_follow_each_other_are_kept_as_a_range() -> None:
    files = [
        DistFile(f"demo-{v}-py3-none-any.whl", "u", {}) for v in ("1.0", "1.0", "2.0", "1.0.0")
    ]
    page = page_from_plain(page_to_plain(ProjectPage("demo", tuple(files), "i")))
    assert isinstance(page.files, FileList)
    assert page.files._groups["2"][0] == range(2, 3)
    assert page.files._groups["1"][0] == (0, 1, 3)  # 1.0 and 1.0.0: one group, apart
    assert list(page.files) == files


VERSION_TEXT = st.builds(
    lambda epoch, release, pre, post, dev, local: (
        f"{epoch}!" * (epoch > 0) + ".".join(map(str, release)) + pre + post + dev + local
    ),
    st.integers(0, 3),
    st.lists(st.integers(0, 12), min_size=1, max_size=5),
    st.sampled_from(["", "a1", "b0", "rc2", "c3", "alpha4", "-pre5"]),
    st.sampled_from(["", ".post0", ".post3", "-1", "rev2"]),
    st.sampled_from(["", ".dev0", ".dev7", "dev"]),
    st.sampled_from(["", "+loc", "+Ubuntu.1", "+0.00.1"]),
)


@given(VERSION_TEXT)
def test_canonical_version_as_packaging(text: str) -> None:
    from packaging.utils import canonicalize_version

    version = Version(text)
    assert pageform.canonical_version(version) == canonicalize_version(version)


# Wheel-like names of every dash count around the valid 4 and 5, with names and versions
# that are and are not the project's, so that a group taken from an earlier wheel with
# the same "name-version[-build]" is checked against parsing each name on its own.
_WHEEL_PART = st.sampled_from(["demo", "Demo_Pkg", "demo_pkg", "other", "1.0", "1.0.0", "2", "x"])
_wheel_name = st.lists(_WHEEL_PART | st.sampled_from(["py3", "none", "any", "1"]), max_size=7).map(
    lambda parts: "-".join(parts) + ".whl"
)


@given(st.lists(_wheel_name | _filename, max_size=12), st.sampled_from(["demo", "demo-pkg"]))
def test_each_file_goes_to_the_group_its_own_name_gives(names: list[str], project: str) -> None:
    from xv.index.filenames import parse_file_version

    files = tuple(DistFile(n, f"https://x/{i}") for i, n in enumerate(names))
    page = ProjectPage(project, files, "https://x/simple")
    back = _round_trip(page)
    assert isinstance(back.files, FileList)
    for key in [*back.files.versions(), ""]:
        for f in back.files.of_key(key):
            version = parse_file_version(project, f.filename)
            assert key == (pageform.canonical_version(version) if version else "")
            assert back.files.versions().get(key, "") == (
                str(parse_file_version(project, back.files.of_key(key)[0].filename) or "")
            )
    assert back.files == page.files


_RELEASE_TEXT = st.lists(
    st.sampled_from(["0", "1", "2", "9", "10", "12", "00", "01", "007", "9" * 18, "1" * 19]),
    min_size=1,
    max_size=5,
).map(".".join)


@given(_RELEASE_TEXT)
def test_a_plain_release_is_spelled_and_keyed_as_packaging_does(text: str) -> None:
    """A page's groups of plain releases are made from the text, unparsed: only where
    packaging spells the version as written (no leading zeros), with the same key."""
    if pageform._PLAIN_RELEASE.fullmatch(text):
        assert str(Version(text)) == text
        assert pageform.release_key(text) == pageform.canonical_version(Version(text))
    else:  # a leading zero, or a number of more than 18 digits: parsed
        assert any(
            (part.startswith("0") and part != "0") or len(part) > 18 for part in text.split(".")
        )


@given(st.lists(VERSION_TEXT | _RELEASE_TEXT, max_size=25), st.integers(1, 6))
def test_the_newest_final_releases_are_kept_as_ranking_every_version_keeps(
    texts: list[str], keep: int
) -> None:
    """newest_only parses only the newest plain releases; the groups kept are those that
    ranking every group by its parsed version (finals first) keeps."""
    files = [
        {"filename": f"demo-{text}.tar.gz", "url": f"https://x/demo-{text}.tar.gz", "hashes": {}}
        for text in texts
    ]
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": files})
    plain = pageform.plain_from_body(
        body, "application/vnd.pypi.simple.v1+json", "https://x/", "demo", "https://x/"
    )
    _, left = pageform.newest_only(plain, keep)
    kept = {key for key, _, _, _ in plain[4] if key and key not in left}
    ranked = sorted(
        (not v.is_prerelease, v, key)
        for key, spelled, _, _ in plain[4]
        if key
        for v in [Version(spelled) if _parses(spelled) else Version("0")]
    )
    assert kept == {key for _, _, key in ranked[-keep:]}


def _parses(text: str) -> bool:
    try:
        Version(text)
    except ValueError:
        return False
    return True
