"""Read one member of a remote zip (a wheel) with a few HTTP range requests.

The reader needs only two primitives, given as a :class:`RangeSource`: the
last ``n`` bytes of the file (which also tells the total size) and an
arbitrary byte range. One suffix request usually covers the end of central
directory record, the whole central directory and, for wheels whose
``.dist-info`` files are written last (the common case), the member itself;
a directory longer than that is read in one more request that also takes the
bytes before it (where those files sit), and a member elsewhere costs one more. zip64 end records (``PK\\x06\\x06`` + locator) are followed.

>>> import io, zipfile
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as zf:
...     zf.writestr("a-1.0.dist-info/METADATA", "Name: a\\n")
>>> read_member(BytesSource(buf.getvalue()), lambda names: names[0])
b'Name: a\\n'
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from typing import Protocol

from xv.records import record

#: Bytes asked for in the first (suffix) request.
TAIL_SIZE = 64 * 1024
#: When the directory is longer than the tail: bytes also read before the directory, beyond
#: its own length (RECORD's stand-in), for METADATA and the small .dist-info files.
BEFORE_DIRECTORY = 32 * 1024

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory, 22 bytes
_ZIP64_LOCATOR = struct.Struct("<4sLQL")  # 20 bytes
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")  # 56 bytes
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # central directory header, 46 bytes
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header, 30 bytes
_LENGTHS = struct.Struct("<3H")  # name, extra and comment lengths, at 28 in a central header
_OFFSET = struct.Struct("<L")  # the local header's offset, at 42 in a central header


class ZipFormatError(ValueError):
    """The bytes are not a zip archive this reader understands."""


class RangeSource(Protocol):
    """Random access to a remote file by byte ranges."""

    def tail(self, n: int) -> tuple[bytes, int]:
        """The last ``n`` bytes (or the whole file if shorter) and the file's total size."""
        ...

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive)."""
        ...


@record
class BytesSource:
    """A :class:`RangeSource` over bytes in memory (tests, local files)."""

    data: bytes

    def tail(self, n: int) -> tuple[bytes, int]:
        return self.data[-n:], len(self.data)

    def read(self, start: int, end: int) -> bytes:
        return self.data[start:end]


@record
class Entry:
    """One central directory entry."""

    name: str
    method: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int


class _Window:
    """The bytes fetched so far from the end of the file, plus a fetcher for the rest."""

    def __init__(self, source: RangeSource, tail_size: int) -> None:
        self.source = source
        self.data, self.total = source.tail(tail_size)
        self.start = self.total - len(self.data)
        self.cd_offset = self.total

    def extend_to(self, start: int) -> None:
        """Fetch from ``start`` up to what is held already, in one request, and hold it."""
        start = max(0, start)
        if start >= self.start:
            return
        chunk = self.source.read(start, self.start)
        if len(chunk) != self.start - start:
            raise ZipFormatError("short read from the server")
        self.data, self.start = chunk + self.data, start

    def get(self, start: int, end: int) -> bytes:
        if start < 0 or end > self.total or start > end:
            raise ZipFormatError(f"zip offsets {start}..{end} outside the file")
        if start >= self.start:
            return self.data[start - self.start : end - self.start]
        chunk = self.source.read(start, end)
        if len(chunk) != end - start:
            raise ZipFormatError("short read from the server")
        return chunk


def list_entries(
    source: RangeSource, tail_size: int = TAIL_SIZE, suffix: bytes = b""
) -> tuple[list[Entry], list[int], _Window]:
    """The central directory of the remote zip: the entries whose raw name ends with
    ``suffix`` (all by default) and where every member starts."""
    window = _Window(source, tail_size)
    count, cd_size, cd_offset = _find_central_directory(window)
    window.cd_offset = cd_offset
    if cd_offset < window.start:
        # A directory longer than the tail: the request for the rest of it also takes the
        # bytes before it, where a wheel's .dist-info members sit (METADATA, then RECORD,
        # which is about as long as the directory): one round trip, not two.
        window.extend_to(cd_offset - cd_size - BEFORE_DIRECTORY)
    directory = window.get(cd_offset, cd_offset + cd_size)
    entries, offsets = _parse_central_directory(directory, count, suffix)
    return entries, offsets, window


def read_member(
    source: RangeSource,
    choose: Callable[[Sequence[str]], str | None],
    tail_size: int = TAIL_SIZE,
    suffix: bytes = b"",
) -> bytes | None:
    """The uncompressed bytes of the member ``choose(names)`` picks (None: it picked none).

    With ``suffix``, ``choose`` sees only the names that end with it: a wheel of
    thousands of files is then scanned, not decoded entry by entry.
    """
    entries, offsets, window = list_entries(source, tail_size, suffix)
    by_name = {entry.name: entry for entry in entries}
    wanted = choose([entry.name for entry in entries])
    if wanted is None:
        return None
    entry = by_name[wanted]
    return _read_entry(window, entry, _member_end(entry, offsets, window.cd_offset))


def _member_end(entry: Entry, offsets: Sequence[int], cd_offset: int) -> int:
    """Where the next member starts: a safe upper bound for this one's local header + data."""
    later = [o for o in offsets if o > entry.header_offset]
    return min(later, default=cd_offset)


