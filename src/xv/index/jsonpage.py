"""Read a PEP 691 JSON page one file entry at a time, with :mod:`json`'s own scanner,
each file as a row of :class:`~xv.index.simple.DistFile`'s fields (:func:`scan_json_rows`).

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

Apart from :mod:`xv.index.simple` (whose records load :mod:`dataclasses`): a page worker
(:mod:`xv.index.pageworker`) imports nothing it does not use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, NoReturn
from urllib.parse import urljoin

from xv.index.filenames import ABSOLUTE, url_filename

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


# -- a page's files as rows ----------------------------------------------------


def content_type_is_json(content_type: str) -> bool:
    """Whether a Content-Type header names the PEP 691 JSON format.

    >>> content_type_is_json("application/vnd.pypi.simple.v1+json; charset=utf-8")
    True
    >>> content_type_is_json("text/html")
    False
    """
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/vnd.pypi.simple.v1+json" or mime == "application/json"


Row = tuple[str, str, dict[str, str], "str | None", "str | None", "str | None", "int | None", Any]


def scan_json_rows(
    data: bytes | str,
    page_url: str,
    on_row: Callable[[Row], object],
    keep: Callable[[str], bool] | None = None,
) -> tuple[str, ...]:
    """Hand each file of a PEP 691 page to ``on_row`` as a row in
    :class:`~xv.index.simple.DistFile`'s
    field order, in page order (what :func:`xv.index.simple.parse_json` makes its files of,
    and the cache form keeps without making them), and return the page's PEP 700
    ``versions``.

    The page is read one entry at a time (:func:`walk_page`): no list of every entry's
    dict is built. :class:`ValueError` as :func:`~xv.index.simple.parse_json`, in the same
    order: a malformed document, then one that is no page, then an unknown API
    version, then a bad file (rows handed over before it are to be thrown away).

    ``keep``: only the entries whose ``filename`` it keeps become rows (an entry without
    one always does); the others are decoded, as JSON, and dropped unread.
    """
    bad: list[ValueError] = []

    def take(entry: object) -> None:
        if type(entry) is dict and not bad:
            if keep is not None:
                filename = entry.get("filename")
                if type(filename) is str and filename and not keep(filename):
                    return
            try:
                on_row(_json_row(entry, page_url))
            except ValueError as exc:  # raised after the checks json_rows made first
                bad.append(exc)

    doc = walk_page(page_text(data), take)
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise ValueError(f"{page_url}: not a PEP 691 project page")
    meta = doc.get("meta")
    check_api_version(meta.get("api-version") if isinstance(meta, dict) else None)
    if bad:
        raise bad[0]
    versions = doc.get("versions")
    return tuple(str(v) for v in versions) if isinstance(versions, list) else ()


def _json_row(entry: dict[str, Any], page_url: str) -> Row:
    url = entry.get("url") or ""
    if not url.startswith(ABSOLUTE):
        url = urljoin(page_url, url)
    hashes = entry.get("hashes", {})
    # JSON object keys are always strings: only the values need checking.
    if type(hashes) is not dict:
        _bad_hashes(entry, url)
    for value in hashes.values():
        if type(value) is not str:
            _bad_hashes(entry, url)
    meta = entry.get("core-metadata")
    if meta is None:
        meta = entry.get("dist-info-metadata")
    size = entry.get("size")
    yanked = entry.get("yanked")
    # A plain tuple in DistFile's field order: a page lists up to tens of thousands of files.
    return (
        entry.get("filename") or url_filename(url),
        url,
        hashes,
        entry.get("requires-python") or None,
        None if yanked is None or yanked is False else _json_yanked(yanked),
        entry.get("upload-time"),
        size if type(size) is int else None,
        None if meta is None or meta is False else _json_metadata(meta),
    )


def _bad_hashes(entry: dict[str, Any], url: str) -> NoReturn:
    raise ValueError(f"{entry.get('filename') or url}: 'hashes' is not a mapping of strings")


def check_api_version(value: object) -> None:
    """Refuse a repository API version (PEP 629/691) whose major version is not 1.

    >>> check_api_version("1.3"), check_api_version(None)
    (None, None)
    >>> check_api_version("2.0")
    Traceback (most recent call last):
    ...
    ValueError: unsupported repository API version 2.0 (xv reads 1.x)
    """
    if value is None:
        return
    major = str(value).strip().split(".", 1)[0]
    if major != "1":
        raise ValueError(f"unsupported repository API version {value} (xv reads 1.x)")


def _json_yanked(value: object) -> str | None:
    if value is None or value is False:
        return None
    if value is True:
        return ""
    return str(value)


def _json_metadata(value: object) -> dict[str, str] | None:
    if value is True:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return None
