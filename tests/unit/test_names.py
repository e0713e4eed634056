"""xv.names agrees with packaging's canonicalize_name (and so with PEP 503's regex)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name as packagings

from xv.names import canonicalize_name

NAME_CHARS = st.sampled_from("aAzZ09-_.İßΣ ")


@pytest.mark.parametrize(
    "name", ["Django", "oslo.concurrency", "Foo.Bar__baz", "a--b", "a-_.-b", "_x_", "", "---"]
)
def test_known_names(name: str) -> None:
    assert canonicalize_name(name) == packagings(name) == re.sub(r"[-_.]+", "-", name).lower()


@given(st.text(NAME_CHARS, max_size=20) | st.text(max_size=20))
def test_any_text_as_packaging_normalises_it(name: str) -> None:
    assert canonicalize_name(name) == packagings(name)
