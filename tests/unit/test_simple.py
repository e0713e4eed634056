"""Parsing PEP 691 JSON and PEP 503 HTML project pages, filenames and the cache form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from xv.index import filenames
from xv.index.filenames import dist_name_version, file_version
from xv.index.jsonpage import content_type_is_json
from xv.index.simple import (
    ACCEPT,
    DistFile,
    ProjectPage,
    files_from_directory,
    parse_find_links_html,
    parse_html,
    parse_json,
    parse_page,
)

PAGE = "https://pypi.org/simple/requests/"
SHA = "942c5a758f98d790eaed1a29cb6eefc7ffb0d1cf7af05c3d2791656dbd6ad1e1"
META_SHA = "c4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4"
FILES_HOST = "https://files.pythonhosted.org/packages/f9/9b/"


def assert_same_file(got: DistFile, want: DistFile) -> None:
    """DistFile's equality ignores hashes, so compare every field explicitly."""
    assert got == want
    assert got.hashes == want.hashes
    assert got.metadata_hashes == want.metadata_hashes


def assert_same_page(got: ProjectPage, want: ProjectPage) -> None:
    assert (got.name, got.index_url, got.versions) == (want.name, want.index_url, want.versions)
    assert len(got.files) == len(want.files)
    for g, w in zip(got.files, want.files, strict=True):
        assert_same_file(g, w)


# ---------------------------------------------------------------- JSON

JSON_CASES: list[tuple[str, dict[str, Any], DistFile]] = [
    (
        "pypi-wheel-full",
        {
            "core-metadata": {"sha256": META_SHA},
            "data-dist-info-metadata": {"sha256": META_SHA},
            "filename": "requests-2.31.0-py3-none-any.whl",
            "hashes": {"sha256": SHA},
            "requires-python": ">=3.7",
            "size": 62574,
            "upload-time": "2023-05-22T15:12:42.313790Z",
            "url": FILES_HOST + "requests-2.31.0-py3-none-any.whl",
            "yanked": False,
        },
        DistFile(
            filename="requests-2.31.0-py3-none-any.whl",
            url=FILES_HOST + "requests-2.31.0-py3-none-any.whl",
            hashes={"sha256": SHA},
            requires_python=">=3.7",
            upload_time="2023-05-22T15:12:42.313790Z",
            size=62574,
            metadata_hashes={"sha256": META_SHA},
        ),
    ),
    (
        "old-sdist-minimal",
        {
            "filename": "requests-0.2.0.tar.gz",
            "hashes": {"sha256": SHA, "md5": "abc"},
            "requires-python": None,
            "url": FILES_HOST + "requests-0.2.0.tar.gz",
            "yanked": False,
        },
        DistFile(
            filename="requests-0.2.0.tar.gz",
            url=FILES_HOST + "requests-0.2.0.tar.gz",
            hashes={"sha256": SHA, "md5": "abc"},
        ),
    ),
    (
        "yanked-with-reason",
        {
            "filename": "requests-2.32.0.tar.gz",
            "hashes": {},
            "url": FILES_HOST + "requests-2.32.0.tar.gz",
            "yanked": "Yanked due to conflicts with CVE-2024-35195 mitigation",
        },
        DistFile(
            filename="requests-2.32.0.tar.gz",
            url=FILES_HOST + "requests-2.32.0.tar.gz",
            yanked="Yanked due to conflicts with CVE-2024-35195 mitigation",
        ),
    ),
    (
        "yanked-true",
        {"filename": "a-1.tar.gz", "url": "https://h/a-1.tar.gz", "hashes": {}, "yanked": True},
        DistFile(filename="a-1.tar.gz", url="https://h/a-1.tar.gz", yanked=""),
    ),
    (
        "pep658-only-old-key-true",
        {
            "filename": "a-1-py3-none-any.whl",
            "url": "https://h/a-1-py3-none-any.whl",
            "hashes": {},
            "dist-info-metadata": True,
        },
        DistFile(
            filename="a-1-py3-none-any.whl",
            url="https://h/a-1-py3-none-any.whl",
            metadata_hashes={},
        ),
    ),
    (
        "core-metadata-false-wins-over-old-key",
        {
            "filename": "a-1-py3-none-any.whl",
            "url": "https://h/a-1-py3-none-any.whl",
            "hashes": {},
            "core-metadata": False,
            "dist-info-metadata": True,
        },
        DistFile(filename="a-1-py3-none-any.whl", url="https://h/a-1-py3-none-any.whl"),
    ),
    (
        "relative-url-and-empty-requires-python",
        {
            "filename": "a-1.zip",
            "url": "../../packages/a-1.zip",
            "hashes": {"sha256": "00"},
            "requires-python": "",
        },
        DistFile(
            filename="a-1.zip", url="https://pypi.org/packages/a-1.zip", hashes={"sha256": "00"}
        ),
    ),
]


