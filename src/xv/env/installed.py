"""The distributions installed in an environment, read from its site-packages.

Reads ``*.dist-info`` (and legacy ``*.egg-info``) directories directly, without
running the target interpreter: only the ``Name``/``Version`` headers of
``METADATA``, ``INSTALLER`` and ``direct_url.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from xv.env.interpreter import Interpreter


@dataclass(frozen=True)
class InstalledDist:
    """One installed distribution.

    ``version`` is the text of the ``Version`` header (it may not be a valid PEP 440
    version in old installs; see :attr:`parsed_version`). ``duplicates`` holds other
    metadata directories claiming the same project, e.g. left behind by an
    interrupted upgrade; a sync replaces the whole set. ``complete`` is False for a
    ``.dist-info`` directory without RECORD: an install interrupted before its last write.
    """

    name: str  # as METADATA spells it
    version: str
    dist_info_path: Path  # the .dist-info or .egg-info directory (or egg-info file)
    installer: str | None = None
    direct_url: dict[str, Any] | None = field(default=None, hash=False, compare=False)
    editable: bool = False
    duplicates: tuple[InstalledDist, ...] = ()
    complete: bool = True

    @property
    def canonical_name(self) -> str:
        return canonicalize_name(self.name)

    @property
    def parsed_version(self) -> Version | None:
        try:
            return Version(self.version)
        except InvalidVersion:
            return None

    @property
    def is_egg_info(self) -> bool:
        return self.dist_info_path.name.endswith(".egg-info")

    @property
    def url(self) -> str | None:
        """The URL it was installed from (``direct_url.json``), if any."""
        if self.direct_url is None:
            return None
        url = self.direct_url.get("url")
        return url if isinstance(url, str) else None


def installed_distributions(interp: Interpreter) -> dict[str, InstalledDist]:
    """Every distribution in ``interp``'s purelib and platlib, by canonical name."""
    found: dict[str, list[InstalledDist]] = {}
    for site in interp.site_packages:
        for dist in scan_site_packages(site):
            found.setdefault(dist.canonical_name, []).append(dist)
    out = {}
    for name, dists in found.items():
        # The newest metadata directory wins: after an interrupted upgrade it is the new one.
        dists.sort(key=_mtime, reverse=True)
        out[name] = dists[0] if len(dists) == 1 else _with_duplicates(dists[0], dists[1:])
    return out


def scan_site_packages(site: Path) -> list[InstalledDist]:
    """The distributions whose metadata lives directly in ``site``."""
    try:
        entries = sorted(os.scandir(site), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    out = []
    for entry in entries:
        if entry.name.endswith(".dist-info") and entry.is_dir():
            dist = read_dist_info(Path(entry.path))
        elif entry.name.endswith(".egg-info"):
            dist = read_egg_info(Path(entry.path))
        else:
            continue
        if dist is not None:
            out.append(dist)
    return out


def read_dist_info(path: Path) -> InstalledDist | None:
    headers = read_metadata_headers(path / "METADATA")
    if headers is None:
        return None
    name, version = headers
    direct_url = _read_json(path / "direct_url.json")
    dir_info = direct_url.get("dir_info") if direct_url else None
    return InstalledDist(
        name=name,
        version=version,
        dist_info_path=path,
        installer=_read_text(path / "INSTALLER"),
        direct_url=direct_url,
        editable=bool(isinstance(dir_info, dict) and dir_info.get("editable")),
        complete=(path / "RECORD").is_file(),
    )


def read_egg_info(path: Path) -> InstalledDist | None:
    metadata = path / "PKG-INFO" if path.is_dir() else path
    headers = read_metadata_headers(metadata)
    if headers is None:
        return None
    installer = _read_text(path / "INSTALLER") if path.is_dir() else None
    return InstalledDist(
        name=headers[0], version=headers[1], dist_info_path=path, installer=installer
    )


def metadata_headers(path: Path) -> Iterator[tuple[str, str]]:
    """``(lower-cased key, value)`` of each line of a core metadata file's header block
    (the long description after it is not read). Raises OSError."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                return  # the body (long description) starts here
            key, sep, value = line.partition(":")
            if sep:
                yield key.strip().lower(), value.strip()


def read_metadata_headers(path: Path) -> tuple[str, str] | None:
    """``(Name, Version)`` from a core metadata file, reading only its header block."""
    name = version = None
    try:
        for key, value in metadata_headers(path):
            if key == "name" and name is None:
                name = value
            elif key == "version" and version is None:
                version = value
            if name is not None and version is not None:
                break
    except OSError:
        return None
    if not name or not version:
        return None
    return name, version


def _with_duplicates(dist: InstalledDist, others: list[InstalledDist]) -> InstalledDist:
    return replace(dist, duplicates=tuple(others))


def _mtime(dist: InstalledDist) -> int:
    try:
        return dist.dist_info_path.stat().st_mtime_ns
    except OSError:
        return 0


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
