"""The anchors of a PEP 503 HTML page, read by the standard library's HTML parser.

A module of its own so that :mod:`html.parser` (~7 ms) loads only when an HTML page is
parsed: pages read from the cache, and JSON pages, never need it.
"""

from __future__ import annotations

from html.parser import HTMLParser


class AnchorParser(HTMLParser):
    """Collects ``(attrs, text)`` of every ``<a href>`` and the first ``<base href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.base: str | None = None
        self.api_version: str | None = None  # <meta name="pypi:repository-version">
        self._attrs: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._close_anchor()
            found = dict(attrs)
            if found.get("href"):
                self._attrs = found
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href") or None
        elif tag == "meta" and dict(attrs).get("name") == "pypi:repository-version":
            self.api_version = dict(attrs).get("content")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "a":
            self._close_anchor()

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close_anchor()

    def handle_data(self, data: str) -> None:
        if self._attrs is not None:
            self._text.append(data)

    def _close_anchor(self) -> None:
        if self._attrs is not None:
            self.anchors.append((self._attrs, "".join(self._text).strip()))
            self._attrs = None
            self._text = []

    def close(self) -> None:
        super().close()
        self._close_anchor()


def parse_anchors(text: str) -> AnchorParser:
    """The anchors, ``<base>`` and repository version of an HTML page."""
    parser = AnchorParser()
    parser.feed(text)
    parser.close()
    return parser
