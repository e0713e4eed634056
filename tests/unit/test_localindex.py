"""The local test index: pages, metadata files, ranges, auth, caching, faults, the log."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from tests.conftest import MakeIndex
from tests.support.localindex import HTML_TYPE, JSON_TYPE, LocalIndex, Pkg

FLASK = Pkg(
    "Flask",
    "3.0.0",
    deps=["werkzeug>=3", "click>=8; python_version>='3.8'"],
    extras={"async": ["asgiref>=3.2"]},
    requires_python=">=3.8",
    console_scripts={"flask": "flask:main"},
    upload_time="2024-01-02T03:04:05Z",
)
OLD_FLASK = Pkg("flask", "2.0.0", yanked="broken", sdist=False)
PIP_ACCEPT = f"{JSON_TYPE}, {HTML_TYPE}; q=0.1, text/html; q=0.01"


def get(
    idx: LocalIndex, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on a fresh connection, redirects not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", idx.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def get_json(idx: LocalIndex, path: str) -> dict[str, Any]:
    status, headers, body = get(idx, path, {"Accept": JSON_TYPE})
    assert status == 200 and headers["Content-Type"] == JSON_TYPE
    doc: dict[str, Any] = json.loads(body)
    return doc


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))


def anchors(body: bytes) -> dict[str, dict[str, str | None]]:
    parser = Anchors()
    parser.feed(body.decode("utf-8"))
    return {str(a["href"]).split("#")[0].rsplit("/", 1)[-1]: a for a in parser.anchors}


# --- project pages ------------------------------------------------------------


def test_json_project_page_describes_the_served_files(make_index: MakeIndex) -> None:
    idx = make_index([FLASK, OLD_FLASK])
    doc = get_json(idx, "/simple/flask/")
    assert doc["meta"] == {"api-version": "1.1"} and doc["name"] == "flask"
    assert doc["versions"] == ["2.0.0", "3.0.0"]
    files = {f["filename"]: f for f in doc["files"]}
    assert set(files) == {
        "flask-2.0.0-py3-none-any.whl",
        "flask-3.0.0-py3-none-any.whl",
        "flask-3.0.0.tar.gz",
    }
    for name, item in files.items():
        status, _, body = get(idx, urlsplit(item["url"]).path)
        assert status == 200 and item["size"] == len(body)
        assert item["hashes"] == {"sha256": hashlib.sha256(body).hexdigest()}
        assert idx.file_path(name).read_bytes() == body
    wheel = files["flask-3.0.0-py3-none-any.whl"]
    assert wheel["requires-python"] == ">=3.8" and wheel["yanked"] is False
    assert wheel["upload-time"] == "2024-01-02T03:04:05Z"
    assert wheel["core-metadata"] == wheel["dist-info-metadata"]
    assert set(wheel["core-metadata"]) == {"sha256"}
    assert files["flask-2.0.0-py3-none-any.whl"]["yanked"] == "broken"
    assert "requires-python" not in files["flask-2.0.0-py3-none-any.whl"]
    assert files["flask-3.0.0.tar.gz"]["core-metadata"] is False


def test_html_project_page_carries_the_same_facts(make_index: MakeIndex) -> None:
    idx = make_index([FLASK, OLD_FLASK])
    status, headers, body = get(idx, "/simple/flask/", {"Accept": HTML_TYPE})
    assert status == 200 and headers["Content-Type"] == HTML_TYPE
    assert b'data-requires-python="&gt;=3.8"' in body
    links = anchors(body)
    wheel = links["flask-3.0.0-py3-none-any.whl"]
    assert wheel["href"] == (
        f"{idx.file_url('flask-3.0.0-py3-none-any.whl')}"
        f"#sha256={idx.sha256('flask-3.0.0-py3-none-any.whl')}"
    )
    assert wheel["data-requires-python"] == ">=3.8" and "data-yanked" not in wheel
    metadata_hash = get_json(idx, "/simple/flask/")["files"][1]["core-metadata"]["sha256"]
    assert wheel["data-core-metadata"] == wheel["data-dist-info-metadata"]
    assert wheel["data-core-metadata"] == f"sha256={metadata_hash}"
    assert links["flask-2.0.0-py3-none-any.whl"]["data-yanked"] == "broken"
    assert "data-core-metadata" not in links["flask-3.0.0.tar.gz"]


@pytest.mark.parametrize(
    ("accept", "formats", "expected"),
    [
        (None, ("json", "html"), "text/html; charset=utf-8"),
        (JSON_TYPE, ("json", "html"), JSON_TYPE),
        (PIP_ACCEPT, ("json", "html"), JSON_TYPE),
        (f"{JSON_TYPE}; q=0.1, {HTML_TYPE}", ("json", "html"), HTML_TYPE),
        ("text/html", ("json", "html"), "text/html; charset=utf-8"),
        ("*/*", ("json", "html"), "text/html; charset=utf-8"),
        ("application/*", ("json", "html"), JSON_TYPE),
        ("application/xml", ("json", "html"), "text/html; charset=utf-8"),
        (f"{JSON_TYPE}; q=0", ("json", "html"), "text/html; charset=utf-8"),
        (None, ("json",), JSON_TYPE),
        (PIP_ACCEPT, ("html",), HTML_TYPE),
    ],
)
def test_content_negotiation(
    make_index: MakeIndex, accept: str | None, formats: tuple[str, ...], expected: str
) -> None:
    idx = make_index([FLASK], formats=formats)
    status, headers, _ = get(idx, "/simple/flask/", {"Accept": accept} if accept else {})
    assert status == 200 and headers["Content-Type"] == expected
    assert headers["Vary"] == "Accept"


def test_strict_accept_answers_406(make_index: MakeIndex) -> None:
    idx = make_index([FLASK], formats=("json",), strict_accept=True)
    assert get(idx, "/simple/flask/", {"Accept": "text/html"})[0] == 406
    assert get(idx, "/simple/flask/")[0] == 200


def test_root_listing_redirects_and_not_found(make_index: MakeIndex) -> None:
    idx = make_index([FLASK, Pkg("zope.interface", "6.0")])
    assert get_json(idx, "/simple/")["projects"] == [{"name": "Flask"}, {"name": "zope.interface"}]
    assert set(anchors(get(idx, "/simple/")[2])) == {""}  # hrefs end in "/"
    for path, target in [
        ("/simple/Flask/", "/simple/flask/"),
        ("/simple/flask", "/simple/flask/"),
        ("/simple/Zope.Interface/", "/simple/zope-interface/"),
    ]:
        status, headers, _ = get(idx, path)
        assert (status, headers["Location"]) == (301, target)
    assert get(idx, "/simple/nope/")[0] == 404
    assert get(idx, "/files/nope-1.0.tar.gz")[0] == 404
    with urllib.request.urlopen(idx.url + "/Flask/") as response:  # follows like pip would
        assert response.url == idx.url + "/flask/"


def test_relative_urls_resolve_against_the_page(make_index: MakeIndex) -> None:
    idx = make_index([FLASK], relative_urls=True)
    item = get_json(idx, "/simple/flask/")["files"][0]
    assert item["url"] == f"../../files/{item['filename']}"
    absolute = urljoin(idx.url + "/flask/", item["url"])
    assert absolute == idx.file_url(item["filename"])
    assert get(idx, urlsplit(absolute).path)[0] == 200


# --- metadata files and ranges --------------------------------------------------


def test_metadata_file_matches_the_wheel(make_index: MakeIndex) -> None:
    idx = make_index([FLASK])
    wheel = "flask-3.0.0-py3-none-any.whl"
    status, _, body = get(idx, f"/files/{wheel}.metadata")
    assert status == 200
    with zipfile.ZipFile(idx.file_path(wheel)) as zf:
        assert body == zf.read("flask-3.0.0.dist-info/METADATA")
    advertised = get_json(idx, "/simple/flask/")["files"][0]["core-metadata"]
    assert advertised == {"sha256": hashlib.sha256(body).hexdigest()}
    text = body.decode()
    assert 'Requires-Dist: asgiref>=3.2; extra == "async"' in text
    assert "Provides-Extra: async" in text and "Requires-Python: >=3.8" in text
    assert get(idx, "/files/flask-3.0.0.tar.gz.metadata")[0] == 404


def test_metadata_files_switched_off(make_index: MakeIndex) -> None:
    idx = make_index([FLASK], metadata_files=False)
    item = get_json(idx, "/simple/flask/")["files"][0]
    assert item["core-metadata"] is False and item["dist-info-metadata"] is False
    assert "data-core-metadata" not in get(idx, "/simple/flask/")[2].decode()
    assert get(idx, f"/files/{item['filename']}.metadata")[0] == 404


def test_range_requests_return_exact_bytes(make_index: MakeIndex) -> None:
    idx = make_index([Pkg("big", "1.0", pad_bytes=200_000, sdist=False)])
    name = "big-1.0-py3-none-any.whl"
    data = idx.file_path(name).read_bytes()
    assert len(data) > 200_000
    path = f"/files/{name}"
    for header, start, end in [
        ("bytes=10-19", 10, 19),
        ("bytes=-22", len(data) - 22, len(data) - 1),
        (f"bytes={len(data) - 5}-", len(data) - 5, len(data) - 1),
        (f"bytes=0-{len(data) + 100}", 0, len(data) - 1),
    ]:
        status, headers, body = get(idx, path, {"Range": header})
        assert status == 206 and body == data[start : end + 1]
        assert headers["Content-Range"] == f"bytes {start}-{end}/{len(data)}"
        assert headers["Accept-Ranges"] == "bytes"
    status, headers, _ = get(idx, path, {"Range": f"bytes={len(data)}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(data)}"
    idx.clear_log()
    get(idx, path, {"Range": "bytes=-1000"})
    assert [(r.range, r.status, r.bytes_sent) for r in idx.requests] == [("bytes=-1000", 206, 1000)]


def test_range_requests_switched_off(make_index: MakeIndex) -> None:
    idx = make_index([FLASK], range_requests=False)
    name = "flask-3.0.0-py3-none-any.whl"
    status, headers, body = get(idx, f"/files/{name}", {"Range": "bytes=-22"})
    assert status == 200 and body == idx.file_path(name).read_bytes()
    assert "Accept-Ranges" not in headers and "Content-Range" not in headers


def test_head_request_sends_no_body(make_index: MakeIndex) -> None:
    idx = make_index([FLASK])
    name = "flask-3.0.0-py3-none-any.whl"
    status, headers, body = get(idx, f"/files/{name}", method="HEAD")
    assert (status, body) == (200, b"")
    assert int(headers["Content-Length"]) == idx.file_path(name).stat().st_size


# --- auth and caching -----------------------------------------------------------


def test_basic_auth_is_required_everywhere(make_index: MakeIndex) -> None:
    idx = make_index([FLASK], auth=("alice", "s3cr@t"))
    assert idx.url_with_auth == f"http://alice:s3cr%40t@127.0.0.1:{idx.port}/simple"
    for path in ("/simple/", "/simple/flask/", "/files/flask-3.0.0.tar.gz"):
        status, headers, _ = get(idx, path)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic ")
    bad = {"Authorization": "Basic " + _b64("alice:wrong")}
    assert get(idx, "/simple/flask/", bad)[0] == 401
    good = {"Authorization": "Basic " + _b64("alice:s3cr@t")}
    assert get(idx, "/simple/flask/", good)[0] == 200
    assert get(idx, "/files/flask-3.0.0.tar.gz", good)[0] == 200


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def test_cache_headers_and_conditional_requests(make_index: MakeIndex) -> None:
    idx = make_index([FLASK], cache_headers="max-age=600")
    status, headers, body = get(idx, "/simple/flask/", {"Accept": JSON_TYPE})
    assert status == 200 and headers["Cache-Control"] == "max-age=600"
    etag, modified = headers["ETag"], headers["Last-Modified"]
    conditional = {"Accept": JSON_TYPE, "If-None-Match": etag}
    status, headers, body = get(idx, "/simple/flask/", conditional)
    assert (status, body, headers["ETag"]) == (304, b"", etag)
    html_etag = get(idx, "/simple/flask/", {"Accept": HTML_TYPE, "If-None-Match": etag})
    assert html_etag[0] == 200  # another representation, another ETag
    assert get(idx, "/simple/flask/", {"If-Modified-Since": modified})[0] == 304
    plain = make_index([FLASK])
    headers = get(plain, "/simple/flask/")[1]
    assert "ETag" not in headers and "Cache-Control" not in headers


# --- faults -------------------------------------------------------------------


def test_fault_http_500_hits_only_matching_paths(make_index: MakeIndex) -> None:
    idx = make_index([FLASK])
    idx.inject_fault("500", times=2, match="/files/")
    assert get(idx, "/simple/flask/")[0] == 200
    wheel = "/files/flask-3.0.0-py3-none-any.whl"
    assert [get(idx, wheel)[0] for _ in range(3)] == [500, 500, 200]
    assert [r.fault for r in idx.requests] == [None, "500", "500", None]


def test_fault_reset_closes_without_response(make_index: MakeIndex) -> None:
    idx = make_index([FLASK])
    idx.inject_fault("reset")
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        get(idx, "/simple/flask/")
    assert get(idx, "/simple/flask/")[0] == 200
    assert [(r.status, r.fault) for r in idx.requests] == [(None, "reset"), (200, None)]


def test_fault_slow_delays_the_answer(make_index: MakeIndex) -> None:
    idx = make_index([FLASK])
    idx.inject_fault("slow", times=2, delay=0.4)
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        urllib.request.urlopen(idx.url + "/flask/", timeout=0.1)
    started = time.monotonic()
    assert get(idx, "/simple/flask/")[0] == 200
    assert time.monotonic() - started >= 0.35


def test_fault_truncate_sends_half_the_body(make_index: MakeIndex) -> None:
    idx = make_index([FLASK])
    idx.inject_fault("truncate", match=".whl")
    name = "flask-3.0.0-py3-none-any.whl"
    with pytest.raises(http.client.IncompleteRead):
        get(idx, f"/files/{name}")
    size = idx.file_path(name).stat().st_size
    assert idx.requests[-1].bytes_sent == size // 2
    assert get(idx, f"/files/{name}")[2] == idx.file_path(name).read_bytes()


def test_fault_kind_is_validated(make_index: MakeIndex) -> None:
    idx = make_index()
    with pytest.raises(ValueError):
        idx.inject_fault("explode")


# --- a living index -------------------------------------------------------------


def test_packages_added_removed_and_yanked_after_start(make_index: MakeIndex) -> None:
    idx = make_index([FLASK])
    assert get(idx, "/simple/werkzeug/")[0] == 404
    idx.add(Pkg("werkzeug", "3.0.1"), Pkg("werkzeug", "3.0.2", sdist=False))
    versions = get_json(idx, "/simple/werkzeug/")["versions"]
    assert versions == ["3.0.1", "3.0.2"]
    assert (idx.files_dir / "werkzeug-3.0.2-py3-none-any.whl").is_file()
    idx.yank("werkzeug", "3.0.2", "security")
    yanked = {f["filename"]: f["yanked"] for f in get_json(idx, "/simple/werkzeug/")["files"]}
    assert yanked["werkzeug-3.0.2-py3-none-any.whl"] == "security"
    idx.remove("werkzeug", "3.0.1")
    assert get_json(idx, "/simple/werkzeug/")["versions"] == ["3.0.2"]
    assert not (idx.files_dir / "werkzeug-3.0.1.tar.gz").exists()
    idx.remove("werkzeug")
    assert get(idx, "/simple/werkzeug/")[0] == 404


def test_several_indexes_at_once(make_index: MakeIndex) -> None:
    first = make_index([FLASK])
    second = make_index([Pkg("flask", "9.9")], auth=("u", "p"))
    assert first.port != second.port and first.files_dir != second.files_dir
    assert get_json(first, "/simple/flask/")["versions"] == ["3.0.0"]
    assert get(second, "/simple/flask/")[0] == 401
    assert second.requests and not [r for r in first.requests if r.status == 401]


@pytest.mark.parametrize(
    "switches",
    [
        {"auth": ("u", "p")},
        {"formats": ("html",), "relative_urls": True, "metadata_files": False},
    ],
    ids=["json-auth-pep658", "html-relative"],
)
def test_pip_installs_from_the_index(
    make_index: MakeIndex, tmp_path: Path, switches: dict[str, Any]
) -> None:
    """A real client resolves against the index: the pages are what pip expects."""
    idx = make_index(
        [FLASK, OLD_FLASK, Pkg("werkzeug", "3.0.1"), Pkg("click", "8.1.7")], **switches
    )
    env = {**os.environ, "PIP_CONFIG_FILE": "/dev/null", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    command = [sys.executable, "-m", "pip", "install", "--isolated", "--no-cache-dir",
               "--quiet", "--ignore-installed", "--index-url", idx.url_with_auth,
               "--prefix", str(tmp_path), "flask"]  # fmt: skip
    subprocess.run(command, env=env, check=True, capture_output=True)
    downloaded = {r.path.rsplit("/", 1)[-1] for r in idx.requests if r.path.startswith("/files/")}
    wheels = {"flask-3.0.0-py3-none-any.whl", "werkzeug-3.0.1-py3-none-any.whl",
              "click-8.1.7-py3-none-any.whl"}  # fmt: skip
    if switches.get("metadata_files", True):
        assert downloaded == wheels | {f"{w}.metadata" for w in wheels}
    else:
        assert downloaded == wheels


def test_close_stops_serving() -> None:
    with LocalIndex([FLASK]) as idx:
        port = idx.port
        assert get(idx, "/simple/")[0] == 200
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
