"""sha256 and blake2b from the interpreter's built-in modules when it has them.

:mod:`hashlib` loads OpenSSL (``_hashlib``, ~4.5 ms of a ~0.25 s warm compile) to offer
every algorithm; the digests a run that the cache answers needs (cache keys and entry
checksums, record fingerprints, the fast path's witnesses, the small files of a wheel's
metadata) are these two, which CPython builds in. Big inputs (wheels, their members) go
to OpenSSL's sha256 all the same: :func:`sha256_for`. The digests are the same (``tests/unit/test_digests.py``). Only the standard
library's built-ins are imported here (not even :mod:`typing`): :mod:`xv.fast` uses it.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class Hash(Protocol):
        """What a hash object of :mod:`hashlib` offers, as used here."""

        def update(self, data: bytes | bytearray | memoryview, /) -> None: ...
        def digest(self) -> bytes: ...
        def hexdigest(self) -> str: ...

    def _sha256(data: bytes = b"") -> Hash: ...
    def _blake2b(data: bytes = b"", *, digest_size: int = 64) -> Hash: ...

else:
    try:
        from _sha2 import sha256 as _sha256  # Python 3.12+
    except ImportError:
        try:
            from _sha256 import sha256 as _sha256  # Python 3.11
        except ImportError:
            from hashlib import sha256 as _sha256
    try:
        from _blake2 import blake2b as _blake2b
    except ImportError:
        from hashlib import blake2b as _blake2b


def sha256(data: bytes = b"") -> Hash:
    """A sha256 hash object (``hashlib.sha256(data)``)."""
    return _sha256(data)


BULK = 256 * 1024  # bytes from which OpenSSL's sha256 (hashlib) pays for its loading


def sha256_for(size: int) -> Hash:
    """A sha256 hasher for about ``size`` bytes: OpenSSL's from :data:`BULK` up (hashlib;
    ~7x faster than the built-in one on big inputs, 40 ms against 300 ms for 50 MB here,
    but ~4.5 ms to load), and below it too once something has loaded hashlib (5 us
    against 25 us for 8 kB); else the built-in one."""
    if size >= BULK or "hashlib" in sys.modules:
        import hashlib

        return hashlib.sha256()
    return _sha256()


def sha256_of(chunks: list[bytes]) -> str:
    """The hex sha256 of the bytes of ``chunks`` joined (without joining them): a cache
    entry's witness, as its writer has it in pieces (:func:`sha256_for` picks the hasher).

    >>> sha256_of([b"ab", b"", b"c"]) == sha256(b"abc").hexdigest()
    True
    """
    digest = sha256_for(sum(len(chunk) for chunk in chunks))
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def blake2b(data: bytes = b"", *, digest_size: int = 64) -> Hash:
    """A blake2b hash object (``hashlib.blake2b(data, digest_size=...)``)."""
    return _blake2b(data, digest_size=digest_size)
