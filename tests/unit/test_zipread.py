"""Reading one member of a zip through byte ranges, checked against zipfile."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.localindex import backend
from xv.index import zipread


class CountingSource(zipread.BytesSource):
    """A BytesSource that records each request and the bytes it returned."""

    calls: list[tuple[str, int]]

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        object.__setattr__(self, "calls", [])

    def tail(self, n: int) -> tuple[bytes, int]:
        chunk, total = super().tail(n)
        self.calls.append(("tail", len(chunk)))
        return chunk, total

    def read(self, start: int, end: int) -> bytes:
        chunk = super().read(start, end)
        self.calls.append(("read", len(chunk)))
        return chunk


def make_zip(members: Sequence[tuple[str, bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, method in members:
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buf.getvalue()


def pick(name: str) -> Callable[[Sequence[str]], str | None]:
    return lambda names: name if name in names else None


def test_small_zip_takes_one_request() -> None:
    data = make_zip(
        [("a.py", b"x" * 100, zipfile.ZIP_DEFLATED), ("m", b"meta", zipfile.ZIP_STORED)]
    )
    source = CountingSource(data)
    assert zipread.read_member(source, pick("m")) == b"meta"
    assert source.calls == [("tail", len(data))]


def test_member_far_from_the_end_costs_a_second_request() -> None:
    big = bytes(range(256)) * 4096  # 1 MiB, stored
    data = make_zip(
        [("first", b"hello" * 100, zipfile.ZIP_DEFLATED), ("big", big, zipfile.ZIP_STORED)]
    )
    source = CountingSource(data)
    assert zipread.read_member(source, pick("first")) == b"hello" * 100
    calls = source.calls
    assert calls[0] == ("tail", zipread.TAIL_SIZE)
    assert len(calls) == 2 and calls[1][0] == "read" and calls[1][1] < 2000


def test_central_directory_larger_than_the_tail() -> None:
    members = [(f"pkg/mod{i:04d}.py", b"pass\n", zipfile.ZIP_DEFLATED) for i in range(400)]
    data = make_zip([*members, ("x.dist-info/METADATA", b"Name: x\n", zipfile.ZIP_DEFLATED)])
    source = CountingSource(data)
    got = zipread.read_member(source, pick("x.dist-info/METADATA"), tail_size=1024)
    assert got == b"Name: x\n"
    # The tail, then the rest of the central directory with the .dist-info files before it.
    calls = source.calls
    assert [kind for kind, _ in calls] == ["tail", "read"]
    assert sum(size for _, size in calls) == len(data)  # each byte once (a small file: all)


def test_a_long_directory_and_the_files_before_it_take_one_more_request() -> None:
    """A wheel of many files: METADATA, then RECORD (as long as the directory), then the
    directory; the second request covers all three."""
    body = [hashlib.sha256(str(i).encode()).digest() * 8 for i in range(3000)]  # incompressible
    members = [(f"pkg/m{i:05d}.py", body[i], zipfile.ZIP_STORED) for i in range(3000)]
    record = "".join(f"pkg/m{i:05d}.py,sha256={'x' * 43},200\n" for i in range(3000))
    dist = [
        ("x-1.dist-info/METADATA", b"Name: x\n" + b"D" * 20000, zipfile.ZIP_DEFLATED),
        ("x-1.dist-info/WHEEL", b"Wheel-Version: 1.0\n", zipfile.ZIP_DEFLATED),
        ("x-1.dist-info/RECORD", record.encode(), zipfile.ZIP_DEFLATED),
    ]
    data = make_zip([*members, *dist])
    source = CountingSource(data)
    got = zipread.read_member(source, pick("x-1.dist-info/METADATA"))
    assert got == b"Name: x\n" + b"D" * 20000
    assert [kind for kind, _ in source.calls] == ["tail", "read"]
    assert sum(size for _, size in source.calls) < len(data) // 2


def test_zip64_end_records(tmp_path: Path) -> None:
    path = tmp_path / "w.whl"
    backend.write_wheel(
        path, "w-1.0.dist-info", "py3-none-any", [("w/__init__.py", b"")], "Name: w\n"
    )
    backend.make_zip64(path)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:  # zipfile agrees it is a valid zip64 archive
        assert zf.read("w-1.0.dist-info/METADATA") == b"Name: w\n"
    assert b"PK\x06\x06" in data
    assert (
        zipread.read_member(zipread.BytesSource(data), pick("w-1.0.dist-info/METADATA"))
        == b"Name: w\n"
    )
    # A tail too small to hold the zip64 record forces a read of it.
    source = CountingSource(data)
    assert zipread.read_member(source, pick("w-1.0.dist-info/METADATA"), tail_size=30)
    assert len(source.calls) >= 2


def test_zip64_extra_field_overrides_escapes() -> None:
    extra = struct.pack("<2H3Q", 0x0001, 24, 10, 20, 30)
    assert zipread._apply_zip64_extra(extra, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF) == (10, 20, 30)
    only_offset = struct.pack("<2HQ", 0x0001, 8, 99)
    assert zipread._apply_zip64_extra(only_offset, 5, 6, 0xFFFFFFFF) == (5, 6, 99)


def test_chooser_may_decline() -> None:
    data = make_zip([("a", b"1", zipfile.ZIP_STORED)])
    assert zipread.read_member(zipread.BytesSource(data), lambda names: None) is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: b"not a zip at all" * 10,
        lambda d: d.replace(b"PK\x01\x02", b"XX\x01\x02"),
        lambda d: d.replace(b"PK\x03\x04", b"XX\x03\x04"),
    ],
)
def test_damaged_archives_raise_zip_format_error(damage: object) -> None:
    data = make_zip([("m", b"meta" * 10, zipfile.ZIP_DEFLATED)])
    assert callable(damage)
    with pytest.raises(zipread.ZipFormatError):
        zipread.read_member(zipread.BytesSource(damage(data)), pick("m"))


def test_crc_mismatch_is_detected() -> None:
    data = bytearray(make_zip([("m", b"meta-data", zipfile.ZIP_STORED)]))
    at = data.index(b"meta-data")
    data[at] ^= 0xFF
    with pytest.raises(zipread.ZipFormatError, match="CRC"):
        zipread.read_member(zipread.BytesSource(bytes(data)), pick("m"))


members_strategy = st.lists(
    st.tuples(
        st.text("abcdefgh/_.", min_size=1, max_size=12).filter(lambda n: not n.endswith("/")),
        st.binary(max_size=3000),
        st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda m: m[0],
)


@settings(max_examples=60, deadline=None)
@given(members=members_strategy, tail=st.integers(min_value=22, max_value=5000))
def test_every_member_matches_zipfile(members: list[tuple[str, bytes, int]], tail: int) -> None:
    data = make_zip(members)
    for name, content, _ in members:
        assert zipread.read_member(zipread.BytesSource(data), pick(name), tail_size=tail) == content


def test_a_suffix_lists_only_matching_names_and_reads_the_same_member() -> None:
    members = [(f"pkg/mod{i:04d}.py", b"pass\n" * i, zipfile.ZIP_DEFLATED) for i in range(300)]
    meta = ("x-1.dist-info/METADATA", b"Name: x\n", zipfile.ZIP_DEFLATED)
    data = make_zip([*members[:150], meta, *members[150:]])  # not last: its end matters
    seen: list[Sequence[str]] = []

    def choose(names: Sequence[str]) -> str | None:
        seen.append(names)
        return "x-1.dist-info/METADATA"

    got = zipread.read_member(zipread.BytesSource(data), choose, suffix=b"/METADATA")
    assert got == b"Name: x\n" and seen == [["x-1.dist-info/METADATA"]]
    assert zipread.read_member(zipread.BytesSource(data), choose) == b"Name: x\n"
    assert len(seen[1]) == 301
