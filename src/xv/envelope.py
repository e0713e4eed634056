"""A cache entry's bytes: its envelope around the msgpack of its value, written in pieces.

Apart from :mod:`xv.cache` (its buckets, locks and logging): a page worker
(:mod:`xv.index.pageworker`) writes the entries of the pages it parses with these, and
imports nothing it does not use (each worker's interpreter counts in a compile's memory).
"""

from __future__ import annotations

from typing import Any

import msgpack

from xv import digests

# Envelope: (MAGIC, ENVELOPE_VERSION, checksum, packed value). Change the version only
# if the envelope itself changes; value layouts are versioned by the bucket name. The
# checksum (blake2b of the packed value) turns a flipped bit into a miss, never into a
# wrong value.
_MAGIC = "xv"
_ENVELOPE_VERSION = 2


def encode_entry(value: Any) -> list[bytes]:
    """The bytes of an entry holding ``value``, in pieces: joined, they are
    ``packb((MAGIC, ENVELOPE_VERSION, checksum, packb(value)))``, but a long bytes
    value inside ``value`` (and every bytearray, see :func:`packed_pieces`) is a piece of
    its own, never copied."""
    payload = packed_pieces(value)
    digest = digests.blake2b(digest_size=16)
    for piece in payload:
        digest.update(piece)
    packer = msgpack.Packer(use_bin_type=True)
    head = b"".join(
        (
            packer.pack_array_header(4),
            packer.pack(_MAGIC),
            packer.pack(_ENVELOPE_VERSION),
            packer.pack(digest.digest()),
            _bin_header(sum(len(piece) for piece in payload)),
        )
    )
    return [head, *payload]


_PIECE = 64 * 1024  # bytes values at least this long are written from where they are


def packed_pieces(value: Any) -> list[bytes]:
    """``msgpack.packb(value, use_bin_type=True)`` as pieces to be joined, each bytes value
    of :data:`_PIECE` bytes or more, and each bytearray whatever its size, a piece of its own
    (not copied). Bytearrays are the page worker's version groups, packed where they were
    built (:meth:`xv.index.pageform._Groups.plain`): copied into the packer's buffer, the
    groups of pydantic-core's page (6.4 MB, few of them 64 kB) were held twice, and the
    buffer grew by doubling, up to 14 MB more in the worker while it wrote the entry.

    Tuples, lists and dicts are walked here (exactly those types: anything else, their
    subclasses included, goes to msgpack whole); everything else is msgpack's own packing.
    """
    packer = msgpack.Packer(use_bin_type=True, autoreset=False)
    pieces: list[bytes] = []
    # A plain function, not a closure: a closure calling itself is a reference cycle,
    # which would keep the packer's buffer and the pieces until the next collection.
    _pack_into(value, packer, pieces)
    pieces.append(packer.bytes())
    return [piece for piece in pieces if piece]


def _pack_into(item: Any, packer: msgpack.Packer, pieces: list[bytes]) -> None:
    kind = type(item)
    if (kind is bytes and len(item) >= _PIECE) or kind is bytearray:
        pieces.append(packer.bytes())  # what came before it, then its header, then it
        packer.reset()
        pieces.append(_bin_header(len(item)))
        pieces.append(item)
    elif kind is tuple or kind is list:
        packer.pack_array_header(len(item))
        for member in item:
            _pack_into(member, packer, pieces)
    elif kind is dict:
        packer.pack_map_header(len(item))
        for key, member in item.items():
            _pack_into(key, packer, pieces)
            _pack_into(member, packer, pieces)
    else:
        packer.pack(item)


def _bin_header(size: int) -> bytes:
    """The msgpack ``bin`` header of a ``size``-byte value (bin 8/16/32: msgpack's Packer
    has no method for a header alone)."""
    if size < 1 << 8:
        return b"\xc4" + size.to_bytes(1, "big")
    if size < 1 << 16:
        return b"\xc5" + size.to_bytes(2, "big")
    if size < 1 << 32:
        return b"\xc6" + size.to_bytes(4, "big")
    raise ValueError(f"a {size}-byte value is too long for msgpack")


def stored_checksum(raw: bytes) -> bytes | None:
    """The checksum an entry's envelope carries (its first :data:`HEAD_SIZE` bytes are
    enough), not checked against the payload; None for bytes that begin no xv entry. A
    page worker's witness of the entry it wrote (:mod:`xv.index.pageworker`): equal
    checksums, the same value."""
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(raw[:HEAD_SIZE])
    try:
        if unpacker.read_array_header() != 4:
            return None
        magic, version, checksum = unpacker.unpack(), unpacker.unpack(), unpacker.unpack()
    except Exception:  # msgpack raises many types on garbage: not an entry
        return None
    if magic != _MAGIC or version != _ENVELOPE_VERSION or type(checksum) is not bytes:
        return None
    return checksum


HEAD_SIZE = 64  # bytes that hold an envelope's head before its payload (23 as written)


def decode_entry(raw: bytes) -> Any:
    """The value of an entry's bytes; :class:`ValueError` for anything not a sound xv entry."""
    try:
        magic, version, checksum, payload = msgpack.unpackb(raw, raw=False, use_list=False)
        if magic != _MAGIC or version != _ENVELOPE_VERSION:
            raise ValueError("not an xv cache entry")
        if checksum != _checksum(payload):
            raise ValueError("checksum mismatch")
        return msgpack.unpackb(payload, raw=False, use_list=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises many types on garbage; all mean "corrupt"
        raise ValueError(f"undecodable cache entry: {exc}") from None


def _checksum(payload: bytes) -> bytes:
    return digests.blake2b(payload, digest_size=16).digest()
