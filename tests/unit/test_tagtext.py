"""xv.env.tagtext reads tags as packaging.tags.parse_tag and parse_wheel_filename do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.tags import parse_tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from xv.env.tagtext import expand, filename_tags

TAG_TEXT = st.text(st.sampled_from("aB3_-.x"), max_size=16)


def packagings(text: str) -> frozenset[str] | type[ValueError]:
    try:
        return frozenset(map(str, parse_tag(text)))
    except ValueError:
        return ValueError


def ours(text: str) -> frozenset[str] | type[ValueError]:
    try:
        return expand(text)
    except ValueError:
        return ValueError


@pytest.mark.parametrize(
    "text", ["py3-none-any", "py2.py3-none-ANY", "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
             "a-b", "a-b-c-d", "", "..-.-.", "1x-none-any", "py3-none-"],
)  # fmt: skip
def test_known_tags(text: str) -> None:
    assert ours(text) == packagings(text)


@given(TAG_TEXT)
def test_any_text_as_parse_tag(text: str) -> None:
    assert ours(text) == packagings(text)


@given(st.sampled_from(["foo", "Foo_Bar", "x"]), st.sampled_from(["1.0", "2.0rc1"]),
       st.sampled_from(["", "-1", "-2abc"]), TAG_TEXT)  # fmt: skip
def test_wheel_file_names_as_packaging(name: str, version: str, build: str, tags: str) -> None:
    filename = f"{name}-{version}{build}-{tags}.whl"
    try:
        expected = frozenset(map(str, parse_wheel_filename(filename)[3]))
    except (InvalidWheelFilename, ValueError):
        return  # refused by packaging: the installer checks name and version anyway
    assert filename_tags(filename) == expected


def test_not_a_wheel_name() -> None:
    assert filename_tags("foo-1.0.tar.gz") is None
    assert filename_tags("foo-py3-none-any.whl") is None
