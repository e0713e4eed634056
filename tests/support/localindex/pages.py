"""Render simple-API pages (PEP 691 JSON, PEP 503 HTML) and negotiate between them."""

from __future__ import annotations

import email
import hashlib
import html
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from .pkg import Pkg

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
API_VERSION = "1.1"
_EXACT_RANK = {JSON_TYPE: 2, HTML_TYPE: 1, TEXT_HTML: 0}
_WILDCARD_RANK = {TEXT_HTML: 2, JSON_TYPE: 1, HTML_TYPE: 0}


@dataclass(frozen=True)
class FileEntry:
    """One built artifact as the index lists it."""

    filename: str
    pkg: Pkg
    path: Path
    sha256: str
    size: int
    metadata: bytes | None  # the PEP 658 metadata file, for wheels

    @classmethod
    def from_path(cls, pkg: Pkg, path: Path) -> FileEntry:
        data = path.read_bytes()
        is_wheel = path.name.endswith(".whl")
        return cls(
            filename=path.name,
            pkg=pkg,
            path=path,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            metadata=pkg.metadata_text().encode("utf-8") if is_wheel else None,
        )

    @classmethod
    def from_real_file(cls, path: Path) -> FileEntry:
        """A real wheel or sdist: name and version from its file name, metadata from inside."""
        data = path.read_bytes()
        metadata = None
        if path.name.endswith(".whl"):
            name, version = parse_wheel_filename(path.name)[:2]
            with zipfile.ZipFile(path) as archive:
                member = next(
                    n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)
                )
                metadata = archive.read(member)
        else:
            name, version = parse_sdist_filename(path.name)
        requires_python = None
        if metadata is not None:
            requires_python = email.message_from_bytes(metadata).get("Requires-Python")
        return cls(
            filename=path.name,
            pkg=Pkg(str(name), str(version), requires_python=requires_python),
            path=path,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            metadata=metadata,
        )

    @property
    def metadata_sha256(self) -> str | None:
        return None if self.metadata is None else hashlib.sha256(self.metadata).hexdigest()

    @property
    def yanked(self) -> str | None:
        """None when not yanked, else the reason ("" for no reason)."""
        value = self.pkg.yanked
        if value is None or value is False:
            return None
        return "" if value is True else str(value)


UrlFor = Callable[[str], str]


def negotiate(accept: str | None, formats: Sequence[str]) -> str | None:
    """The content type to answer with, or None when nothing offered is acceptable.

    Higher q wins, then exact media types beat wildcards; ties go to JSON among
    exact matches, and to ``text/html`` (then JSON) among wildcard matches, so
    ``*/*`` gets HTML as a browser would.
    """
    offered = [t for t in (JSON_TYPE, HTML_TYPE, TEXT_HTML) if _format_of(t) in formats]
    if not accept:
        return None
    ranges = [_parse_range(part) for part in accept.split(",") if part.strip()]
    best: tuple[float, int, int] | None = None
    chosen = None
    for media_type in offered:
        q, specificity = _quality(media_type, ranges)
        if q <= 0:
            continue
        ranks = _EXACT_RANK if specificity == 2 else _WILDCARD_RANK
        score = (q, specificity, ranks[media_type])
        if best is None or score > best:
            best, chosen = score, media_type
    return chosen


def default_type(formats: Sequence[str]) -> str:
    return TEXT_HTML if "html" in formats else JSON_TYPE


def _format_of(media_type: str) -> str:
    return "json" if media_type == JSON_TYPE else "html"


def _parse_range(part: str) -> tuple[str, float]:
    media, *params = (p.strip() for p in part.split(";"))
    q = 1.0
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
    return media.lower(), q


def _quality(media_type: str, ranges: Iterable[tuple[str, float]]) -> tuple[float, int]:
    best_q, best_spec = 0.0, -1
    major = media_type.split("/")[0]
    for media, q in ranges:
        if media == media_type:
            spec = 2
        elif media == f"{major}/*":
            spec = 1
        elif media == "*/*":
            spec = 0
        else:
            continue
        if spec > best_spec:
            best_q, best_spec = q, spec
    return best_q, best_spec


# --- JSON ---------------------------------------------------------------------


def root_json(names: Iterable[str]) -> bytes:
    doc = {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]}
    return json.dumps(doc, indent=1).encode("utf-8")


def project_json(
    project: str, entries: Sequence[FileEntry], url_for: UrlFor, metadata_files: bool
) -> bytes:
    files = []
    for entry in entries:
        item: dict[str, object] = {
            "filename": entry.filename,
            "url": url_for(entry.filename),
            "hashes": {"sha256": entry.sha256},
        }
        if entry.pkg.requires_python:
            item["requires-python"] = entry.pkg.requires_python
        item["yanked"] = False if entry.yanked is None else (entry.yanked or True)
        if entry.pkg.upload_time:
            item["upload-time"] = entry.pkg.upload_time
        item["size"] = entry.size
        meta: object = False
        if metadata_files and entry.metadata_sha256:
            meta = {"sha256": entry.metadata_sha256}
        item["core-metadata"] = item["dist-info-metadata"] = meta
        files.append(item)
    doc = {
        "meta": {"api-version": API_VERSION},
        "name": project,
        "versions": _versions(entries),
        "files": files,
    }
    return json.dumps(doc, indent=1).encode("utf-8")


def _versions(entries: Sequence[FileEntry]) -> list[str]:
    def key(v: str) -> tuple[int, Version | str]:
        try:
            return (1, Version(v))
        except InvalidVersion:
            return (0, v)

    return sorted({e.pkg.norm_version for e in entries}, key=key)


# --- HTML ---------------------------------------------------------------------


def _html_doc(title: str, body_lines: Iterable[str]) -> bytes:
    head = (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        f'<meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n"
    )
    return (head + "".join(body_lines) + "</body>\n</html>\n").encode("utf-8")


def root_html(names: Iterable[tuple[str, str]]) -> bytes:
    """``names`` holds (normalised, display) pairs."""
    lines = [
        f'<a href="{html.escape(norm)}/">{html.escape(display)}</a><br/>\n'
        for norm, display in names
    ]
    return _html_doc("Simple index", lines)


def project_html(
    project: str, entries: Sequence[FileEntry], url_for: UrlFor, metadata_files: bool
) -> bytes:
    lines = [f"<h1>Links for {html.escape(project)}</h1>\n"]
    for entry in entries:
        attrs = [f'href="{html.escape(url_for(entry.filename))}#sha256={entry.sha256}"']
        if entry.pkg.requires_python:
            attrs.append(f'data-requires-python="{html.escape(entry.pkg.requires_python)}"')
        if entry.yanked is not None:
            attrs.append(f'data-yanked="{html.escape(entry.yanked)}"')
        if metadata_files and entry.metadata_sha256:
            value = f"sha256={entry.metadata_sha256}"
            attrs.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
        lines.append(f"<a {' '.join(attrs)}>{html.escape(entry.filename)}</a><br/>\n")
    return _html_doc(f"Links for {project}", lines)
