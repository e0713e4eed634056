"""Reading a PEP 751 ``pylock.toml`` for ``xv-sync`` (and for ``xv-compile``'s preferences).

The file is read with :mod:`tomllib` and checked key by key; anything malformed is one
:class:`~xv.errors.InputError` naming the file, the ``[[packages]]`` table's line and the key
(``pylock.toml:12: packages[1].wheels[0].hashes must be a table ...``), exit 2.

Installing follows PEP 751's rules for installers:

* ``lock-version`` must be ``1.x`` (a newer minor version is read with a warning);
  ``environments``, when given, must hold a marker true for the target, and
  ``requires-python`` must admit its Python.
* A package applies when its ``marker`` holds, evaluated with the lock-file marker
  variables ``extras`` (none requested) and ``dependency_groups`` (``default-groups``).
  Two applying entries of one name are ambiguous: an error.
* An index package installs one of its listed ``wheels`` (the best for the target's tags,
  chosen by xv-sync as for an index page), else its ``sdist``, built; the file comes from
  its ``url`` (or ``path``, relative to the lock), whatever the configured index, and is
  verified against its ``hashes`` (sha256, sha384 or sha512; one of them is required).
* ``archive``, ``vcs`` and ``directory`` entries become the direct references xv-sync
  already installs (``name @ url``, git pinned to ``commit-id``, ``-e path``).
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from packaging.markers import InvalidMarker, Marker, UndefinedEnvironmentName
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from xv.errors import InputError
from xv.index.simple import DistFile
from xv.records import record

log = logging.getLogger(__name__)

SUPPORTED_HASHES = ("sha256", "sha384", "sha512")


@record
class LockedPackage:
    """One ``[[packages]]`` table, checked."""

    name: str  # normalised
    version: Version | None
    marker: Marker | None
    line: int  # of its ``[[packages]]`` header (1 when the file does not show one)
    files: tuple[DistFile, ...] = ()  # wheels, then the sdist
    direct: str | None = None  # a requirement line for archive, vcs and directory entries


@record
class LockFile:
    path: str
    packages: tuple[LockedPackage, ...]
    environments: tuple[Marker, ...] = ()
    requires_python: SpecifierSet | None = None
    default_groups: frozenset[str] = frozenset()


def load(path: str | os.PathLike[str]) -> LockFile:
    """Read and check ``path`` (an :class:`InputError` naming it and the key if malformed)."""
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=name) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read the file: not UTF-8 ({exc.reason})", file=name) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(where[1]) if where else None
        raise InputError(f"invalid TOML: {exc}", file=name, line=line) from None
    return _Checker(name, text).lock(data)


class _Checker:
    """Walks the TOML data; every complaint names the file, a line and the key."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.base = os.path.dirname(os.path.abspath(path))
        self.lines = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[packages]]"]  # fmt: skip
        self.line: int | None = None

    def fail(self, key: str, problem: str) -> InputError:
        return InputError(f"{key} {problem}", file=self.path, line=self.line)

    def lock(self, data: dict[str, Any]) -> LockFile:
        version = self.need(data, "lock-version")
        major, _, minor = version.partition(".")
        if major != "1":
            raise self.fail("lock-version", f"is {version!r}; xv reads lock-version 1.x")
        if minor not in ("0", ""):
            log.warning("%s: lock-version %s is newer than 1.0; reading it as 1.0", self.path, version)  # fmt: skip
        self.need(data, "created-by")
        environments = tuple(self.marker(m, f"environments[{i}]") for i, m in enumerate(self.strings(data, "environments")))  # fmt: skip
        requires = self.string(data, "requires-python")
        packages = data.get("packages", [])
        if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
            raise self.fail("packages", "must be an array of tables ([[packages]])")
        return LockFile(
            self.path,
            tuple(self.package(p, i) for i, p in enumerate(packages)),
            environments,
            self.specifier(requires, "requires-python") if requires else None,
            frozenset(self.strings(data, "default-groups")),
        )

    def package(self, table: dict[str, Any], index: int) -> LockedPackage:
        self.line = self.lines[index] if index < len(self.lines) else None
        key = f"packages[{index}]"
        name = canonicalize_name(self.need(table, "name", key))
        raw_version = self.string(table, "version", key)
        try:
            version = Version(raw_version) if raw_version else None
        except InvalidVersion:
            raise self.fail(f"{key}.version", f"is not a valid version: {raw_version!r}") from None
        raw_marker = self.string(table, "marker", key)
        marker = self.marker(raw_marker, f"{key}.marker") if raw_marker else None
        kinds = [k for k in ("vcs", "directory", "archive") if k in table]
        if len(kinds) > 1 or (kinds and ({"wheels", "sdist"} & table.keys())):
            raise self.fail(key, "must have only one of vcs, directory, archive, or sdist/wheels")
        if kinds:
            direct = self.direct(name, kinds[0], table[kinds[0]], f"{key}.{kinds[0]}")
            return LockedPackage(name, version, marker, self.line or 1, direct=direct)
        if version is None:
            raise self.fail(f"{key}.version", "is required for a package from an index")
        wheels = table.get("wheels", [])
        if not isinstance(wheels, list):
            raise self.fail(f"{key}.wheels", "must be an array of tables")
        files = [self.file(w, f"{key}.wheels[{i}]", ".whl") for i, w in enumerate(wheels)]
        if "sdist" in table:
            files.append(self.file(table["sdist"], f"{key}.sdist", None))
        if not files:
            raise self.fail(key, "has no way to install it (no wheels, sdist, archive, vcs or directory)")  # fmt: skip
        return LockedPackage(name, version, marker, self.line or 1, tuple(files))

    def file(self, table: Any, key: str, suffix: str | None) -> DistFile:
        if not isinstance(table, dict):
            raise self.fail(key, "must be a table")
        location = self.location(table, key)
        filename = self.string(table, "name", key) or unquote(location.rstrip("/").rsplit("/", 1)[-1])  # fmt: skip
        if suffix is not None and not filename.endswith(suffix):
            raise self.fail(f"{key}.name", f"{filename!r} is not a wheel file name")
        size = table.get("size")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise self.fail(f"{key}.size", "must be a non-negative integer")
        when = table.get("upload-time")
        if when is not None and not isinstance(when, datetime):
            raise self.fail(f"{key}.upload-time", "must be a TOML date-time")
        hashes = self.hashes(table, key)
        return DistFile(filename, location, hashes, upload_time=when.isoformat() if when else None, size=size)  # fmt: skip

    def location(self, table: dict[str, Any], key: str) -> str:
        url, path = self.string(table, "url", key), self.string(table, "path", key)
        if (url is None) == (path is None):
            raise self.fail(key, "must have exactly one of url and path")
        if url is not None:
            if urlsplit(url).scheme not in ("http", "https", "file"):
                raise self.fail(f"{key}.url", f"is not an http(s) or file URL: {url!r}")
            return url
        assert path is not None
        return os.path.normpath(os.path.join(self.base, os.path.expanduser(path)))

    def hashes(self, table: dict[str, Any], key: str) -> dict[str, str]:
        found = table.get("hashes")
        if not isinstance(found, dict) or not found or not all(isinstance(v, str) for v in found.values()):  # fmt: skip
            raise self.fail(f"{key}.hashes", 'must be a table of algorithm = "hex digest" (PEP 751 requires it)')  # fmt: skip
        usable = {k.lower(): v.lower() for k, v in found.items() if k.lower() in SUPPORTED_HASHES}
        if not usable:
            raise self.fail(f"{key}.hashes", f"has none of {', '.join(SUPPORTED_HASHES)}")
        bad = [k for k, v in usable.items() if not re.fullmatch(r"[0-9a-f]+", v)]
        if bad:
            raise self.fail(f"{key}.hashes.{bad[0]}", "is not a hex digest")
        return usable

    def direct(self, name: str, kind: str, table: Any, key: str) -> str:
        """The requirement line xv-sync installs a direct reference from."""
        if not isinstance(table, dict):
            raise self.fail(key, "must be a table")
        sub = self.string(table, "subdirectory", key)
        fragment = f"#subdirectory={quote(sub)}" if sub else ""
        if kind == "vcs":
            vcs = self.need(table, "type", key)
            commit = self.need(table, "commit-id", key)
            return f"{name} @ {vcs}+{self.location(table, key)}@{commit}{fragment}"
        if kind == "directory":
            path = self.need(table, "path", key)
            where = os.path.normpath(os.path.join(self.base, os.path.expanduser(path)))
            editable = table.get("editable", False)
            if not isinstance(editable, bool):
                raise self.fail(f"{key}.editable", "must be true or false")
            return f"-e {where}" if editable else f"{name} @ {Path(where).as_uri()}"
        location = self.location(table, key)
        url = location if "://" in location else Path(location).as_uri()
        algorithm, digest = next(iter(sorted(self.hashes(table, key).items())))
        return f"{name} @ {url}{fragment} --hash={algorithm}:{digest}"

    def string(self, table: Mapping[str, Any], name: str, key: str = "", *, required: bool = False) -> str | None:  # fmt: skip
        full = f"{key}.{name}" if key else name
        value = table.get(name)
        if value is None:
            if required:
                raise self.fail(full, "is required")
            return None
        if not isinstance(value, str):
            raise self.fail(full, f"must be a string, not {value!r}")
        return value

    def need(self, table: Mapping[str, Any], name: str, key: str = "") -> str:
        found = self.string(table, name, key, required=True)
        assert found is not None
        return found

    def strings(self, table: Mapping[str, Any], name: str) -> Sequence[str]:
        value = table.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(name, "must be an array of strings")
        return value

    def marker(self, text: str, key: str) -> Marker:
        try:
            return Marker(text)
        except InvalidMarker as exc:
            raise self.fail(key, f"is not a valid marker: {exc}") from None

    def specifier(self, text: str, key: str) -> SpecifierSet:
        try:
            return SpecifierSet(text)
        except InvalidSpecifier:
            raise self.fail(key, f"is not a valid version specifier: {text!r}") from None


