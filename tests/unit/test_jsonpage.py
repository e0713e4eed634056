"""Reading a PEP 691 page one file at a time agrees with ``json.loads`` on every document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from xv.index.jsonpage import page_text, walk_page

_scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_json = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(["files", "meta", "name", "versions", "x"])
_doc = st.dictionaries(_keys, _json | st.lists(_json, max_size=4), max_size=5) | _json
_layout = st.sampled_from(
    [{}, {"indent": 2}, {"separators": (",", ":")}, {"indent": "\t", "ensure_ascii": False}]
)


def _loads_way(text: str) -> tuple[Any, list[Any]] | type[ValueError]:
    """What a reader built on json.loads sees: the document with its files emptied, and
    the files; ValueError when json.loads refuses the text."""
    try:
        doc = json.loads(text)
    except ValueError:
        return ValueError
    if isinstance(doc, dict) and isinstance(doc.get("files"), list):
        return {**doc, "files": []}, doc["files"]
    return doc, []


def _walk_way(text: str) -> tuple[Any, list[Any]] | type[ValueError]:
    seen: list[Any] = []
    try:
        return walk_page(text, seen.append), seen
    except ValueError:
        return ValueError


@given(_doc, _layout, st.sampled_from(["", " ", "\n\t "]))
def test_a_document_reads_as_json_loads_reads_it(
    doc: Any, layout: dict[str, Any], pad: str
) -> None:
    text = pad + json.dumps(doc, **layout) + pad
    assert _walk_way(text) == _loads_way(text)


@given(_doc, st.data())
@example({"files": [1, 2]}, None)
def test_a_damaged_document_is_refused_as_json_loads_refuses_it(
    doc: Any, data: st.DataObject | None
) -> None:
    text = json.dumps(doc)
    if data is not None and text:
        at = data.draw(st.integers(0, len(text) - 1))
        damage = data.draw(st.sampled_from(["", ",", "]", "}", '"', ":", "[", "x", "\x01"]))
        text = text[:at] + damage + text[at + data.draw(st.integers(0, 2)) :]
    assert _walk_way(text) == _loads_way(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"files": [1,]}',
        '{"files": [1 2]}',
        '{"files": []',
        '{"a" 1}',
        "{,}",
        '{"files": [1]} x',
        '{"files": [1 ,\n ]}',
        '{"files": [1 \t x]}',
        '{"files": [1,,2]}',
        '{"files": [1 ,\r\n',
        '{"files": [1}',
    ],
)
def test_malformed_pages_raise_what_json_loads_raises(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as loads_error:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as walk_error:
        walk_page(text, lambda item: None)
    assert (walk_error.value.msg, walk_error.value.pos) == (
        loads_error.value.msg,
        loads_error.value.pos,
    )


def test_a_second_files_key_is_refused() -> None:
    """json.loads keeps the last; the first one's files were handed over already."""
    with pytest.raises(ValueError, match="two 'files' keys"):
        walk_page('{"files": [1], "files": [2]}', lambda item: None)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32-le"])
def test_bytes_are_decoded_as_json_loads_decodes_them(encoding: str) -> None:
    body = '{"files": [{"filename": "d\u00e9mo-1.0.tar.gz"}]}'.encode(encoding)
    seen: list[Any] = []
    walk_page(page_text(body), seen.append)
    assert seen == json.loads(body)["files"]


def test_a_text_with_a_byte_order_mark_is_refused_as_json_loads_refuses_it() -> None:
    with pytest.raises(json.JSONDecodeError, match="BOM"):
        page_text('\ufeff{"files": []}')
    with pytest.raises(json.JSONDecodeError, match="BOM"):
        json.loads('\ufeff{"files": []}')
