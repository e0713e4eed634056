"""Core metadata: PEP 658 files, range requests, whole downloads, the cache and the pool."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.localindex import LocalIndex, Pkg
from xv.cache import Cache
from xv.errors import MetadataError, NetworkError, OfflineError
from xv.index.client import IndexClient, IndexSettings
from xv.index.metadata import (
    CoreMetadata,
    fetch_metadata_job,
    file_to_plain,
    get_metadata,
    parse_metadata,
    pick_metadata_file,
    prefetch_metadata,
    result_from_plain,
)
from xv.index.simple import DistFile
from xv.pool import PoolKind, WorkerPool
from xv.resolver.pubgrub import Unavailable

MakeIndex = Callable[..., LocalIndex]

PKG = Pkg(
    "Demo.Pkg",
    "1.0",
    deps=["b>=1", "c; python_version < '3.9'"],
    extras={"fast": ["d"]},
    requires_python=">=3.8",
)


def make_client(idx: LocalIndex, cache_dir: Path, **kw: Any) -> IndexClient:
    kw.setdefault("backoff", 0.01)
    return IndexClient(IndexSettings(index_url=idx.url, **kw), Cache(cache_dir))


def wheel_of(client: IndexClient, name: str) -> DistFile:
    page = client.project_page(name)
    assert page is not None
    return next(f for f in page.files if f.is_wheel)


def expected(pkg: Pkg) -> CoreMetadata:
    return parse_metadata(pkg.metadata_text().encode(), pkg.name)


def file_requests(idx: LocalIndex) -> list[Any]:
    return [r for r in idx.requests if r.path.startswith("/files/")]


def test_expected_fields_from_metadata_text() -> None:
    meta = expected(PKG)
    assert (meta.name, meta.version, meta.requires_python) == ("Demo.Pkg", "1.0", ">=3.8")
    assert meta.provides_extra == ("fast",)
    assert meta.requires_dist[:2] == ("b>=1", "c; python_version < '3.9'")
    assert 'extra == "fast"' in meta.requires_dist[2]


def test_pep658_metadata_file(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([PKG])
    client = make_client(idx, tmp_path)
    wheel = wheel_of(client, "demo-pkg")
    assert wheel.has_metadata_file
    idx.clear_log()
    assert get_metadata(client, wheel) == expected(PKG)
    [record] = idx.requests
    assert record.path.endswith(".whl.metadata") and record.range is None


def test_pep658_wrong_hash_is_a_metadata_error(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([PKG])
    client = make_client(idx, tmp_path)
    wheel = dataclasses.replace(wheel_of(client, "demo-pkg"), metadata_hashes={"sha256": "00" * 32})
    with pytest.raises(MetadataError, match="sha256"):
        get_metadata(client, wheel)


@pytest.mark.parametrize("metadata_files", [False, True])
def test_range_requests_read_only_the_end(
    make_index: MakeIndex, tmp_path: Path, metadata_files: bool
) -> None:
    big = dataclasses.replace(PKG, pad_bytes=3_000_000)
    idx = make_index([big], metadata_files=metadata_files)
    client = make_client(idx, tmp_path)
    wheel = wheel_of(client, "demo-pkg")
    if metadata_files:  # advertised, but take the range path to prove it works alongside
        wheel = dataclasses.replace(wheel, metadata_hashes=None)
    idx.clear_log()
    assert get_metadata(client, wheel) == expected(big)
    records = file_requests(idx)
    assert records and all(r.range is not None and r.status == 206 for r in records)
    assert sum(r.bytes_sent for r in records) < 100_000 < 3_000_000 < (wheel.size or 0)


def test_server_without_ranges_falls_back_to_download(
    make_index: MakeIndex, tmp_path: Path
) -> None:
    big = dataclasses.replace(PKG, pad_bytes=300_000)
    idx = make_index([big], metadata_files=False, range_requests=False)
    client = make_client(idx, tmp_path)
    wheel = wheel_of(client, "demo-pkg")
    idx.clear_log()
    assert get_metadata(client, wheel) == expected(big)
    statuses = [r.status for r in file_requests(idx)]
    assert statuses[-1] == 200
    assert file_requests(idx)[-1].bytes_sent == wheel.size


def test_zip64_wheel(make_index: MakeIndex, tmp_path: Path) -> None:
    pkg = dataclasses.replace(PKG, zip64=True)
    idx = make_index([pkg], metadata_files=False)
    client = make_client(idx, tmp_path)
    assert get_metadata(client, wheel_of(client, "demo-pkg")) == expected(pkg)
    assert all(r.status == 206 for r in file_requests(idx))


def test_sdist_needs_a_build(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([Pkg("a", "1.0", wheel=False)])
    client = make_client(idx, tmp_path)
    page = client.project_page("a")
    assert page is not None
    idx.clear_log()
    assert get_metadata(client, page.files[0]) == Unavailable("needs a build")
    assert idx.requests == []


def test_find_links_wheel_is_read_locally(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([PKG])
    s = IndexSettings(no_index=True, find_links=(str(idx.files_dir),))
    client = IndexClient(s, Cache(tmp_path))
    assert get_metadata(client, wheel_of(client, "demo-pkg")) == expected(PKG)
    assert idx.requests == []


def test_metadata_cache_and_offline(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([PKG], metadata_files=False)
    client = make_client(idx, tmp_path)
    wheel = wheel_of(client, "demo-pkg")
    with pytest.raises(OfflineError):
        get_metadata(make_client(idx, tmp_path, offline=True), wheel)
    first = get_metadata(client, wheel)
    idx.clear_log()
    assert get_metadata(make_client(idx, tmp_path, offline=True), wheel) == first
    assert idx.requests == []


def test_corrupt_metadata_entry_is_refetched(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([PKG])
    client = make_client(idx, tmp_path)
    wheel = wheel_of(client, "demo-pkg")
    first = get_metadata(client, wheel)
    [entry] = [p for p in (tmp_path / "metadata-v1").rglob("*") if p.is_file()]
    entry.write_bytes(b"\xc1 not msgpack")
    idx.clear_log()
    assert get_metadata(client, wheel) == first
    assert len(idx.requests) == 1


def test_metadata_fetch_faults(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([PKG], metadata_files=False)
    client = make_client(idx, tmp_path, retries=1)
    wheel = wheel_of(client, "demo-pkg")
    idx.inject_fault("reset", times=1, match="/files/")
    assert get_metadata(client, wheel) == expected(PKG)
    other = make_client(idx, tmp_path / "c2", retries=1)
    idx.inject_fault("500", times=5, match="/files/")
    with pytest.raises(NetworkError, match="after 2 attempt"):
        get_metadata(other, wheel)


def test_lenient_parse_of_messy_metadata() -> None:
    text = (
        b"Metadata-Version: 2.1\nName: messy\nVersion: 1.0\nClassifier: \xff\xfe bad bytes\n"
        b"Requires-Dist: ok>=1\nRequires-Dist: not a valid requirement ((\nX-Custom: whatever\n"
        b"Dynamic: nonsense\n\nBody text \xff\n"
    )
    meta = parse_metadata(text, "messy")
    assert (meta.name, meta.version) == ("messy", "1.0")
    assert "ok>=1" in meta.requires_dist
    with pytest.raises(MetadataError):
        parse_metadata(b"Summary: no name\n", "x")


def test_pick_metadata_file() -> None:
    sdist = DistFile("a-1.0.tar.gz", "u/1", size=10)
    big = DistFile("a-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "u/2", size=500)
    small_native = DistFile("a-1.0-cp311-cp311-win_amd64.whl", "u/3", size=300)
    universal = DistFile("a-1.0-py3-none-any.whl", "u/4", size=900)
    with_meta = DistFile("a-1.0-cp311-cp311-win32.whl", "u/5", size=999, metadata_hashes={})
    assert pick_metadata_file([sdist, big, small_native]) is small_native
    assert pick_metadata_file([sdist, big, universal]) is universal
    assert pick_metadata_file([sdist, universal, with_meta]) is with_meta
    assert pick_metadata_file([sdist]) is sdist


def test_job_round_trip(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index([PKG])
    client = make_client(idx, tmp_path)
    wheel = wheel_of(client, "demo-pkg")
    plain = fetch_metadata_job(client.settings, Cache(tmp_path), file_to_plain(wheel))
    assert result_from_plain(plain, wheel) == expected(PKG)
    broken = dataclasses.replace(wheel, metadata_hashes={"sha256": "11" * 32}, hashes={})
    plain = fetch_metadata_job(client.settings, Cache(None), file_to_plain(broken))
    assert plain[0] == "error"
    assert isinstance(result_from_plain(plain, broken), MetadataError)


@pytest.mark.parametrize("kind", ["process", "thread", "serial"])
def test_prefetch_through_each_pool(make_index: MakeIndex, tmp_path: Path, kind: PoolKind) -> None:
    pkgs = [dataclasses.replace(PKG, name=f"p{i}") for i in range(6)]
    idx = make_index([*pkgs, Pkg("only-sdist", "1.0", wheel=False)], metadata_files=False)
    client = make_client(idx, tmp_path)
    files = [wheel_of(client, p.name) for p in pkgs]
    page = client.project_page("only-sdist")
    assert page is not None
    with WorkerPool(2, kind=kind) as pool:
        results = prefetch_metadata(client, [*files, page.files[0]], pool)
    assert results[page.files[0].url] == Unavailable("needs a build")
    for pkg, file in zip(pkgs, files, strict=True):
        assert results[file.url] == expected(pkg)


def test_warm_prefetch_of_100_projects_starts_nothing(
    make_index: MakeIndex, tmp_path: Path
) -> None:
    pkgs = [Pkg(f"proj{i:03d}", "1.0", deps=[f"dep{i}"], sdist=False) for i in range(100)]
    idx = make_index(pkgs)
    client = make_client(idx, tmp_path)
    pages = client.project_pages(p.name for p in pkgs)
    files = [pick_metadata_file(page.files) for page in pages.values() if page is not None]
    assert len(files) == 100
    with WorkerPool(2, kind="thread") as cold_pool:
        cold = prefetch_metadata(client, files, cold_pool)
    assert all(isinstance(v, CoreMetadata) for v in cold.values())

    idx.clear_log()
    warm_client = make_client(idx, tmp_path)  # a new run: nothing in memory
    warm_pages = warm_client.project_pages(p.name for p in pkgs)
    warm_files = [pick_metadata_file(p.files) for p in warm_pages.values() if p is not None]
    pool = WorkerPool(4, kind="process")
    warm = prefetch_metadata(warm_client, warm_files, pool)
    pool.close()
    assert pool.started is False
    assert idx.requests == []
    assert warm == cold
    seventh = warm[files[7].url]
    assert isinstance(seventh, CoreMetadata) and seventh.requires_dist == ("dep7",)