def applies(marker: Marker, markers: Mapping[str, str], groups: frozenset[str], file: str, line: int) -> bool:  # fmt: skip
    """A lock marker for the target: PEP 751's ``extras`` (none asked for) and
    ``dependency_groups`` (the default groups) beside the usual variables."""
    environment: dict[str, Any] = {**markers, "extra": "", "extras": frozenset(), "dependency_groups": groups}  # fmt: skip
    try:
        return bool(marker.evaluate(environment, context="lock_file"))
    except TypeError:  # packaging before 25: no lock-file markers
        return bool(marker.evaluate({**markers, "extra": ""}))
    except UndefinedEnvironmentName as exc:
        raise InputError(f"cannot evaluate the marker {marker}: {exc}", file, line) from None


@record
class Selected:
    """What a lock installs on one target."""

    index: tuple[LockedPackage, ...]  # packages with files (wheels, sdist)
    direct_text: str  # archive/vcs/directory entries as requirement lines, at their lines
    not_here: tuple[int, ...]  # lines of the packages whose marker is false here


def select(path: str | os.PathLike[str], markers: Mapping[str, str]) -> Selected:
    """The packages of the lock at ``path`` that apply to a target with ``markers``."""
    lock = load(path)
    name = lock.path
    groups = lock.default_groups
    if lock.environments and not any(applies(m, markers, groups, name, 1) for m in lock.environments):  # fmt: skip
        shown = "; ".join(str(m) for m in lock.environments)
        raise InputError(f"none of the lock's environments matches this interpreter ({shown})", name)  # fmt: skip
    python = markers.get("python_full_version", "")
    # Against the full version or the minor one: the PEP's own example says '==3.12'.
    versions = [v for v in (python, markers.get("python_version", "")) if v]
    if lock.requires_python is not None and versions and not any(lock.requires_python.contains(v, prereleases=True) for v in versions):  # fmt: skip
        raise InputError(f"the lock requires Python {lock.requires_python}; the target has {python}", name)  # fmt: skip
    chosen: dict[str, LockedPackage] = {}
    not_here: list[int] = []
    for pkg in lock.packages:
        if pkg.marker is not None and not applies(pkg.marker, markers, groups, name, pkg.line):
            not_here.append(pkg.line)
            continue
        if pkg.name in chosen:
            raise InputError(
                f"{pkg.name} is locked twice for this interpreter (also at line "
                f"{chosen[pkg.name].line}): the lock is ambiguous",
                name,
                pkg.line,
            )
        chosen[pkg.name] = pkg
    lines: dict[int, str] = {}
    for pkg in (p for p in chosen.values() if p.direct is not None):
        line = pkg.line if pkg.line not in lines else max(lines) + 1
        lines[line] = pkg.direct or ""
    text = "\n".join(lines.get(n, "") for n in range(1, max(lines, default=0) + 1))
    index = tuple(p for p in chosen.values() if p.direct is None)
    return Selected(index, text + "\n" if text else "", tuple(not_here))


def pins(path: str | os.PathLike[str]) -> list[Any]:
    """The index pins of a lock as :class:`xv.lockfile.Pin` values (preferences for
    ``xv-compile -o pylock.toml``); direct references are left out."""
    from xv.lockfile import Pin

    return [
        Pin(
            pkg.name,
            pkg.version,
            hashes=tuple(sorted({f"{k}:{v}" for f in pkg.files for k, v in f.hashes.items()})),
            marker=str(pkg.marker) if pkg.marker is not None else None,
        )
        for pkg in load(path).packages
        if pkg.direct is None
    ]
