"""Parse PEP 691 JSON and PEP 503 HTML project pages into immutable values.

Pure functions, no I/O except :func:`files_from_directory` (which only lists a
directory): the index client fetches bytes and hands them here.

Everything stays a string on purpose (versions are not parsed, hashes are not
checked) because a project such as botocore lists thousands of files and the
resolver looks at only a few of them; :func:`xv.index.filenames.dist_name_version`
parses a filename when it is needed. The rows of a JSON page are read by
:mod:`xv.index.jsonpage`, file names by :mod:`xv.index.filenames`: both apart from this
module's records, for a page worker's sake.

>>> page = parse_json(b'{"meta": {"api-version": "1.1"}, "name": "Demo", "files": ['
...     b'{"filename": "demo-1.0.tar.gz", "url": "../../f/demo-1.0.tar.gz",'
...     b' "hashes": {"sha256": "ab"}, "yanked": "broken"}]}',
...     "https://example.org/simple/demo/", "Demo")
>>> page.name, page.files[0].url, page.files[0].yanked
('demo', 'https://example.org/f/demo-1.0.tar.gz', 'broken')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import field
from pathlib import Path
from urllib.parse import urljoin

from xv.index.filenames import ABSOLUTE, is_dist_filename, url_filename
from xv.index.jsonpage import Row, check_api_version, content_type_is_json, scan_json_rows
from xv.names import canonicalize_name
from xv.records import slotted_record

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)

# Hash names we accept in an href fragment; anything else is a plain fragment.
_HASH_NAMES = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})


@slotted_record
class DistFile:
    """One file of a project on an index (a wheel or an sdist)."""

    filename: str
    url: str  # absolute
    hashes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    requires_python: str | None = None
    yanked: str | None = None  # None: not yanked; "" : yanked without a reason
    upload_time: str | None = None  # ISO 8601 as the index gives it
    size: int | None = None
    # PEP 658/714: None when no metadata file is advertised, else the hashes of
    # the metadata file (possibly empty when advertised as plain "true").
    metadata_hashes: dict[str, str] | None = field(default=None, compare=False, hash=False)

    @property
    def has_metadata_file(self) -> bool:
        return self.metadata_hashes is not None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def is_yanked(self) -> bool:
        return self.yanked is not None

    @property
    def metadata_url(self) -> str:
        """Where PEP 658 puts the core metadata file: the file URL plus ``.metadata``."""
        return self.url + ".metadata"


@slotted_record
class ProjectPage:
    """A project's file listing on one index."""

    name: str  # normalised
    # A tuple, or from the cache an xv.index.pageform.FileList (decoded when read).
    files: Sequence[DistFile]
    index_url: str  # the index (or find-links location) it came from
    # PEP 700 ``versions`` (JSON only; empty when the index does not say).
    versions: tuple[str, ...] = ()


# -- JSON ----------------------------------------------------------------------


def parse_page(
    body: bytes | str, content_type: str, page_url: str, name: str, *, index_url: str | None = None
) -> ProjectPage:
    """Parse a project page as JSON or HTML according to its Content-Type."""
    if content_type_is_json(content_type):
        return parse_json(body, page_url, name, index_url=index_url)
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return parse_html(text, page_url, name, index_url=index_url)


def parse_json(
    data: bytes | str, page_url: str, name: str, *, index_url: str | None = None
) -> ProjectPage:
    """Parse a PEP 691 project page (with PEP 700 and PEP 714 fields).

    ``index_url`` defaults to ``page_url``. Raises :class:`ValueError` when the
    body is not a JSON object with a ``files`` list, declares an ``api-version``
    whose major version is not 1 (PEP 691: refuse what we do not know), or lists
    a file whose ``hashes`` is not a mapping of strings (accepting it would
    install that file with no hash check).
    """
    rows, versions = json_rows(data, page_url)
    return ProjectPage(
        name=canonicalize_name(name),
        files=tuple(DistFile(*row) for row in rows),
        index_url=index_url or page_url,
        versions=versions,
    )


def json_rows(data: bytes | str, page_url: str) -> tuple[list[Row], tuple[str, ...]]:
    """A PEP 691 page's files as rows in :class:`DistFile`'s field order, and its PEP 700
    ``versions``; :class:`ValueError` as :func:`parse_json`."""
    rows: list[Row] = []
    versions = scan_json_rows(data, page_url, rows.append)
    return rows, versions


