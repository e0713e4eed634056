"""RECORD files (the wheel spec's CSV of path, hash and size) and file hashing."""

from __future__ import annotations

import base64
import csv
import io
import os
from collections.abc import Callable, Iterable

from xv import digests
from xv.records import slotted_record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from xv.digests import Hash

_CHUNK = 1 << 20


@slotted_record
class RecordEntry:
    """One RECORD row: ``path`` uses ``/`` and is relative to the site directory."""

    path: str
    hash: str | None = None  # "sha256=<urlsafe base64, no padding>"
    size: int | None = None

    def row(self) -> list[str]:
        return [self.path, self.hash or "", "" if self.size is None else str(self.size)]


def record_hash(digest: bytes, algorithm: str = "sha256") -> str:
    """The RECORD form of a digest.

    >>> record_hash(digests.sha256(b"").digest())
    'sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU'
    """
    return f"{algorithm}=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """``(record hash, size)`` of a file's contents."""
    size = 0
    with open(path, "rb") as handle:
        digest = digests.sha256_for(os.fstat(handle.fileno()).st_size)
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return record_hash(digest.digest()), size


def parse_record(text: str) -> list[RecordEntry]:
    """Rows of a RECORD file; blank rows are skipped, missing columns are ``None``."""
    out = []
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0]:
            continue
        hash_ = row[1] if len(row) > 1 and row[1] else None
        size = int(row[2]) if len(row) > 2 and row[2].strip().isdigit() else None
        out.append(RecordEntry(row[0], hash_, size))
    return out


def render_record(entries: Iterable[RecordEntry]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for entry in entries:
        writer.writerow(entry.row())
    return buffer.getvalue()


def new_hasher(record_hash_value: str) -> tuple[str, Hash] | None:
    """A fresh hasher for the algorithm a RECORD hash names, or None if unknown."""
    algorithm, sep, _ = record_hash_value.partition("=")
    make = _HASHERS.get(algorithm) if sep else None
    if make is None and sep:
        import hashlib  # here: any algorithm a RECORD names, read while a wheel is unpacked

        if algorithm not in hashlib.algorithms_guaranteed:
            return None
        # The named constructor (hashlib.sha256): hashlib.new looks the name up on every
        # call, and a wheel has thousands of members.
        make = _HASHERS[algorithm] = getattr(hashlib, algorithm)
    return (algorithm, make()) if make is not None else None


_HASHERS: dict[str, Callable[[], Hash]] = {}
