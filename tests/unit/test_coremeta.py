"""METADATA fields by the email header parser: the same as packaging's ``parse_email``."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.metadata import parse_email

from xv.index.coremeta import FIELDS, read_fields


def by_packaging(data: bytes) -> dict[str, list[str]]:
    """``parse_email``'s answer for the fields :func:`read_fields` reads."""
    raw: dict[str, object] = dict(parse_email(data)[0])
    found = {field: raw.get(field.replace("-", "_")) for field in FIELDS}
    return {
        field: value if isinstance(value, list) else [value]
        for field, value in found.items()
        if isinstance(value, str | list)
    }


CASES = [
    (b"Name: a\nVersion: 1\n", {"name": ["a"], "version": ["1"]}),
    (  # names in any case; repeatable fields in order; the body is not read
        b"NAME: a\nversion: 1\nRequires-Dist: b\nrequires-dist: c; extra == 'x'\n"
        b"Provides-Extra: x\nRequires-Python: >=3.8\n\nName: body\nRequires-Dist: d\n",
        {
            "name": ["a"],
            "version": ["1"],
            "requires-dist": ["b", "c; extra == 'x'"],
            "provides-extra": ["x"],
            "requires-python": [">=3.8"],
        },
    ),
    # a single-use field given twice is left out, as packaging leaves it to "unparsed"
    (b"Name: a\nVersion: 1\nVersion: 2\nRequires-Python: >=3\nrequires-python: <4\n", {"name": ["a"]}),
    # a value that is not UTF-8 is left out (that field only); UTF-8 is decoded
    (b"Name: \xc3\xa9t\xc3\xa9\nVersion: 1\nRequires-Dist: b\nRequires-Dist: \xff\n", {"name": ["été"], "version": ["1"]}),
    (b"Name: a\r\nVersion: 1\r\nRequires-Dist: b\r\n\r\nbody\r\n", {"name": ["a"], "version": ["1"], "requires-dist": ["b"]}),
    # a folded line keeps its line break, as the compat32 policy gives it
    (b"Name: a\nRequires-Dist: b;\n  extra == 'x'\nVersion: 1", {"name": ["a"], "requires-dist": ["b;\n  extra == 'x'"], "version": ["1"]}),
    (b"Name:\nVersion: 1\nRequires-Python:\n", {"name": [""], "version": ["1"], "requires-python": [""]}),
    # a line that is no header ends the headers (the parser's rule)
    (b"Name: a\nnot a header\nVersion: 1\n", {"name": ["a"]}),
    (b"Name: a\r\n\nVersion: 1\n", {"name": ["a"]}),
    (b"Name: a\n\r\nVersion: 1\n", {"name": ["a"]}),
    (b"Name: =?utf-8?q?a?=\nVersion: 1\n", {"name": ["=?utf-8?q?a?="], "version": ["1"]}),
    (b"", {}),
    (b"\n\nName: a\n", {}),
]  # fmt: skip


@pytest.mark.parametrize(("data", "fields"), CASES)
def test_fields_as_packaging_reads_them(data: bytes, fields: dict[str, object]) -> None:
    assert read_fields(data) == fields
    assert by_packaging(data) == fields


def test_installed_metadata_files_read_alike() -> None:
    # Real-world METADATA: every distribution installed beside the tests.
    files = list(Path(sysconfig.get_paths()["purelib"]).glob("*.dist-info/METADATA"))
    assert len(files) > 10
    for path in files:
        data = path.read_bytes()
        assert read_fields(data) == by_packaging(data), path
        assert read_fields(data).get("name")


_names = st.sampled_from(
    [*FIELDS, "Metadata-Version", "Summary", "Classifier", "Dynamic", "Description", "X-Odd"]
).flatmap(lambda name: st.sampled_from([name, name.upper(), name.title(), name.lower()]))
_values = st.one_of(
    st.sampled_from(["a", "1.0", "b>=1; extra == 'x'", ">=3.8", "", " padded ", "=?utf-8?q?x?="]),
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=12),
).map(lambda text: text.encode())
_raw_values = st.binary(max_size=8).filter(lambda b: b"\n" not in b and b"\r" not in b)
_lines = st.lists(
    st.tuples(_names, _values | _raw_values, st.booleans()), max_size=12
)  # (name, value, folded onto a second line)


@given(_lines, st.sampled_from([b"\n", b"\r\n"]), st.binary(max_size=40), st.booleans())
def test_generated_metadata_reads_alike(
    lines: list[tuple[str, bytes, bool]], eol: bytes, body: bytes, blank: bool
) -> None:
    head = b""
    for name, value, folded in lines:
        fold = eol + b"  more" if folded else b""
        head += name.encode() + b": " + value + fold + eol
    data = head + (eol + body if blank else b"")
    assert read_fields(data) == by_packaging(data)