@pytest.mark.parametrize(
    ("entry", "want"), [c[1:] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES]
)
def test_parse_json_file(entry: dict[str, Any], want: DistFile) -> None:
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "requests", "files": [entry]})
    page = parse_json(body.encode(), PAGE, "Requests")
    assert page.name == "requests"
    assert page.index_url == PAGE
    assert len(page.files) == 1
    assert_same_file(page.files[0], want)


def test_parse_json_versions_and_index_url() -> None:
    body = {"meta": {"api-version": "1.1"}, "name": "x", "files": [], "versions": ["1.0", "2.0"]}
    page = parse_json(json.dumps(body), PAGE, "X", index_url="https://pypi.org/simple")
    assert page == ProjectPage("x", (), "https://pypi.org/simple", ("1.0", "2.0"))


@pytest.mark.parametrize("body", [b"[]", b'{"name": "x"}', b'{"files": {}}'])
def test_parse_json_rejects_non_pages(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_json(body, PAGE, "x")


@pytest.mark.parametrize(
    ("meta", "entry", "words"),
    [
        ({"api-version": "1.0"}, {"hashes": ["sha256", "00"]}, "not a mapping"),
        ({"api-version": "1.0"}, {"hashes": "sha256=00"}, "not a mapping"),
        ({"api-version": "1.0"}, {"hashes": None}, "not a mapping"),
        ({"api-version": "1.0"}, {"hashes": {"sha256": 5}}, "not a mapping"),
        ({"api-version": "2.0"}, {"hashes": {}}, "repository API version 2.0"),
        ({"api-version": "0.9"}, {"hashes": {}}, "repository API version 0.9"),
    ],
)
def test_parse_json_refuses_what_it_cannot_trust(
    meta: dict[str, str], entry: dict[str, Any], words: str
) -> None:
    file = {"filename": "a-1-py3-none-any.whl", "url": "https://h/a-1-py3-none-any.whl", **entry}
    body = json.dumps({"meta": meta, "name": "a", "files": [file]})
    with pytest.raises(ValueError, match=words):
        parse_json(body, PAGE, "a")


def test_parse_html_refuses_an_unknown_major_api_version() -> None:
    head = '<meta name="pypi:repository-version" content="{}">'
    link = '<a href="https://h/a-1.tar.gz">a-1.tar.gz</a>'
    assert len(parse_html(head.format("1.4") + link, PAGE, "a").files) == 1
    with pytest.raises(ValueError, match="repository API version 2.1"):
        parse_html(head.format("2.1") + link, PAGE, "a")


def test_parse_json_reads_every_file_of_a_big_page() -> None:
    """Speed is measured in benchmarks/, never asserted here (a loaded machine fails it)."""
    files = [
        {
            "filename": f"botocore-1.{i}.0-py3-none-any.whl",
            "url": f"{FILES_HOST}{'e' * 60}/botocore-1.{i}.0-py3-none-any.whl",
            "hashes": {"sha256": SHA},
            "requires-python": ">= 3.8",
            "core-metadata": {"sha256": META_SHA},
            "data-dist-info-metadata": {"sha256": META_SHA},
            "size": 12345678,
            "upload-time": "2024-01-01T00:00:00.000000Z",
            "yanked": False,
        }
        for i in range(5000)
    ]
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "botocore", "files": files}).encode()
    page = parse_json(body, PAGE, "botocore")
    assert len(page.files) == 5000
    assert page.files[-1].metadata_hashes == {"sha256": META_SHA}


# ---------------------------------------------------------------- HTML