# -- HTML ----------------------------------------------------------------------


def parse_html(text: str, page_url: str, name: str, *, index_url: str | None = None) -> ProjectPage:
    """Parse a PEP 503 project page; every anchor with an ``href`` is a file.

    ``<base href>`` applies to the whole document, as in browsers and pip.
    """
    from xv.index.anchors import parse_anchors

    parser = parse_anchors(text)
    check_api_version(parser.api_version)
    anchors, base = parser.anchors, parser.base
    base_url = urljoin(page_url, base) if base is not None else page_url
    files = tuple(_html_file(attrs, label, base_url) for attrs, label in anchors)
    return ProjectPage(name=canonicalize_name(name), files=files, index_url=index_url or page_url)


def parse_find_links_html(text: str, page_url: str) -> list[DistFile]:
    """The distributions linked from a ``--find-links`` HTML page.

    Unlike a PEP 503 page, such a page may link to anything; only anchors whose
    URL (or, failing that, text) names a wheel or sdist are kept.
    """
    anchors, base = _collect_anchors(text)
    base_url = urljoin(page_url, base) if base is not None else page_url
    found: list[DistFile] = []
    for attrs, label in anchors:
        dist = _html_file(attrs, label, base_url)
        from_url = url_filename(dist.url)
        if is_dist_filename(from_url):
            found.append(_replace_filename(dist, from_url))
        elif is_dist_filename(dist.filename):
            found.append(dist)
    return found


def _collect_anchors(text: str) -> tuple[list[tuple[dict[str, str | None], str]], str | None]:
    from xv.index.anchors import parse_anchors

    parser = parse_anchors(text)
    return parser.anchors, parser.base


def _html_file(attrs: dict[str, str | None], label: str, base_url: str) -> DistFile:
    href = (attrs.get("href") or "").strip()
    url, _, fragment = href.partition("#")
    if not url.startswith(ABSOLUTE):
        url = urljoin(base_url, url)
    hashes: dict[str, str] = {}
    hash_name, sep, hash_value = fragment.partition("=")
    if sep and hash_name in _HASH_NAMES and hash_value:
        hashes[hash_name] = hash_value
    meta = attrs.get("data-core-metadata")
    if meta is None:
        meta = attrs.get("data-dist-info-metadata")
    # A bare ``data-yanked`` attribute has the value None: yanked, no reason.
    yanked = (attrs["data-yanked"] or "") if "data-yanked" in attrs else None
    return DistFile(
        filename=label or url_filename(url),
        url=url,
        hashes=hashes,
        requires_python=(attrs.get("data-requires-python") or "").strip() or None,
        yanked=yanked,
        metadata_hashes=_html_metadata(meta),
    )


def _html_metadata(value: str | None) -> dict[str, str] | None:
    """``data-core-metadata``: ``"true"`` or ``"<hashname>=<hashvalue>"`` (PEP 658)."""
    if value is None:
        return None
    value = value.strip()
    if value.lower() == "true":
        return {}
    name, sep, digest = value.partition("=")
    if sep and name and digest:
        return {name: digest}
    return None


def _replace_filename(dist: DistFile, filename: str) -> DistFile:
    if dist.filename == filename:
        return dist
    return DistFile(
        filename=filename,
        url=dist.url,
        hashes=dist.hashes,
        requires_python=dist.requires_python,
        yanked=dist.yanked,
        upload_time=dist.upload_time,
        size=dist.size,
        metadata_hashes=dist.metadata_hashes,
    )


# -- find-links ----------------------------------------------------------------


def files_from_directory(path: str | os.PathLike[str]) -> list[DistFile]:
    """The wheels and sdists directly inside a ``--find-links`` directory, by name.

    URLs are ``file://`` URLs; sizes come from ``stat``; hashes are not computed.
    """
    found: list[DistFile] = []
    with os.scandir(path) as entries:
        for entry in entries:
            if not is_dist_filename(entry.name) or not entry.is_file():
                continue
            found.append(
                DistFile(
                    filename=entry.name,
                    url=Path(entry.path).resolve().as_uri(),
                    size=entry.stat().st_size,
                )
            )
    found.sort(key=lambda d: d.filename)
    return found


# -- filenames -----------------------------------------------------------------
