"""The on-disk cache: round trips, corruption, concurrency, disabled mode, keys."""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xv.cache import Bucket, Cache, sanitize_key
from xv.envelope import decode_entry, encode_entry, packed_pieces

VALUE = {"name": "requests", "files": (("a-1.tar.gz", "https://h/a-1.tar.gz", {"sha256": "00"}),)}


@pytest.fixture
def bucket(tmp_path: Path) -> Bucket:
    return Cache(tmp_path / "cache").bucket("simple-v1")


def test_round_trip(bucket: Bucket) -> None:
    assert bucket.get("requests") is None
    assert bucket.put("requests", VALUE) is True
    assert bucket.get("requests") == VALUE
    assert bucket.put("requests", [1, 2]) is True
    assert bucket.get("requests") == (1, 2)  # arrays come back as tuples


def test_non_string_map_keys_and_bytes(bucket: Bucket) -> None:
    bucket.put("k", {1: b"\x00\xff", "s": None})
    assert bucket.get("k") == {1: b"\x00\xff", "s": None}


def test_directory_is_created_lazily(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    bucket = cache.bucket("metadata-v1")
    assert bucket.get("x") is None
    assert not (tmp_path / "cache").exists()
    bucket.put("x", 1)
    assert (tmp_path / "cache" / "metadata-v1" / "x").is_file()


def test_bytes_round_trip_and_delete(bucket: Bucket) -> None:
    bucket.put_bytes("blob", b"\x00raw")
    assert bucket.get_bytes("blob") == b"\x00raw"
    bucket.delete("blob")
    bucket.delete("blob")  # deleting a missing entry is fine
    assert bucket.get_bytes("blob") is None


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\xc1",  # never-used msgpack byte
        b"not msgpack at all \xff\xfe",
        msgpack.packb(("xv", 1, list(range(100))))[:-10],  # truncated
        msgpack.packb(("xv", 1, "v")) + b"trailing",
        msgpack.packb("just a string"),
        msgpack.packb(("xv", 99, "future envelope")),
        msgpack.packb(("zz", 1, "someone else")),
    ],
)
def test_corrupt_entry_is_a_miss_and_deleted(bucket: Bucket, garbage: bytes) -> None:
    bucket.put_bytes("requests", garbage)
    assert bucket.path("requests").exists()
    assert bucket.get("requests") is None
    assert not bucket.path("requests").exists()


def test_every_entry_carries_a_checksum_and_a_bad_one_is_a_miss(bucket: Bucket) -> None:
    assert bucket.put("page", {"url": "https://h/a-1.0.whl", "sha256": "ab" * 32})
    raw = bytearray(bucket.path("page").read_bytes())
    at = raw.index(b"a-1.0.whl")
    raw[at] ^= 0x01  # one flipped bit in the value: still well-formed msgpack
    bucket.path("page").write_bytes(bytes(raw))
    assert bucket.get("page") is None and not bucket.path("page").exists()
    # An entry of the older envelope, without a checksum, is a miss too.
    bucket.put_bytes("old", msgpack.packb(("xv", 1, {"url": "x"})))
    assert bucket.get("old") is None


def test_writes_leave_no_temporary_files(bucket: Bucket) -> None:
    for i in range(5):
        bucket.put(f"k{i}", i)
    assert bucket.root is not None
    assert sorted(p.name for p in bucket.root.iterdir()) == [f"k{i}" for i in range(5)]