HTML_PYPI = f"""<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="1.1">
    <title>Links for requests</title>
  </head>
  <body>
    <h1>Links for requests</h1>
    <a href="{FILES_HOST}requests-0.2.0.tar.gz#sha256={SHA}" >requests-0.2.0.tar.gz</a><br />
    <a href="{FILES_HOST}requests-2.31.0-py3-none-any.whl#sha256={SHA}" data-requires-python="&gt;=3.7" data-dist-info-metadata="sha256={META_SHA}" data-core-metadata="sha256={META_SHA}">requests-2.31.0-py3-none-any.whl</a><br />
    <a href="{FILES_HOST}requests-2.32.0.tar.gz#sha256={SHA}" data-requires-python="&gt;=3.8" data-yanked="Yanked due to conflicts &amp; such">requests-2.32.0.tar.gz</a><br />
    <a href="../../p/requests-2.32.1.tar.gz#md5=abc" data-yanked>requests-2.32.1.tar.gz</a><br />
    <a href="/p/requests-2.32.2.tar.gz" data-yanked="" data-core-metadata="true">requests-2.32.2.tar.gz</a>
  </body>
</html>
<!--SERIAL 21596339-->
"""

HTML_PYPI_FILES = [
    DistFile("requests-0.2.0.tar.gz", FILES_HOST + "requests-0.2.0.tar.gz", {"sha256": SHA}),
    DistFile(
        "requests-2.31.0-py3-none-any.whl",
        FILES_HOST + "requests-2.31.0-py3-none-any.whl",
        {"sha256": SHA},
        requires_python=">=3.7",
        metadata_hashes={"sha256": META_SHA},
    ),
    DistFile(
        "requests-2.32.0.tar.gz",
        FILES_HOST + "requests-2.32.0.tar.gz",
        {"sha256": SHA},
        requires_python=">=3.8",
        yanked="Yanked due to conflicts & such",
    ),
    DistFile(
        "requests-2.32.1.tar.gz",
        "https://pypi.org/p/requests-2.32.1.tar.gz",
        {"md5": "abc"},
        yanked="",
    ),
    DistFile(
        "requests-2.32.2.tar.gz",
        "https://pypi.org/p/requests-2.32.2.tar.gz",
        {},
        yanked="",
        metadata_hashes={},
    ),
]


def test_parse_html_pypi_page() -> None:
    page = parse_html(HTML_PYPI, PAGE, "Requests")
    assert_same_page(page, ProjectPage("requests", tuple(HTML_PYPI_FILES), PAGE))


@pytest.mark.parametrize(
    ("attrs", "want"),
    [
        ("", None),
        ('data-core-metadata="true"', {}),
        ('data-core-metadata="TRUE"', {}),
        ('data-dist-info-metadata="true"', {}),
        ('data-dist-info-metadata="sha256=ab"', {"sha256": "ab"}),
        ('data-core-metadata="sha256=cd" data-dist-info-metadata="sha256=ab"', {"sha256": "cd"}),
        ('data-core-metadata="false"', None),
        ('data-core-metadata="nonsense"', None),
    ],
)
def test_parse_html_metadata_variants(attrs: str, want: dict[str, str] | None) -> None:
    page = parse_html(f'<a href="a-1-py3-none-any.whl" {attrs}>a-1-py3-none-any.whl</a>', PAGE, "a")
    assert page.files[0].metadata_hashes == want


@pytest.mark.parametrize(
    ("attrs", "want"),
    [
        ("", None),
        ("data-yanked", ""),
        ('data-yanked=""', ""),
        ('data-yanked="bad &lt;build&gt;"', "bad <build>"),
    ],
)
def test_parse_html_yanked_variants(attrs: str, want: str | None) -> None:
    page = parse_html(f'<a href="a-1.tar.gz" {attrs}>a-1.tar.gz</a>', PAGE, "a")
    assert page.files[0].yanked == want


def test_parse_html_base_href_applies_to_all_anchors() -> None:
    text = """<html><body>
    <a href="a-1.tar.gz">a-1.tar.gz</a>
    <base href="/mirror/files/">
    <base href="https://ignored.example/">
    <a href="sub/a-2.tar.gz#sha256=00">a-2.tar.gz</a>
    <a href="https://other.example/a-3.tar.gz">a-3.tar.gz</a>
    </body></html>"""
    page = parse_html(text, "https://example.org/simple/a/", "a")
    assert [f.url for f in page.files] == [
        "https://example.org/mirror/files/a-1.tar.gz",
        "https://example.org/mirror/files/sub/a-2.tar.gz",
        "https://other.example/a-3.tar.gz",
    ]
    assert page.files[1].hashes == {"sha256": "00"}


