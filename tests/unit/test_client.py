"""The index client against the local index: formats, indexes, auth, faults, page cache."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest

from tests.support.localindex import LocalIndex, Pkg
from xv import envelope
from xv.cache import Cache
from xv.errors import HashMismatchError, NetworkError, OfflineError, UsageError
from xv.index import http as http_module
from xv.index.client import IndexClient, IndexSettings, client_for
from xv.index.filenames import dist_name_version
from xv.index.http import split_credentials
from xv.index.simple import DistFile
from xv.urls import redact as redact_url

MakeIndex = Callable[..., LocalIndex]


def settings(*indexes: str, **kw: Any) -> IndexSettings:
    """Settings for local indexes: the first given is the default index, the rest extras."""
    kw.setdefault("backoff", 0.01)
    kw.setdefault("timeout", 5.0)
    return IndexSettings(index_url=indexes[0], extra_index_urls=tuple(indexes[1:]), **kw)


def client(s: IndexSettings, cache_dir: Path) -> IndexClient:
    return IndexClient(s, Cache(cache_dir))


def page_requests(idx: LocalIndex, wait_for: int = 0) -> list[Any]:
    """Page requests in the log; waits (briefly) for slow handlers to log theirs."""
    deadline = time.monotonic() + 5
    while True:
        found = [r for r in idx.requests if r.path.startswith("/simple/")]
        if len(found) >= wait_for or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


# --- pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_page_in_each_format(make_index: MakeIndex, tmp_path: Path, fmt: str) -> None:
    idx = make_index(
        [Pkg("Foo.Bar", "1.0", requires_python=">=3.8"), Pkg("foo-bar", "2.0", yanked="broken")],
        formats=(fmt,),
    )
    page = client(settings(idx.url), tmp_path).project_page("foo_bar")
    assert page is not None and page.name == "foo-bar"
    by_name = {f.filename: f for f in page.files}
    assert set(by_name) == {e.filename for e in idx.entries("foo-bar")}
    wheel = by_name["foo_bar-1.0-py3-none-any.whl"]
    assert wheel.requires_python == ">=3.8"
    assert wheel.hashes["sha256"] == idx.sha256(wheel.filename)
    assert wheel.url == idx.file_url(wheel.filename)
    assert by_name["foo_bar-2.0.tar.gz"].yanked == "broken"
    assert not wheel.is_yanked


def test_unknown_project_is_none(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")])
    assert client(settings(idx.url), tmp_path).project_page("nope") is None


def test_project_pages_many_at_once(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg(f"p{i}", "1.0") for i in range(12)])
    names = [f"P{i}" for i in range(12)] + ["missing"]
    pages = client(settings(idx.url), tmp_path).project_pages(names)
    assert set(pages) == set(names)
    assert pages["missing"] is None
    assert [page.name if page else None for page in map(pages.get, names[:12])] == [
        f"p{i}" for i in range(12)
    ]
    assert len(page_requests(idx)) == 13


def test_unknown_strategy_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        IndexSettings(index_strategy="best")  # type: ignore[arg-type]


def test_settings_pickle_and_timeout_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XV_HTTP_TIMEOUT", "7.5")
    s = IndexSettings()
    assert s.timeout == 7.5
    assert pickle.loads(pickle.dumps(s)) == s
    assert s.indexes == ("https://pypi.org/simple",)


# --- several indexes and find-links ----------------------------------------------------


def test_extra_index_has_priority_with_first_index(make_index: MakeIndex, tmp_path: Path) -> None:
    main = make_index([Pkg("a", "1.0"), Pkg("only-main", "1.0")])
    extra = make_index([Pkg("a", "2.0")])
    c = client(settings(main.url, extra.url), tmp_path)
    page = c.project_page("a")
    assert page is not None and page.index_url == extra.url
    assert {f.filename for f in page.files} == {"a-2.0-py3-none-any.whl", "a-2.0.tar.gz"}
    assert page_requests(main) == []  # the extra index had it: the default is not asked
    fallback = c.project_page("only-main")
    assert fallback is not None and fallback.index_url == main.url


@pytest.mark.parametrize("strategy", ["unsafe-best-match", "unsafe-first-match"])
def test_unsafe_strategies_merge(make_index: MakeIndex, tmp_path: Path, strategy: str) -> None:
    main = make_index([Pkg("a", "1.0"), Pkg("a", "3.0")])
    extra = make_index([Pkg("a", "2.0"), Pkg("a", "3.0", deps=["x"])])
    page = client(settings(main.url, extra.url, index_strategy=strategy), tmp_path).project_page(
        "a"
    )
    assert page is not None
    named = [dist_name_version(f.filename) for f in page.files]
    versions = sorted({str(n[1]) for n in named if n is not None})
    assert None not in named
    assert versions == ["1.0", "2.0", "3.0"]
    same = [f for f in page.files if f.filename == "a-3.0-py3-none-any.whl"]
    assert len(same) == 1 and same[0].url.startswith(extra.base_url)  # priority wins


def test_find_links_directory_is_always_added(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")])
    local = make_index([Pkg("a", "9.0"), Pkg("b", "1.0", sdist=False)])
    s = settings(idx.url, find_links=(str(local.files_dir),))
    c = client(s, tmp_path / "cache")
    page = c.project_page("a")
    assert page is not None
    assert {f.filename for f in page.files} >= {"a-1.0.tar.gz", "a-9.0-py3-none-any.whl"}
    only_local = c.project_page("b")
    assert only_local is not None
    assert [f.filename for f in only_local.files] == ["b-1.0-py3-none-any.whl"]
    assert only_local.files[0].url.startswith("file://")
    dest = c.download(only_local.files[0], tmp_path / "dl")
    assert dest.read_bytes() == local.file_path("b-1.0-py3-none-any.whl").read_bytes()


def test_no_index_uses_find_links_only(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")])
    s = settings(idx.url, no_index=True, find_links=(str(idx.files_dir),))
    page = client(s, tmp_path).project_page("a")
    assert page is not None and len(page.files) == 2
    assert idx.requests == []


def test_find_links_html_page(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0"), Pkg("b", "2.0")], formats=("html",))
    # The root page links to project pages, not files; a project page works as find-links.
    s = settings(idx.url, no_index=True, find_links=(idx.url + "/b/",))
    page = client(s, tmp_path).project_page("b")
    assert page is not None
    assert {f.filename for f in page.files} == {"b-2.0-py3-none-any.whl", "b-2.0.tar.gz"}


# --- auth -------------------------------------------------------------------------------


def test_credentials_in_url_apply_to_pages_and_files(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")], auth=("alice", "s3cr3t"))
    c = client(settings(idx.url_with_auth), tmp_path)
    page = c.project_page("a")
    assert page is not None
    assert all("s3cr3t" not in f.url and "alice" not in f.url for f in page.files)
    wheel = next(f for f in page.files if f.is_wheel)
    assert c.download(wheel, tmp_path / "dl").stat().st_size == wheel.size
    assert all(r.status == 200 for r in idx.requests)


def test_missing_credentials_fail_clearly(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")], auth=("alice", "s3cr3t"))
    bad = idx.url_with_auth.replace("s3cr3t", "wrong")
    with pytest.raises(NetworkError) as info:
        client(settings(bad), tmp_path).project_page("a")
    assert "401" in str(info.value)
    assert "wrong" not in str(info.value) and "wrong" not in str(info.value.url)


def test_netrc_credentials(
    make_index: MakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx = make_index([Pkg("a", "1.0")], auth=("bob", "pw-from-netrc"))
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login bob password pw-from-netrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    page = client(settings(idx.url), tmp_path / "cache").project_page("a")
    assert page is not None and len(page.files) == 2


def test_redaction() -> None:
    assert (
        redact_url("http://u:p@h:1/x and https://t@h2/y")
        == "http://u:****@h:1/x and https://****@h2/y"
    )
    assert split_credentials("https://h/simple") == ("https://h/simple", None)


# --- faults and retries -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "reset", "truncate", "slow"])
def test_fault_retried_then_success(make_index: MakeIndex, tmp_path: Path, kind: str) -> None:
    idx = make_index([Pkg("a", "1.0")])
    idx.inject_fault(kind, times=2, match="/simple/", delay=1.5)
    s = settings(idx.url, retries=2, timeout=0.5)
    page = client(s, tmp_path).project_page("a")
    assert page is not None and len(page.files) == 2
    assert len(page_requests(idx, wait_for=3)) == 3


@pytest.mark.parametrize("kind", ["500", "reset", "truncate", "slow"])
def test_fault_persists_then_network_error(
    make_index: MakeIndex, tmp_path: Path, kind: str
) -> None:
    idx = make_index([Pkg("a", "1.0")], auth=("u", "hidden-pw"))
    idx.inject_fault(kind, times=10, match="/simple/", delay=1.5)
    s = settings(idx.url_with_auth, retries=2, timeout=0.5)
    with pytest.raises(NetworkError) as info:
        client(s, tmp_path).project_page("a")
    message = str(info.value)
    assert "after 3 attempt(s)" in message and "/simple/a/" in message
    assert "hidden-pw" not in message
    assert len(page_requests(idx, wait_for=3)) == 3


def test_429_is_retried_after_the_wait_it_asks_for(
    make_index: MakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx = make_index([Pkg("a", "1.0")])
    idx.inject_fault("429", times=2, match="/simple/", delay=7)
    idx.inject_fault("429", times=1, match="/files/", delay=500)
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)  # the module xv.index.http calls
    c = client(settings(idx.url, retries=3), tmp_path)
    page = c.project_page("a")
    assert page is not None and len(page_requests(idx, wait_for=3)) == 3
    wheel = next(f for f in page.files if f.is_wheel)
    c.download(wheel, tmp_path / "dl")
    assert slept == [7.0, 7.0, http_module.MAX_RETRY_AFTER]  # a long wait is bounded
    idx.inject_fault("429", times=10, match="/simple/b", delay=0)
    with pytest.raises(NetworkError, match="429"):
        client(settings(idx.url, retries=1), tmp_path / "other").project_page("b")


def test_4xx_is_not_retried(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")])
    idx.inject_fault("403", times=5, match="/simple/")
    with pytest.raises(NetworkError, match="403"):
        client(settings(idx.url), tmp_path).project_page("a")
    assert len(page_requests(idx)) == 1


def test_download_retries_truncation_and_verifies(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0", pad_bytes=200_000)])
    c = client(settings(idx.url), tmp_path / "cache")
    page = c.project_page("a")
    assert page is not None
    wheel = next(f for f in page.files if f.is_wheel)
    idx.inject_fault("truncate", times=1, match="/files/")
    path = c.download(wheel, tmp_path / "dl")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == wheel.hashes["sha256"]
    bad = DistFile(wheel.filename, wheel.url, hashes={"sha256": "0" * 64})
    with pytest.raises(HashMismatchError):
        c.download(bad, tmp_path / "dl2")
    assert not (tmp_path / "dl2").exists() or list((tmp_path / "dl2").iterdir()) == []


# --- the page cache ---------------------------------------------------------------------


def test_fresh_page_makes_no_request(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")])
    first = client(settings(idx.url), tmp_path).project_page("a")
    idx.clear_log()
    second = client(settings(idx.url), tmp_path).project_page("a")
    assert second == first
    assert idx.requests == []


def test_a_page_read_for_one_version_is_not_cached(make_index: MakeIndex, tmp_path: Path) -> None:
    """project_page(version=...): a fetched page is read for that version alone and not
    cached (a partial page must never answer for the whole); a fresh cached page answers
    as usual, and --refresh reads (and caches) the whole page."""
    from packaging.version import Version

    idx = make_index([Pkg("a", "1.0"), Pkg("a", "2.0")])
    page = client(settings(idx.url), tmp_path).project_page("a", version=Version("1.0"))
    assert page is not None
    assert sorted(f.filename for f in page.files) == ["a-1.0-py3-none-any.whl", "a-1.0.tar.gz"]
    idx.clear_log()
    whole = client(settings(idx.url), tmp_path).project_page("a")  # not from the cache
    assert [r.status for r in page_requests(idx)] == [200]
    assert whole is not None and len(whole.files) == 4
    idx.clear_log()
    again = client(settings(idx.url), tmp_path).project_page("a", version=Version("2.0"))
    assert page_requests(idx) == []  # the whole page, cached just now, answers
    assert again is not None
    assert sorted(f.filename for f in again.files) == sorted(f.filename for f in whole.files)
    refreshed = client(settings(idx.url, refresh=True), tmp_path / "r")
    assert refreshed.project_page("a", version=Version("1.0")) is not None
    idx.clear_log()
    assert client(settings(idx.url), tmp_path / "r").project_page("a") is not None
    assert page_requests(idx) == []  # --refresh read the whole page and cached it


def test_missing_project_is_cached_too(make_index: MakeIndex, tmp_path: Path) -> None:
    main = make_index([Pkg("a", "1.0")])
    extra = make_index([Pkg("b", "1.0")])
    s = settings(main.url, extra.url)
    assert client(s, tmp_path).project_page("a") is not None
    extra.clear_log()
    main.clear_log()
    assert client(s, tmp_path).project_page("a") is not None
    assert extra.requests == [] and main.requests == []


def test_stale_page_is_revalidated(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")], cache_headers="max-age=600")
    s = settings(idx.url, default_ttl=0)
    client(s, tmp_path).project_page("a")
    idx.clear_log()
    assert client(s, tmp_path).project_page("a") is not None
    assert idx.requests == []  # the server's max-age wins over default_ttl
    idx.clear_log()
    page = client(settings(idx.url, refresh=True), tmp_path).project_page("a")
    [record] = idx.requests
    assert record.status == 304 and "If-None-Match" in record.headers
    assert page is not None and len(page.files) == 2


def test_expired_page_without_validators_is_refetched(
    make_index: MakeIndex, tmp_path: Path
) -> None:
    idx = make_index([Pkg("a", "1.0")])
    s = settings(idx.url, default_ttl=0)
    client(s, tmp_path).project_page("a")
    idx.add(Pkg("a", "2.0"))
    idx.clear_log()
    page = client(s, tmp_path).project_page("a")
    assert [r.status for r in idx.requests] == [200]
    assert page is not None and len(page.files) == 4


def test_no_cache_directive_always_revalidates(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")], cache_headers="no-cache")
    client(settings(idx.url), tmp_path).project_page("a")
    idx.clear_log()
    client(settings(idx.url), tmp_path).project_page("a")
    assert [r.status for r in idx.requests] == [304]


def test_no_store_is_not_kept(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")], cache_headers="no-store")
    client(settings(idx.url), tmp_path).project_page("a")
    with pytest.raises(OfflineError):
        client(settings(idx.url, offline=True), tmp_path).project_page("a")


def test_offline(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")])
    with pytest.raises(OfflineError, match="not in the cache: a"):
        client(settings(idx.url, offline=True), tmp_path).project_page("a")
    online = client(settings(idx.url), tmp_path).project_page("a")
    idx.clear_log()
    offline = client(settings(idx.url, offline=True, default_ttl=0), tmp_path).project_page("a")
    assert offline == online
    assert idx.requests == []


def test_corrupt_cache_entry_is_refetched(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")])
    s = settings(idx.url)
    first = client(s, tmp_path).project_page("a")
    entries = [p for p in (tmp_path / "simple-v2").rglob("*") if p.is_file()]
    assert len(entries) == 1
    entries[0].write_bytes(b"\x00garbage")
    idx.clear_log()
    assert client(s, tmp_path).project_page("a") == first
    assert len(idx.requests) == 1
    # Well-formed msgpack of the wrong shape is a miss too.
    entries = [p for p in (tmp_path / "simple-v2").rglob("*") if p.is_file()]
    entries[0].write_bytes(
        msgpack.packb([envelope._MAGIC, envelope._ENVELOPE_VERSION, {"what": 1}])
    )
    idx.clear_log()
    assert client(s, tmp_path).project_page("a") == first
    assert len(idx.requests) == 1


def test_client_for_is_per_process(tmp_path: Path) -> None:
    s = IndexSettings(index_url="http://127.0.0.1:9/simple")
    one = client_for(s, Cache(tmp_path))
    assert client_for(s, Cache(str(tmp_path))) is one  # an equal cache: the same client
    assert client_for(s, Cache(None)) is not one


def test_relative_file_urls_resolve_against_the_page(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")], relative_urls=True, auth=("u", "pw"))
    c = client(settings(idx.url_with_auth), tmp_path)
    page = c.project_page("a")
    assert page is not None
    assert {f.url for f in page.files} == {idx.file_url(e.filename) for e in idx.entries("a")}
    wheel = next(f for f in page.files if f.is_wheel)
    assert c.download(wheel, tmp_path / "dl").stat().st_size == wheel.size


def test_trusted_hosts_and_auth_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine idx.test login n password from-netrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    s = IndexSettings(
        index_url="https://user:from-url@idx.test/simple",
        trusted_hosts=("self-signed.test", "other.test:8443"),
        cert=str(tmp_path / "ca.pem"),
    )
    http = IndexClient(s, Cache(None)).http
    assert http.verify_for("https://self-signed.test/simple/a/") is False
    assert http.verify_for("https://other.test:8443/x") is False
    assert http.verify_for("https://other.test/x") == str(tmp_path / "ca.pem")
    # URL credentials apply to the index's origin, before netrc; other ports fall to netrc.
    assert http.auth_for("https://idx.test/files/a.whl") == ("user", "from-url")
    assert http.auth_for("https://idx.test:8443/files/a.whl") == ("n", "from-netrc")
    assert http.auth_for("https://elsewhere.test/x") is None


def test_credentials_in_file_urls_never_reach_the_cache(tmp_path: Path) -> None:
    from xv.index import client as client_module
    from xv.index.metadata import cache_key
    from xv.index.simple import ProjectPage

    secret = "s3cr3t-pw"
    file = DistFile(
        "a-1.0-py3-none-any.whl", f"https://user:{secret}@files.example/a-1.0-py3-none-any.whl"
    )
    page = ProjectPage("a", (file,), "https://index.example/simple")
    bucket = Cache(tmp_path).bucket("simple-v1")
    entry = client_module._PageEntry(page, time.time(), {})
    client_module._write_entry(bucket, "https://index.example/simple/a/", entry)
    assert secret not in cache_key(file)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(secret.encode() not in p.read_bytes() and secret not in str(p) for p in written)
    plain = dataclasses.replace(file, url="https://files.example/a-1.0-py3-none-any.whl")
    entry = client_module._PageEntry(ProjectPage("a", (plain,), "x"), time.time(), {})
    client_module._write_entry(bucket, "https://index.example/simple/a/", entry)
    assert bucket.get("https://index.example/simple/a/") is not None  # others are kept


def test_cache_writes_can_be_deferred(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0")])
    c = client(settings(idx.url), tmp_path)
    deferred: list[Callable[[], object]] = []
    c.defer = deferred.append
    page = c.project_page("a")
    assert page is not None and len(page.files) == 2  # usable before it is written
    assert c.cached_project_page("a") == (True, page)  # this client remembers it
    assert client(settings(idx.url), tmp_path).cached_project_page("a") == (False, None)
    for write in deferred:
        write()
    found, again = client(settings(idx.url), tmp_path).cached_project_page("a")
    assert found and again is not None and list(again.files) == list(page.files)


def test_a_page_found_absent_by_a_look_is_fetched_without_another(
    make_index: MakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resolver looks in the cache (cached_project_page), then fetches: one look each.
    A stale entry is still read for the fetch (its validators go with the request)."""
    from xv.index import client as client_module

    idx = make_index([Pkg("a", "1.0"), Pkg("b", "1.0")])
    looks: list[str] = []
    real = client_module._read_entry

    def counted(bucket: Any, url: str) -> Any:
        looks.append(url.rstrip("/").rsplit("/", 1)[-1])
        return real(bucket, url)

    monkeypatch.setattr(client_module, "_read_entry", counted)
    c = client(settings(idx.url), tmp_path / "cache")
    assert c.cached_project_page("a") == (False, None)
    page = c.project_page("a")
    assert page is not None and looks == ["a"]
    assert len(page_requests(idx, 1)) == 1
    stale = client(settings(idx.url, default_ttl=0), tmp_path / "cache")
    assert stale.cached_project_page("a") == (False, None)  # there, but not fresh
    assert stale.project_page("a") is not None and looks == ["a", "a", "a"]


def test_metadata_looked_for_already_is_fetched_without_another_look(
    make_index: MakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xv.index import metadata

    idx = make_index([Pkg("a", "1.0")])
    c = client(settings(idx.url), tmp_path / "cache")
    page = c.project_page("a")
    assert page is not None
    wheel = next(f for f in page.files if f.is_wheel)
    looks: list[str] = []
    real = metadata.cached_metadata

    def counted(cl: IndexClient, f: DistFile) -> metadata.CoreMetadata | None:
        looks.append(f.filename)
        return real(cl, f)

    monkeypatch.setattr(metadata, "cached_metadata", counted)
    assert isinstance(metadata.get_metadata(c, wheel, looked=True), metadata.CoreMetadata)
    assert looks == []
    assert isinstance(metadata.get_metadata(c, wheel), metadata.CoreMetadata)
    assert looks == [wheel.filename]