def test_failed_write_returns_false_and_does_not_raise(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    bucket = Cache(blocker).bucket("simple-v1")
    assert bucket.put("k", 1) is False
    assert bucket.get("k") is None


def test_unencodable_value_is_a_programming_error(bucket: Bucket) -> None:
    with pytest.raises(TypeError):
        bucket.put("k", object())


def test_entry_path_that_is_a_directory_is_a_miss(bucket: Bucket) -> None:
    bucket.path("archive").mkdir(parents=True)
    assert bucket.get("archive") is None
    bucket.delete("archive")
    assert bucket.path("archive").is_dir()


# ---------------------------------------------------------------- disabled


@pytest.mark.parametrize("cache", [Cache(None), Cache.disabled(), Cache.default(no_cache=True)])
def test_disabled_cache(cache: Cache) -> None:
    assert not cache.enabled
    bucket = cache.bucket("simple-v1")
    assert bucket.put("k", 1) is False
    assert bucket.put_bytes("k", b"x") is False
    assert bucket.get("k") is None
    assert bucket.get_bytes("k") is None
    bucket.delete("k")
    with bucket.lock("k"):
        pass
    with pytest.raises(RuntimeError):
        bucket.path("k")


# ---------------------------------------------------------------- root selection


def test_default_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XV_CACHE_DIR", str(tmp_path / "env"))
    assert Cache.default().root == tmp_path / "env"
    assert Cache.default(str(tmp_path / "arg")).root == tmp_path / "arg"
    monkeypatch.delenv("XV_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = Cache.default().root
    assert root is not None and root.name == "xv"


def test_default_expands_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Cache.default("~/c").root == tmp_path / "c"


@pytest.mark.parametrize("name", ["", "Simple-v1", "../x", "a/b", ".locks"])
def test_bad_bucket_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        Cache(tmp_path).bucket(name)


# ---------------------------------------------------------------- keys


@pytest.mark.parametrize("key", ["requests", "zope-interface", "a_b.c-1.0", "1.0"])
def test_safe_keys_are_kept(key: str) -> None:
    assert sanitize_key(key) == key


@pytest.mark.parametrize(
    ("key", "prefix"),
    [
        ("https://pypi.org/simple/requests/", "https_pypi.org_simple_requests_~"),
        ("Django", "django~"),
        ("../../etc/passwd", "_.._etc_passwd~"),
        (".hidden", "hidden~"),
        ("con", "con~"),
        ("a" * 200, "a" * 48 + "~"),
        ("ünïcode", "_n_code~"),
        ("", "~"),
    ],
)
def test_unsafe_keys_are_hashed_with_readable_prefix(key: str, prefix: str) -> None:
    name = sanitize_key(key)
    assert name.startswith(prefix)
    assert len(name) <= 48 + 1 + 24
    assert "/" not in name and "\\" not in name and not name.startswith(".")


def test_sanitized_keys_do_not_collide() -> None:
    keys = ["Django", "django", "a/b", "a_b", "a:b", "A_B", "a" * 200, "a" * 201, ".x", "x"]
    assert len({sanitize_key(k) for k in keys}) == len(keys)


def test_url_keys_stay_inside_the_bucket(bucket: Bucket) -> None:
    bucket.put("../../escape", 1)
    assert bucket.root is not None
    assert bucket.path("../../escape").parent == bucket.root
    assert bucket.get("../../escape") == 1


# ---------------------------------------------------------------- concurrency


def _writer(root: str, writer: int, rounds: int) -> None:
    bucket = Cache(Path(root)).bucket("simple-v1")
    for i in range(rounds):
        bucket.put("shared", {"writer": writer, "i": i, "pad": "x" * (1000 * (writer + 1))})


def test_concurrent_writers_never_produce_a_corrupt_read(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 300)) for w in range(3)]
    for p in procs:
        p.start()
    bucket = Cache(tmp_path).bucket("simple-v1")
    seen = 0
    try:
        deadline = time.monotonic() + 30
        while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
            raw = bucket.get_bytes("shared")
            if raw is None:
                continue
            magic, _version, _sum, payload = msgpack.unpackb(raw, raw=False)  # raises if partial
            value = msgpack.unpackb(payload, raw=False)
            assert magic == "xv" and value["pad"] == "x" * (1000 * (value["writer"] + 1))
            seen += 1
    finally:
        for p in procs:
            p.join(30)
    assert all(p.exitcode == 0 for p in procs)
    assert seen > 0
    final = bucket.get("shared")
    assert final is not None and final["i"] == 299
    assert bucket.root is not None
    assert [p.name for p in bucket.root.iterdir()] == ["shared"]


def _locked_increment(root: str, rounds: int) -> None:
    bucket = Cache(Path(root)).bucket("archives-v1")
    for _ in range(rounds):
        with bucket.lock("counter"):
            value = bucket.get("counter") or 0
            bucket.put("counter", value + 1)