def test_parse_html_relative_urls_and_missing_text() -> None:
    text = '<a href="../../packages/a%2Bb-1.0.tar.gz"></a><a>no href</a><a href="">empty</a>'
    page = parse_html(text, "https://example.org/simple/a-b/", "a-b")
    assert len(page.files) == 1
    assert page.files[0].url == "https://example.org/packages/a%2Bb-1.0.tar.gz"
    assert page.files[0].filename == "a+b-1.0.tar.gz"


def test_parse_html_non_hash_fragment_is_dropped() -> None:
    page = parse_html('<a href="a-1.tar.gz#egg=a">a-1.tar.gz</a>', PAGE, "a")
    assert page.files[0].url == PAGE + "a-1.tar.gz"
    assert page.files[0].hashes == {}


def test_parse_html_reads_every_file_of_a_big_page() -> None:
    """Speed is measured in benchmarks/, never asserted here (a loaded machine fails it)."""
    row = (
        '<a href="https://files.example/packages/ab/cd/{e}/botocore-1.{i}.0-py3-none-any.whl'
        '#sha256={sha}" data-requires-python="&gt;= 3.8" data-dist-info-metadata="sha256={sha}"'
        ' data-core-metadata="sha256={sha}">botocore-1.{i}.0-py3-none-any.whl</a><br />\n'
    )
    body = "".join(row.format(e="e" * 60, i=i, sha=SHA) for i in range(10_000))
    text = f"<html><body><h1>Links for botocore</h1>\n{body}</body></html>"
    assert len(text) > 2_000_000
    page = parse_html(text, PAGE, "botocore")
    assert len(page.files) == 10_000
    assert page.files[-1].requires_python == ">= 3.8"


# ---------------------------------------------------------------- dispatch


@pytest.mark.parametrize(
    ("content_type", "is_json"),
    [
        ("application/vnd.pypi.simple.v1+json", True),
        ("application/vnd.pypi.simple.v1+json; charset=utf-8", True),
        ("Application/Vnd.Pypi.Simple.V1+JSON", True),
        ("application/json", True),
        ("application/vnd.pypi.simple.v1+html", False),
        ("text/html; charset=utf-8", False),
        ("", False),
    ],
)
def test_content_type_is_json(content_type: str, is_json: bool) -> None:
    assert content_type_is_json(content_type) is is_json


def test_parse_page_dispatches() -> None:
    as_json = json.dumps(
        {
            "meta": {},
            "name": "a",
            "files": [{"filename": "a-1.tar.gz", "url": "a-1.tar.gz", "hashes": {}}],
        }
    )
    as_html = '<a href="a-1.tar.gz">a-1.tar.gz</a>'
    for body, ctype in [
        (as_json.encode(), "application/vnd.pypi.simple.v1+json"),
        (as_html.encode(), "text/html"),
    ]:
        page = parse_page(body, ctype, PAGE, "a")
        assert page.files == (DistFile("a-1.tar.gz", PAGE + "a-1.tar.gz"),)


def test_accept_header_prefers_json() -> None:
    assert ACCEPT.startswith("application/vnd.pypi.simple.v1+json,")
    assert "text/html;q=0.01" in ACCEPT


# ---------------------------------------------------------------- find-links


def test_parse_find_links_html_keeps_only_dists() -> None:
    text = """<html><body>
    <a href="../">Parent Directory</a>
    <a href="README.txt">README.txt</a>
    <a href="pkg-1.0-py3-none-any.whl#sha256=00">pkg-1.0-py3-none-any.whl</a>
    <a href="dl?id=3">pkg-2.0.tar.gz</a>
    <a href="files/pkg-3.0.zip">download</a>
    <a href="pkg-0.1.win32.exe">pkg-0.1.win32.exe</a>
    <a href="pkg-0.1-py2.7.egg">egg</a>
    </body></html>"""
    found = parse_find_links_html(text, "https://example.org/links/")
    assert [(f.filename, f.url) for f in found] == [
        ("pkg-1.0-py3-none-any.whl", "https://example.org/links/pkg-1.0-py3-none-any.whl"),
        ("pkg-2.0.tar.gz", "https://example.org/links/dl?id=3"),
        ("pkg-3.0.zip", "https://example.org/links/files/pkg-3.0.zip"),
    ]
    assert found[0].hashes == {"sha256": "00"}


