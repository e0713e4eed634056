"""xv.digests: the built-in sha256 and blake2b give hashlib's digests."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from xv import digests


@given(st.binary(max_size=4096), st.integers(min_value=1, max_value=64))
def test_the_digests_are_hashlibs(data: bytes, size: int) -> None:
    assert digests.sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
    mine, theirs = digests.sha256(), hashlib.sha256()
    mine.update(data)
    theirs.update(data)
    assert mine.digest() == theirs.digest()
    assert (
        digests.blake2b(data, digest_size=size).digest()
        == hashlib.blake2b(data, digest_size=size).digest()
    )


def test_big_inputs_go_to_openssls_sha256() -> None:
    """Above BULK the hasher is hashlib's (the built-in one is ~7x slower on wheels); the
    digest is the same either way."""
    data = b"x" * (digests.BULK + 1)
    small, big = digests.sha256_for(10), digests.sha256_for(len(data))
    assert type(big) is type(hashlib.sha256())
    for hasher in (small, big):
        hasher.update(data)
        assert hasher.hexdigest() == hashlib.sha256(data).hexdigest()


def test_small_inputs_take_openssls_sha256_only_once_hashlib_is_loaded() -> None:
    """Below BULK the built-in hasher, which loads nothing (a warm run the cache answers
    never pays hashlib's ~4.5 ms for it); once something loaded hashlib, OpenSSL's, ~5x
    faster on a few kB."""
    import subprocess
    import sys

    code = (
        "import sys; from xv import digests; "
        "before = type(digests.sha256_for(10)).__module__; loaded = 'hashlib' in sys.modules; "
        "import hashlib; after = type(digests.sha256_for(10)).__module__; "
        "print(loaded, before, after)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, before, after = out.stdout.split()
    assert loaded == "False" and before != "_hashlib" and after == "_hashlib"