def test_lock_is_exclusive_across_processes(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_locked_increment, args=(str(tmp_path), 50)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert Cache(tmp_path).bucket("archives-v1").get("counter") == 150


def test_lock_file_lives_apart_from_entries(bucket: Bucket) -> None:
    with bucket.lock("requests"):
        bucket.put("requests", 1)
    assert bucket.root is not None
    assert (bucket.root / ".locks" / "requests.lock").exists()
    assert bucket.get("requests") == 1
    assert sorted(os.listdir(bucket.root)) == [".locks", "requests"]


def test_every_bucket_is_named_once() -> None:
    from xv.cache import CacheBucket

    stems = {bucket.value.rsplit("-v", 1)[0] for bucket in CacheBucket}
    assert len(stems) == len(CacheBucket)


def test_a_cache_is_a_plain_value_for_pool_jobs(tmp_path: Path) -> None:
    import pickle

    cache = Cache(tmp_path)
    copy = pickle.loads(pickle.dumps(cache))
    assert copy == cache and hash(copy) == hash(cache) and copy.root == tmp_path
    assert Cache(str(tmp_path)) == cache
    assert Cache(None) == Cache.disabled() != cache


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.binary(max_size=8)
    | st.sampled_from([b"x" * 70_000, b"y" * (1 << 16), bytes(range(256)) * 300]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=4) | st.integers(0, 99), inner, max_size=4)
    ),
    max_leaves=10,
)


@given(_values)
def test_an_entry_written_in_pieces_is_the_entry_packed_whole(value: Any) -> None:
    """Long bytes values are written from where they are, not copied into a payload and
    an envelope; the bytes on disk are what packing everything at once gives."""
    payload = msgpack.packb(value, use_bin_type=True)
    assert b"".join(packed_pieces(value)) == payload
    whole = msgpack.packb(
        ("xv", 2, hashlib.blake2b(payload, digest_size=16).digest(), payload), use_bin_type=True
    )
    assert b"".join(encode_entry(value)) == whole
    assert decode_entry(whole) == msgpack.unpackb(payload, use_list=False, strict_map_key=False)


def test_a_long_bytes_value_is_its_own_piece(bucket: Bucket) -> None:
    blob = b"z" * 100_000
    pieces = packed_pieces(("page", [blob, 1]))
    assert any(piece is blob for piece in pieces)
    assert bucket.put("k", ("page", [blob, 1]))
    assert bucket.get("k") == ("page", (blob, 1))


def test_a_bytearray_is_its_own_piece_whatever_its_size() -> None:
    """The page worker's version groups (bytearrays, most of them a few kB): written from
    where they are, never copied into the packer's buffer; the bytes are the same."""
    small, empty = bytearray(b"\x92\x01\x02"), bytearray()
    value = ("page", [small, empty, b"short"], {"k": bytearray(b"v")})
    pieces = packed_pieces(value)
    assert any(piece is small for piece in pieces)
    assert b"".join(pieces) == msgpack.packb(value, use_bin_type=True)
    assert b"".join(encode_entry(value))[-len(b"".join(pieces)) :] == b"".join(pieces)


def test_writing_an_entry_leaves_no_garbage_for_the_collector(bucket: Bucket) -> None:
    """A reference cycle would keep each write's packer and pieces alive until the next
    collection: tens of MB while a cold compile writes its pages."""
    gc.collect()
    gc.disable()
    try:
        assert bucket.put("k", ("page", [b"z" * 100_000, {"a": (1, b"b")}]))
        assert gc.collect() == 0
    finally:
        gc.enable()


@pytest.mark.parametrize("size", [0, 1, 65_536, 3_000_001])
def test_an_entry_file_is_read_whole(tmp_path: Path, size: int) -> None:
    from xv.cache import _read_file

    path = tmp_path / "entry"
    data = os.urandom(size)
    path.write_bytes(data)
    assert _read_file(path) == data


def test_a_file_longer_than_its_size_says_is_read_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A size of 0 from a file system that does not know it (as /proc's files say)."""
    from xv.cache import _read_file

    path = tmp_path / "entry"
    path.write_bytes(b"x" * 200_000)
    real = os.fstat

    def no_size(fd: int) -> os.stat_result:
        found = real(fd)
        return os.stat_result((*found[:6], 0, *found[7:10]))

    monkeypatch.setattr(os, "fstat", no_size)
    assert _read_file(path) == b"x" * 200_000
