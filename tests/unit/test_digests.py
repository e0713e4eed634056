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