def _find_central_directory(window: _Window) -> tuple[int, int, int]:
    at = window.data.rfind(b"PK\x05\x06")
    if at < 0 or at + _EOCD.size > len(window.data):
        raise ZipFormatError("no end of central directory record (not a zip?)")
    fields = _EOCD.unpack_from(window.data, at)
    count, cd_size, cd_offset = fields[4], fields[5], fields[6]
    if count != 0xFFFF and cd_size != 0xFFFFFFFF and cd_offset != 0xFFFFFFFF:
        return count, cd_size, cd_offset
    locator_at = window.start + at - _ZIP64_LOCATOR.size
    locator = _ZIP64_LOCATOR.unpack(window.get(locator_at, locator_at + _ZIP64_LOCATOR.size))
    if locator[0] != b"PK\x06\x07":
        raise ZipFormatError("zip64 escapes without a zip64 locator")
    record_at = locator[2]
    record = _ZIP64_EOCD.unpack(window.get(record_at, record_at + _ZIP64_EOCD.size))
    if record[0] != b"PK\x06\x06":
        raise ZipFormatError("bad zip64 end of central directory record")
    return record[7], record[8], record[9]


def _parse_central_directory(
    data: bytes, count: int, suffix: bytes = b""
) -> tuple[list[Entry], list[int]]:
    """Entries whose name ends with ``suffix``, and every member's header offset."""
    entries: list[Entry] = []
    offsets: list[int] = []
    pos = 0
    for _ in range(count):
        if data[pos : pos + 4] != b"PK\x01\x02":
            raise ZipFormatError("bad central directory entry")
        name_len, extra_len, comment_len = _LENGTHS.unpack_from(data, pos + 28)
        offset = _OFFSET.unpack_from(data, pos + 42)[0]
        name_end = pos + 46 + name_len
        if offset != 0xFFFFFFFF and not data.endswith(suffix, pos + 46, name_end):
            offsets.append(offset)  # not wanted, and no zip64 field to read the offset from
            pos = name_end + extra_len + comment_len
            continue
        fields = _CENTRAL.unpack_from(data, pos)
        flags, method, crc, csize, usize = fields[3], fields[4], fields[7], fields[8], fields[9]
        name_len, extra_len, comment_len, offset = fields[10], fields[11], fields[12], fields[16]
        name_bytes = data[pos + 46 : pos + 46 + name_len]
        extra = data[pos + 46 + name_len : pos + 46 + name_len + extra_len]
        usize, csize, offset = _apply_zip64_extra(extra, usize, csize, offset)
        name = name_bytes.decode("utf-8" if flags & 0x800 else "cp437")
        offsets.append(offset)
        if data.endswith(suffix, pos + 46, name_end):
            entries.append(Entry(name, method, crc, csize, usize, offset))
        pos += 46 + name_len + extra_len + comment_len
    return entries, offsets


def _apply_zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<2H", extra, pos)
        if tag == 0x0001:
            values = list(struct.unpack_from(f"<{size // 8}Q", extra, pos + 4))
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
        pos += 4 + size
    return usize, csize, offset


def _read_entry(window: _Window, entry: Entry, end: int) -> bytes:
    start = entry.header_offset
    # One request for the local header and the data: the local extra field may
    # differ from the central one, so read up to the next member.
    chunk = window.get(start, max(end, start + _LOCAL.size))
    if len(chunk) < _LOCAL.size or chunk[:4] != b"PK\x03\x04":
        raise ZipFormatError(f"bad local header for {entry.name}")
    fields = _LOCAL.unpack_from(chunk)
    data_at = _LOCAL.size + fields[9] + fields[10]
    raw = chunk[data_at : data_at + entry.compressed_size]
    if len(raw) != entry.compressed_size:
        raw = window.get(start + data_at, start + data_at + entry.compressed_size)
    data = _inflate(raw, entry)
    if zlib.crc32(data) != entry.crc:
        raise ZipFormatError(f"CRC mismatch in {entry.name}")
    return data


def _inflate(raw: bytes, entry: Entry) -> bytes:
    if entry.method == 0:
        return raw
    if entry.method == 8:
        try:
            return zlib.decompressobj(-15).decompress(raw)
        except zlib.error as exc:
            raise ZipFormatError(f"cannot inflate {entry.name}: {exc}") from exc
    raise ZipFormatError(f"unsupported compression method {entry.method} for {entry.name}")
