"""The few METADATA fields resolution reads, from the email headers of a METADATA file.

Read with the standard library's email parser (``BytesHeaderParser``, the ``compat32``
policy), the parser ``packaging.metadata.parse_email`` uses, and with its rules, so the two
agree on every input (tests/unit/test_coremeta.py checks that on a table and on generated
METADATA): header names are case-insensitive; a single-use field given more than once is
left out; a field with a value that is not UTF-8 is left out. What it skips, and why it is
~2x faster than ``parse_email`` with ~3x less to import: ``email.policy`` (the richer header
classes), the body (the long description), and every other field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The fields read, each with whether it may repeat (the rest of the core metadata is not read).
FIELDS: Mapping[str, bool] = {
    "name": False,
    "version": False,
    "requires-python": False,
    "requires-dist": True,
    "provides-extra": True,
}


def read_fields(data: bytes) -> dict[str, list[str]]:
    """The :data:`FIELDS` found in METADATA ``data``, each with its values in order (a
    single-use field only when given once).

    >>> read_fields(b"Name: a\\nrequires-dist: b\\nRequires-Dist: c\\nName: a\\n\\nbody")
    {'requires-dist': ['b', 'c']}
    """
    from email.parser import BytesHeaderParser  # its default policy is compat32

    message = BytesHeaderParser().parsebytes(_header_section(data))
    found: dict[str, list[str]] = {}
    invalid: set[str] = set()
    for key, value in message.items():
        name = key.lower()
        if name not in FIELDS:
            continue
        text = value if isinstance(value, str) else _utf8(value)
        if text is None:
            invalid.add(name)
        else:
            found.setdefault(name, []).append(text)
    return {
        name: values
        for name, values in found.items()
        if name not in invalid and (FIELDS[name] or len(values) == 1)
    }


def _header_section(data: bytes) -> bytes:
    """``data`` up to the end of the line before its first empty line: the parser's headers
    end there at the latest, and the body (the long description, most of a METADATA file)
    need not go through it. (An empty line after another line ending is left to the parser.)"""
    lf, crlf = data.find(b"\n\n"), data.find(b"\r\n\r\n")
    ends = [end for end in (lf + 1 if lf >= 0 else -1, crlf + 2 if crlf >= 0 else -1) if end > 0]
    return data[: min(ends)] if ends else data


def _utf8(header: Any) -> str | None:
    """A header the parser could not decode as ASCII (an ``email.header.Header`` holding
    the raw bytes) as UTF-8, as ``parse_email`` decodes it; None when it is not UTF-8."""
    from email.header import decode_header, make_header

    chunks: list[tuple[bytes, str]] = []
    for binary, _charset in decode_header(header):
        try:
            binary.decode("utf8", "strict")
        except UnicodeDecodeError:
            return None
        chunks.append((binary, "utf8"))
    return str(make_header(chunks))
