"""Read a PEP 691 JSON page one file entry at a time, with :mod:`json`'s own scanner.

``json.loads`` of a page that lists tens of thousands of files (pydantic-core: 15,000
files in 6.6 MB; botocore, grpcio) builds every entry's dict before the first one is
looked at: about 2.5x the body in short-lived dicts and strings (22 MB for
pydantic-core), all alive at once, which is most of a cold compile's peak memory.
Here only the document's outer object and its ``files`` array are walked by hand
(whitespace, ``,``, ``:``, brackets); every value, each file entry included, is decoded
by the standard library's scanner, the one ``json.loads`` uses, so strings, numbers,
escapes and every error are exactly its own. Each entry is handed over and dropped
before the next one is decoded.

>>> seen = []
>>> walk_page('{"meta": {"api-version": "1.1"}, "files": [{"filename": "a"}, 3]}', seen.append)
{'meta': {'api-version': '1.1'}, 'files': []}
>>> seen
[{'filename': 'a'}, 3]
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

# The C scanner json.loads uses (strict: control characters in strings are refused).
_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_WS = re.compile(r"[ \t\n\r]*")
# What follows an array's element: a comma and the space before the next, or the end.
_SEPARATOR = re.compile(r"[ \t\n\r]*+(?:(,)[ \t\n\r]*+|(\]))")


def page_text(data: bytes | str) -> str:
    """The document as ``json.loads`` reads it: bytes in UTF-8, -16 or -32 (RFC 8259
    detection), lone surrogates kept."""
    if isinstance(data, str):
        if data.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", data, 0)
        return data
    return data.decode(json.detect_encoding(data), "surrogatepass")


def walk_page(text: str, on_file: Callable[[Any], None]) -> dict[str, Any]:
    """The top-level object of ``text`` with its ``files`` array given as ``[]``; each
    element of that array goes to ``on_file`` as it is decoded, in order.

    A document that is not an object is decoded whole and returned as it is (the caller
    refuses it). A second ``files`` key is refused: ``json.loads`` would keep the last
    one, after the first one's files were handed over. Malformed JSON raises
    :class:`json.JSONDecodeError` as ``json.loads`` does.
    """
    idx = _WS.match(text, 0).end()  # type: ignore[union-attr]  # the pattern matches ""
    if text[idx : idx + 1] != "{":
        return json.loads(text)  # type: ignore[no-any-return]  # not a page (or not JSON)
    fields: dict[str, Any] = {}
    idx = _skip(text, idx + 1)
    if text[idx : idx + 1] == "}":
        return _end(text, idx + 1, fields)
    while True:
        if text[idx : idx + 1] != '"':
            raise json.JSONDecodeError(
                "Expecting property name enclosed in double quotes", text, idx
            )
        key, idx = json.decoder.scanstring(text, idx + 1)  # type: ignore[attr-defined]
        idx = _skip(text, idx)
        if text[idx : idx + 1] != ":":
            raise json.JSONDecodeError("Expecting ':' delimiter", text, idx)
        idx = _skip(text, idx + 1)
        if key == "files" and text[idx : idx + 1] == "[":
            if "files" in fields:
                raise ValueError("the page has two 'files' keys")
            fields[key] = []
            idx = _walk_array(text, idx + 1, on_file)
        else:
            fields[key], idx = _value(text, idx)
        idx = _skip(text, idx)
        if text[idx : idx + 1] == "}":
            return _end(text, idx + 1, fields)
        if text[idx : idx + 1] != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, idx)
        idx = _skip(text, idx + 1)


def _walk_array(text: str, idx: int, on_item: Callable[[Any], None]) -> int:
    """Hand each element of the array opened before ``idx`` to ``on_item``; the index
    after its ``]``. (Once per file of a page: one scan and one separator match each.)"""
    idx = _skip(text, idx)
    if text[idx : idx + 1] == "]":
        return idx + 1
    scan, separator = _SCAN, _SEPARATOR.match
    while True:
        try:  # _value, inlined: a call less per file
            item, idx = scan(text, idx)
        except StopIteration as stop:
            raise json.JSONDecodeError("Expecting value", text, stop.value) from None
        on_item(item)
        del item  # dropped before the next one is decoded
        found = separator(text, idx)
        if found is None:
            raise json.JSONDecodeError("Expecting ',' delimiter", text, _skip(text, idx))
        if found.lastindex == 2:  # the closing bracket
            return found.end()
        idx = found.end()


def _value(text: str, idx: int) -> tuple[Any, int]:
    try:
        return _SCAN(text, idx)  # type: ignore[no-any-return]
    except StopIteration as stop:
        raise json.JSONDecodeError("Expecting value", text, stop.value) from None


def _skip(text: str, idx: int) -> int:
    return _WS.match(text, idx).end()  # type: ignore[union-attr]


def _end(text: str, idx: int, fields: dict[str, Any]) -> dict[str, Any]:
    idx = _skip(text, idx)
    if idx != len(text):
        raise json.JSONDecodeError("Extra data", text, idx)
    return fields
