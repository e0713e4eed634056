"""The bytes of a wheel's members, read by offset for unpacking.

:mod:`zipfile` parses the central directory (the standard parser: names, sizes, CRCs,
where each member starts); this module reads each member's data itself: one ``pread``
of its 30-byte local header (checked as ``ZipFile.open`` checks it: the signature, and
the name must be the central directory's), then its compressed bytes in reads of 256 KiB (1 MiB when stored),
inflated by zlib. Why not ``ZipFile.open``: per member it builds a ``ZipExtFile`` and a
locked shared-file wrapper, seeks, and runs the CRC-32 through Python-level chunk
calls; for the 43,000 members of the 325-wheel benchmark lock that was about a third
of the unpacker's CPU, beside inflating (see ``benchmarks/bench_sync.py``).

The CRC-32 is checked only for members whose RECORD entry gives no hash: for the rest,
the caller checks the sha256 RECORD gives, the stronger check of the same bytes. A
member's data must end before the next member (or the central directory) starts, and
inflate to exactly the size the directory gives (overlapping members are how a zip
bomb multiplies its output). Compression methods other than stored and deflated, and
encrypted members, are read through ``ZipFile.open`` as before.
"""

from __future__ import annotations

import bisect
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator

CHUNK = 1 << 20
# Deflated data is read in pieces of INFLATE_IN and each inflated into at most
# INFLATE_OUT bytes: a usual piece (a ratio of 2 to 8) inflates in one call. With
# input and output limits both of 1 MiB, zlib stopped at the output limit and left most
# of each piece as an unconsumed tail, copied into a new object for the next call: over
# the 1.3 GB of the 325-wheel benchmark lock, inflating took 4.2 s of CPU against 3.7 s
# this way (one-shot zlib.decompress of each whole member: 3.75 s, and no bound on a bomb).
INFLATE_IN = 1 << 18
INFLATE_OUT = 8 << 20
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header, 30 bytes
_LOCAL_MAGIC = b"PK\x03\x04"
_UTF8_NAME = 0x800
_ZIP_OWN = 0x1 | 0x20 | 0x40  # encrypted, compressed patch data, strong encryption
_PREAD = hasattr(os, "pread")  # not on Windows: every member goes through ZipFile.open there


class MemberReader:
    """Reads members of the open zip ``wheel`` through ``fd``, a descriptor of the same
    file (``pread`` moves no shared offset, so zipfile's own reads are unaffected)."""

    def __init__(self, wheel: zipfile.ZipFile, fd: int) -> None:
        self.wheel = wheel
        self.fd = fd
        starts = sorted({info.header_offset for info in wheel.infolist()})
        self._starts = starts
        self._end = getattr(wheel, "start_dir", None)  # where the central directory starts

    def chunks(self, info: zipfile.ZipInfo, check_crc: bool) -> Iterator[bytes]:
        """The member's uncompressed bytes, in pieces of at most :data:`INFLATE_OUT` bytes.

        Raises :class:`zipfile.BadZipFile` for a header that does not match the
        directory, data crossing into the next member, a truncated or over-long
        stream, or (with ``check_crc``) a CRC mismatch."""
        if (
            not _PREAD
            or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
            or info.flag_bits & _ZIP_OWN
        ):
            yield from self._through_zipfile(info)
            return
        start, end = self._data_span(info)
        crc, size = 0, 0
        for piece in self._inflated(info, start, end):
            size += len(piece)
            if size > info.file_size:
                raise zipfile.BadZipFile(f"{info.filename} is longer than its directory entry")
            if check_crc:
                crc = zlib.crc32(piece, crc)
            yield piece
        if size != info.file_size:
            raise zipfile.BadZipFile(f"{info.filename} is shorter than its directory entry")
        if check_crc and crc != info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")

    def _through_zipfile(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        with self.wheel.open(info) as source:
            while chunk := source.read(CHUNK):
                yield chunk

    def _data_span(self, info: zipfile.ZipInfo) -> tuple[int, int]:
        """Where the member's compressed bytes start and end, after checking its header."""
        at = info.header_offset
        header = os.pread(self.fd, _LOCAL.size, at)
        if len(header) != _LOCAL.size:
            raise zipfile.BadZipFile("Truncated file header")
        magic, _, flags, _, _, _, _, _, _, name_len, extra_len = _LOCAL.unpack(header)
        if magic != _LOCAL_MAGIC:
            raise zipfile.BadZipFile("Bad magic number for file header")
        raw_name = os.pread(self.fd, name_len, at + _LOCAL.size)
        try:
            name = raw_name.decode("utf-8" if flags & _UTF8_NAME else "cp437")
        except UnicodeDecodeError:
            name = None
        if name != info.orig_filename:
            raise zipfile.BadZipFile(
                f"File name in directory {info.orig_filename!r} and header {raw_name!r} differ."
            )
        start = at + _LOCAL.size + name_len + extra_len
        end = start + info.compress_size
        later = bisect.bisect_right(self._starts, at)
        limit = self._starts[later] if later < len(self._starts) else self._end
        if limit is not None and end > limit:
            raise zipfile.BadZipFile(f"{info.filename} overlaps the next member")
        return start, end

    def _inflated(self, info: zipfile.ZipInfo, start: int, end: int) -> Iterator[bytes]:
        stored = info.compress_type == zipfile.ZIP_STORED
        inflate = None if stored else zlib.decompressobj(-zlib.MAX_WBITS)
        at, step = start, CHUNK if inflate is None else INFLATE_IN
        while at < end:
            raw = os.pread(self.fd, min(step, end - at), at)
            if not raw:
                raise zipfile.BadZipFile(f"{info.filename} is truncated")
            at += len(raw)
            if inflate is None:
                yield raw
                continue
            try:
                piece = inflate.decompress(raw, INFLATE_OUT)
                yield piece
                # Bounded pieces (a bomb never sits in memory): a full piece may leave input
                # unconsumed, or output zlib holds back (all input read, mid-copy).
                while len(piece) == INFLATE_OUT and not inflate.eof:
                    piece = inflate.decompress(inflate.unconsumed_tail, INFLATE_OUT)
                    yield piece
            except zlib.error as exc:
                raise zipfile.BadZipFile(f"cannot inflate {info.filename}: {exc}") from None
        if inflate is not None and not inflate.eof and info.file_size:
            raise zipfile.BadZipFile(f"{info.filename}: the deflate stream is cut short")
