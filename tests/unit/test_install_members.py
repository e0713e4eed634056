"""Reading wheel members by offset (xv.install.members): the bytes zipfile reads, and
the refusals of members whose directory entry and data disagree."""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path

import pytest

from xv.install.members import CHUNK, INFLATE_OUT, MemberReader

BIG = bytes(range(256)) * (3 * CHUNK // 256 + 7)  # several pieces, compressible


def make_zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def read_all(path: Path, name: str, check_crc: bool = True) -> bytes:
    with open(path, "rb") as raw, zipfile.ZipFile(raw) as wheel:
        reader = MemberReader(wheel, raw.fileno())
        return b"".join(reader.chunks(wheel.getinfo(name), check_crc))


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_members_read_as_zipfile_reads_them(tmp_path: Path, method: int) -> None:
    members = {"a/empty.txt": b"", "a/small.py": b"x = 1\n", "a/big.bin": BIG}
    path = make_zip(tmp_path / "w.zip", members, method)
    for name, data in members.items():
        assert read_all(path, name) == data
        assert read_all(path, name, check_crc=False) == data


def test_pieces_are_bounded(tmp_path: Path) -> None:
    """A member that inflates a lot (a bomb's way) comes in pieces of at most INFLATE_OUT
    bytes, however few compressed bytes make them."""
    path = make_zip(tmp_path / "w.zip", {"zeros": bytes(3 * INFLATE_OUT + 5)})
    with open(path, "rb") as raw, zipfile.ZipFile(raw) as wheel:
        info = wheel.getinfo("zeros")
        assert info.compress_size < CHUNK  # one read holds the whole stream
        pieces = list(MemberReader(wheel, raw.fileno()).chunks(info, True))
    assert len(pieces) >= 4 and max(map(len, pieces)) <= INFLATE_OUT
    assert sum(map(len, pieces)) == 3 * INFLATE_OUT + 5


def patch(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def test_a_crc_mismatch_is_refused_when_asked_to_check(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "w.zip", {"a.txt": b"hello world"}, zipfile.ZIP_STORED)
    data_at = path.read_bytes().index(b"hello world")
    patch(path, data_at, b"HELLO")
    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        read_all(path, "a.txt")
    assert read_all(path, "a.txt", check_crc=False) == b"HELLO world"  # the caller's sha256 checks


def test_a_local_name_differing_from_the_directory_is_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "w.zip", {"a/good.py": b"x = 1\n"})
    patch(path, 30, b"a/evil.py")  # the local header's name (the first member's)
    with pytest.raises(zipfile.BadZipFile, match="differ"):
        read_all(path, "a/good.py")


def test_a_member_overlapping_the_next_is_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "w.zip", {"a.txt": b"A" * 10, "b.txt": b"B" * 10}, zipfile.ZIP_STORED)  # fmt: skip
    raw = path.read_bytes()
    entry = raw.index(b"PK\x01\x02")  # the first central record: a.txt's
    # a.txt's stored size reaching into b.txt's local header and data
    patch(path, entry + 20, struct.pack("<LL", 50, 50))
    with pytest.raises(zipfile.BadZipFile, match="overlaps"):
        read_all(path, "a.txt", check_crc=False)


@pytest.mark.parametrize("declared", [5, 20])
def test_a_member_inflating_to_another_size_is_refused(tmp_path: Path, declared: int) -> None:
    path = make_zip(tmp_path / "w.zip", {"a.txt": b"x" * 10})
    raw = path.read_bytes()
    entry = raw.index(b"PK\x01\x02")
    patch(path, entry + 24, struct.pack("<L", declared))  # the uncompressed size
    with pytest.raises(zipfile.BadZipFile, match="longer|shorter"):
        read_all(path, "a.txt", check_crc=False)


def test_a_cut_deflate_stream_is_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "w.zip", {"a.bin": os.urandom(1000) * 3})
    raw = path.read_bytes()
    entry = raw.index(b"PK\x01\x02")
    compressed = struct.unpack_from("<L", raw, entry + 20)[0]
    patch(path, entry + 20, struct.pack("<L", compressed // 2))  # half the stream
    with pytest.raises(zipfile.BadZipFile):
        read_all(path, "a.bin", check_crc=False)


def test_unpacking_refuses_a_damaged_member_record_cannot_vouch_for(tmp_path: Path) -> None:
    """RECORD has no hash of its own: the zip's CRC is its check (and nothing is kept)."""
    from tests.unit.test_install import zip_wheel
    from xv.errors import InstallError
    from xv.install import unpack_wheel_to_archive

    wheel = zip_wheel(tmp_path / "evil-1.0-py3-none-any.whl", {"evil/__init__.py": b"x = 1\n"})
    stored = tmp_path / "stored" / wheel.name
    stored.parent.mkdir()
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(stored, "w") as dst:
        for item in src.infolist():
            dst.writestr(item.filename, src.read(item))  # stored: the bytes are visible
    at = stored.read_bytes().index(b",sha256=")  # in RECORD's data only
    patch(stored, at + 8, b"#")
    with pytest.raises(InstallError, match="CRC"):
        unpack_wheel_to_archive(str(stored), str(tmp_path / "archives"))
    assert [p.name for p in (tmp_path / "archives").iterdir()] == [".locks"]
