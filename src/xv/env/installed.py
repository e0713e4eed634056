"""The distributions installed in an environment, read from its site-packages.

Reads ``*.dist-info`` (and legacy ``*.egg-info``) directories directly, without
running the target interpreter: the header block of ``METADATA`` (for ``Name``
and ``Version``), ``INSTALLER`` and ``direct_url.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import field, replace
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from xv.env.interpreter import Interpreter
from xv.names import canonicalize_name
from xv.records import record

#: Lines of METADATA read first for Name and Version (see :func:`read_metadata_headers`).
_FIRST_LINES = 4


@record
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


def metadata_headers(path: Path, *, stop_after: int | None = None) -> list[tuple[str, str]]:
    """``(lower-cased key, value)`` of each header of a core metadata file, in order.

    The email parser reads the headers (core metadata is RFC 822 in form, so a value
    may continue over lines, even whitespace-only ones, as matplotlib's License
    does). Only the header block is handed to it: the long description after the
    first empty line can be large and is not needed. With ``stop_after``, only the
    headers that start within its first ``stop_after`` lines are read (each whole,
    with its continuation lines). Raises OSError.
    """
    block: list[bytes] = []
    with open(path, "rb") as handle:
        for line in handle:
            if line in (b"\n", b"\r\n"):
                break  # the body (long description) starts here
            if stop_after is not None and len(block) >= stop_after and line[:1] not in b" \t":
                break  # a new header starts past the limit (a folded line continues one)
            block.append(line)
    text = b"".join(block).decode("utf-8", errors="replace")
    # Imported here: the email package (~10 ms with socket and calendar) is not needed
    # to sync into an empty environment.
    from email.parser import HeaderParser  # compat32 by default: no email.policy (~8 ms)

    message = HeaderParser().parsestr(text)
    return [(key.lower(), value.strip()) for key, value in message.items()]


def read_metadata_headers(path: Path) -> tuple[str, str] | None:
    """``(Name, Version)`` from a core metadata file (the first of each).

    Every tool writes them among the first few headers, so those are parsed first
    (on a no-op sync this is read for every installed distribution, and the email
    parser's cost grows with the lines it reads); the whole header block only when
    they are not there.
    """
    try:
        found = _name_and_version(metadata_headers(path, stop_after=_FIRST_LINES))
        if found is None:
            found = _name_and_version(metadata_headers(path))
    except OSError:
        return None
    return found


def _name_and_version(headers: list[tuple[str, str]]) -> tuple[str, str] | None:
    values = dict(reversed(headers))  # the first of each key wins
    name, version = values.get("name"), values.get("version")
    return (name, version) if name and version else None


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
