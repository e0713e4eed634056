"""Parse PEP 691 JSON and PEP 503 HTML project pages into immutable values.

Pure functions, no I/O except :func:`files_from_directory` (which only lists a
directory): the index client fetches bytes and hands them here.

Everything stays a string on purpose (versions are not parsed, hashes are not
checked) because a project such as botocore lists thousands of files and the
resolver looks at only a few of them; :func:`dist_name_version` parses a
filename when it is needed.

>>> page = parse_json(b'{"meta": {"api-version": "1.1"}, "name": "Demo", "files": ['
...     b'{"filename": "demo-1.0.tar.gz", "url": "../../f/demo-1.0.tar.gz",'
...     b' "hashes": {"sha256": "ab"}, "yanked": "broken"}]}',
...     "https://example.org/simple/demo/", "Demo")
>>> page.name, page.files[0].url, page.files[0].yanked
('demo', 'https://example.org/f/demo-1.0.tar.gz', 'broken')
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import field
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote, urljoin, urlsplit

from packaging.version import InvalidVersion, Version

from xv.env.tagtext import wheel_parts
from xv.index import jsonpage
from xv.names import canonicalize_name
from xv.records import slotted_record

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)

SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar")
# Hash names we accept in an href fragment; anything else is a plain fragment.
_HASH_NAMES = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})
_ABSOLUTE = ("https://", "http://", "file://")
_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")


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


def content_type_is_json(content_type: str) -> bool:
    """Whether a Content-Type header names the PEP 691 JSON format.

    >>> content_type_is_json("application/vnd.pypi.simple.v1+json; charset=utf-8")
    True
    >>> content_type_is_json("text/html")
    False
    """
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/vnd.pypi.simple.v1+json" or mime == "application/json"


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


Row = tuple[str, str, dict[str, str], "str | None", "str | None", "str | None", "int | None", Any]


def json_rows(data: bytes | str, page_url: str) -> tuple[list[Row], tuple[str, ...]]:
    """A PEP 691 page's files as rows in :class:`DistFile`'s field order, and its PEP 700
    ``versions``; :class:`ValueError` as :func:`parse_json`."""
    rows: list[Row] = []
    versions = scan_json_rows(data, page_url, rows.append)
    return rows, versions


def scan_json_rows(
    data: bytes | str, page_url: str, on_row: Callable[[Row], object]
) -> tuple[str, ...]:
    """Hand each file of a PEP 691 page to ``on_row`` as a row in :class:`DistFile`'s
    field order, in page order (what :func:`parse_json` makes its files of, and the cache
    form keeps without making them), and return the page's PEP 700 ``versions``.

    The page is read one entry at a time (:mod:`xv.index.jsonpage`): no list of every
    entry's dict is built. :class:`ValueError` as :func:`parse_json`, and in the same
    order: a malformed document, then one that is no page, then an unknown API
    version, then a bad file (rows handed over before it are to be thrown away).
    """
    bad: list[ValueError] = []

    def take(entry: object) -> None:
        if type(entry) is dict and not bad:
            try:
                on_row(_json_row(entry, page_url))
            except ValueError as exc:  # raised after the checks json_rows made first
                bad.append(exc)

    doc = jsonpage.walk_page(jsonpage.page_text(data), take)
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
    if not url.startswith(_ABSOLUTE):
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
        entry.get("filename") or _url_filename(url),
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
        from_url = _url_filename(dist.url)
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
    if not url.startswith(_ABSOLUTE):
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
        filename=label or _url_filename(url),
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


def _url_filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


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


def file_version(project: str, filename: str) -> Version | None:
    """The version of ``project`` that a wheel or sdist file holds; None when it is none.

    Cached and quick on wheels (a page lists thousands of files, each read many
    times); a file whose name is another project's is not a file of ``project``.

    >>> file_version("cffi", "cffi-2.0.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    <Version('2.0.0')>
    >>> file_version("cffi", "cffi-1.0.2-2.tar.gz")  # not cffi 2: an old post-release
    <Version('1.0.2.post2')>
    >>> file_version("cffi", "cffi_ext-1.0.tar.gz") is None
    True
    """
    return _file_version(_canonical(project), filename)


# Names repeat across a page's files (and the project's across calls): parsed once each.
_canonical = lru_cache(maxsize=8192)(canonicalize_name)


def parse_file_version(project: str, filename: str) -> Version | None:
    """:func:`file_version` for a canonical ``project``, parsed each time: for a pass over
    a page's files, each met once (the cache would only hold them)."""
    if filename.endswith(".whl"):
        parts = wheel_parts(filename)
        if parts is not None and _canonical(parts[0]) == project:
            return parsed_version(parts[1])
    elif not filename.lower().endswith(SDIST_SUFFIXES):
        return None
    else:
        # The usual sdist, "<project>-<version><suffix>": the first dash whose prefix
        # names the project is this one (a shorter prefix has a shorter canonical
        # name), so dist_name_version would pick it too; it is only quicker, and the
        # version object is shared with the wheels of that version.
        n = len(project)
        head = filename[:n]
        if filename[n : n + 1] == "-" and _NAME_RE.match(head) and _canonical(head) == project:
            rest = filename[n + 1 :]
            suffix = next(s for s in SDIST_SUFFIXES if rest.lower().endswith(s))
            found_version = parsed_version(rest[: -len(suffix)])
            if found_version is not None:
                return found_version
    found = dist_name_version(filename, project)
    return found[1] if found is not None and found[0] == project else None


_file_version = lru_cache(maxsize=65536)(parse_file_version)


@lru_cache(maxsize=65536)
def parsed_version(text: str) -> Version | None:
    """``Version(text)``, None when it is none; kept: a cold run parses each version of a
    page while grouping its files, and the resolver's list of the page's versions
    (:func:`xv.resolver.candidates.build_candidates`) asks for the same texts again."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


def is_dist_filename(filename: str) -> bool:
    """Whether a filename has the suffix of a wheel or an sdist we can use."""
    lower = filename.lower()
    return lower.endswith(".whl") or lower.endswith(SDIST_SUFFIXES)


def dist_name_version(filename: str, project: str | None = None) -> tuple[str, Version] | None:
    """The normalised project name and version a wheel or sdist filename names.

    Returns None for other files (``.exe``, ``.egg``, ...) and unparsable names.
    For sdists, whose names are often not normalised, ``project`` says where the
    name ends; without it (or when it does not match) the first dash followed by
    a valid version splits the stem.

    >>> dist_name_version("Django-4.2.tar.gz")
    ('django', <Version('4.2')>)
    >>> dist_name_version("python-dateutil-2.8.2.tar.gz", "python_dateutil")
    ('python-dateutil', <Version('2.8.2')>)
    >>> dist_name_version("pip-24.0-py3-none-any.whl")
    ('pip', <Version('24.0')>)
    >>> dist_name_version("pywin32-306.win32-py3.8.exe") is None
    True
    """
    if filename.endswith(".whl"):
        # packaging.utils loads packaging.tags: only where a wheel's name is parsed
        from packaging.utils import InvalidWheelFilename, parse_wheel_filename

        try:
            name, version, _build, _tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            return None
        return name, version
    lower = filename.lower()
    for suffix in SDIST_SUFFIXES:
        if lower.endswith(suffix):
            return _split_sdist_stem(filename[: -len(suffix)], project)
    return None


def _split_sdist_stem(stem: str, project: str | None) -> tuple[str, Version] | None:
    dashes = [i for i, c in enumerate(stem) if c == "-"]
    if project is not None:
        wanted = canonicalize_name(project)
        for i in dashes:
            if canonicalize_name(stem[:i]) == wanted:
                parsed = _name_version(stem[:i], stem[i + 1 :])
                if parsed is not None:
                    return parsed
    for i in dashes:
        parsed = _name_version(stem[:i], stem[i + 1 :])
        if parsed is not None:
            return parsed
    return None


def _name_version(name: str, version: str) -> tuple[str, Version] | None:
    if not _NAME_RE.match(name) or not version:
        return None
    try:
        return canonicalize_name(name), Version(version)
    except InvalidVersion:
        return None
