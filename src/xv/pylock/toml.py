"""The little TOML writing ``pylock.toml`` needs: strings, integers, booleans, offset
date-times, arrays and inline tables, in uv's spacing (``{ key = value }``).

Hand-written because the standard library reads TOML (:mod:`tomllib`) but cannot write it,
and a lock needs only these few value types; every lock the tests write is read back with
:mod:`tomllib`, which checks this writer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}  # fmt: skip
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def string(text: str) -> str:
    """A TOML basic string.

    >>> print(string('a "quoted" \\\\ path\\n'))
    "a \\"quoted\\" \\\\ path\\n"
    """
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:  # control characters are not allowed raw
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def key(name: str) -> str:
    return name if _BARE_KEY.match(name) else string(name)


def value(item: Any) -> str:
    """Any value a lock holds, inline.

    >>> value({"url": "u", "size": 3, "hashes": {"sha256": "ab"}})
    '{ url = "u", size = 3, hashes = { sha256 = "ab" } }'
    """
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, str):
        return string(item)
    if isinstance(item, datetime):
        return item.isoformat().replace("+00:00", "Z")
    if isinstance(item, Mapping):
        if not item:
            return "{}"
        return "{ " + ", ".join(f"{key(k)} = {value(v)}" for k, v in item.items()) + " }"
    if isinstance(item, Sequence):
        return "[" + ", ".join(value(v) for v in item) + "]"
    raise TypeError(f"cannot write {type(item).__name__} as TOML")


def array_of_inline_tables(name: str, items: Sequence[Mapping[str, Any]]) -> list[str]:
    """uv's layout: one table on the key's line, several one per line."""
    if len(items) == 1:
        return [f"{key(name)} = [{value(items[0])}]"]
    return [f"{key(name)} = [", *(f"    {value(item)}," for item in items), "]"]