def test_files_from_directory(tmp_path: Path) -> None:
    for name in ["b-1.0.tar.gz", "a-1.0-py3-none-any.whl", "notes.txt", "c-1.0.exe", "d-1.zip"]:
        (tmp_path / name).write_bytes(b"x" * len(name))
    (tmp_path / "sub-1.0.tar.gz").mkdir()
    found = files_from_directory(tmp_path)
    assert [f.filename for f in found] == ["a-1.0-py3-none-any.whl", "b-1.0.tar.gz", "d-1.zip"]
    assert found[0].url == (tmp_path / "a-1.0-py3-none-any.whl").resolve().as_uri()
    assert found[0].url.startswith("file:///")
    assert found[1].size == len("b-1.0.tar.gz")


# ---------------------------------------------------------------- filenames


@pytest.mark.parametrize(
    ("filename", "project", "want"),
    [
        ("requests-2.31.0-py3-none-any.whl", None, ("requests", "2.31.0")),
        ("Django-4.2-py3-none-any.whl", None, ("django", "4.2")),
        (
            "zope.interface-6.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            None,
            ("zope-interface", "6.0"),
        ),
        ("pkg-1.0-1-py3-none-any.whl", None, ("pkg", "1.0")),  # build tag
        ("Django-4.2.tar.gz", None, ("django", "4.2")),
        ("Django-4.2.zip", "django", ("django", "4.2")),
        ("python-dateutil-2.8.2.tar.gz", None, ("python-dateutil", "2.8.2")),
        ("python-dateutil-2.8.2.tar.gz", "python_dateutil", ("python-dateutil", "2.8.2")),
        ("python_dateutil-2.8.2.tar.gz", None, ("python-dateutil", "2.8.2")),
        ("foo-bar-1.0-2.tar.gz", "foo-bar", ("foo-bar", "1.0.post2")),
        ("1-2-3.tar.gz", "1-2", ("1-2", "3")),
        ("1-2-3.tar.gz", None, ("1", "2.post3")),  # ambiguous without the project
        ("pkg-1.0rc1.TAR.GZ", None, ("pkg", "1.0rc1")),
        ("pkg-2.0.tar.bz2", None, ("pkg", "2.0")),
        ("pkg-2.0.tgz", None, ("pkg", "2.0")),
        ("other-1.0.tar.gz", "pkg", ("other", "1.0")),  # caller compares names
        ("pkg-1.0.win32.exe", None, None),
        ("pkg-1.0-py2.7.egg", None, None),
        ("pkg-1.0.msi", None, None),
        ("pkg-1.0-1.noarch.rpm", None, None),
        ("pkg.tar.gz", None, None),
        ("pkg-notaversion.tar.gz", None, None),
        ("-1.0.tar.gz", None, None),
        ("bad-wheel.whl", None, None),
        ("pkg-1.0-py3-none-any.whl.metadata", None, None),
    ],
)
def test_dist_name_version(
    filename: str, project: str | None, want: tuple[str, str] | None
) -> None:
    got = dist_name_version(filename, project)
    if want is None:
        assert got is None
    else:
        assert got == (want[0], Version(want[1]))


@pytest.mark.parametrize(
    ("project", "filename"),
    [
        ("django", "Django-4.2.tar.gz"),
        ("foo", "foo-bar-1.0.tar.gz"),
        ("foo", "foo-1.0-2.tar.gz"),
        ("foo-bar", "foo_bar-1.0.zip"),
        ("foo-bar", "foo.bar-2.0rc1.TAR.GZ"),
        ("foo", "foo-notaversion.tar.gz"),
        ("foo", "foo-.tar.gz"),
        ("foo", "foo-1.0.tar"),
        ("a-b", "a--b-1.0.tar.gz"),
    ],
)
def test_file_version_of_sdists_agrees_with_dist_name_version(project: str, filename: str) -> None:
    filenames._file_version.cache_clear()
    found = dist_name_version(filename, project)
    expected = found[1] if found is not None and found[0] == project else None
    assert file_version(project, filename) == expected
