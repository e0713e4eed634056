"""Cache maintenance behind ``xv cache clean``, ``xv cache prune`` and ``xv cache info``.

Everything here runs while the caller holds the cache root's lock exclusively
(:meth:`xv.cache.Cache.exclusive`): no other xv process writes an entry or installs from
an archive meanwhile. With ``--force`` it does not, so then nothing younger than
:data:`FORCED_MIN_AGE` that looks in flight (a temporary file, a staging directory) is
touched, and lock files stay.

What the buckets hold, and so what belongs to a package and what is garbage:

* **entries** (msgpack, :func:`xv.envelope.decode_entry`): ``simple-v2`` pages and
  ``metadata-v1``/``tree-metadata-v1`` metadata name their package; ``check-v1`` records
  and ``interpreter-v1`` facts name none.
* **files**: ``<key>/<file name>`` (downloaded wheels, sdists, built wheels, direct URLs);
  the file name names the package.
* **archives**: ``<sha256>/`` unpacked wheel trees and ``<sha256>.manifest`` beside them;
  the tree's ``*.dist-info`` names the package. A tree without its manifest (or the
  reverse) is unusable, so garbage.
* **opaque** (``git-v1``): only removed whole.

Inside a bucket every in-flight name starts with a dot (``.name.<pid>.<n>.tmp``, ``.unpack-``,
``.build-``, ``.checkout-``, ``.discard-``) and keys never do; ``.locks`` holds lock files.
A bucket directory this xv does not know (``simple-v1`` after the bump to ``simple-v2``)
is unreachable as a whole. Files in the root that are not bucket-shaped are not xv's and
are never removed, even by ``clean`` (a ``--cache-dir`` pointed at the wrong directory
loses nothing but xv's buckets).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from xv.cache import ROOT_LOCK, CacheBucket
from xv.envelope import decode_entry
from xv.records import record

ENTRIES, FILES, ARCHIVES, OPAQUE = "entries", "files", "archives", "opaque"
RECORDS = "records"  # xv.fast's JSON files (not msgpack entries), by key, with .tmp leftovers
# How each bucket lays out its entries (tests/unit/test_cachecmd.py checks that every
# member of CacheBucket has one).
KNOWN_BUCKETS: dict[str, str] = {
    CacheBucket.SIMPLE: ENTRIES,
    CacheBucket.METADATA: ENTRIES,
    CacheBucket.TREE_METADATA: ENTRIES,
    CacheBucket.CHECK: ENTRIES,
    CacheBucket.INTERPRETER: ENTRIES,
    CacheBucket.WHEELS: FILES,
    CacheBucket.SDISTS: FILES,
    CacheBucket.BUILT_WHEELS: FILES,
    CacheBucket.DIRECT: FILES,
    CacheBucket.ARCHIVES: ARCHIVES,
    CacheBucket.GIT: OPAQUE,
    CacheBucket.FAST: RECORDS,
}
_BUCKET_SHAPE = re.compile(r"^[a-z0-9][a-z0-9._-]*-v\d+$")
LOCKS = ".locks"
#: With --force, in-flight-looking things younger than this are someone's current work.
FORCED_MIN_AGE = 3600.0
#: A ``check-v1`` or ``fast-v1`` record not written for this long is dropped by prune: a
#: lock's text or inputs have changed since, or the next run re-creates it cheaply.
CHECK_MAX_AGE = 7 * 86400.0


@dataclass
class Removal:
    """What was removed: counts and bytes, for uv's ``Removed N files (SIZE)`` line."""

    files: int = 0
    dirs: int = 0
    bytes: int = 0
    failed: list[str] = field(default_factory=list)

    def summary(self, nothing: str) -> str:
        """uv's wording: ``Removed 3 files (1.2MiB)``, or ``nothing`` when none.

        >>> Removal(files=1, bytes=2048).summary("No cache entries found")
        'Removed 1 file (2.0KiB)'
        >>> Removal(dirs=2).summary("x")
        'Removed 2 directories (0B)'
        """
        if self.files:
            noun = "file" if self.files == 1 else "files"
            return f"Removed {self.files} {noun} ({human_bytes(self.bytes)})"
        if self.dirs:
            noun = "directory" if self.dirs == 1 else "directories"
            return f"Removed {self.dirs} {noun} ({human_bytes(self.bytes)})"
        return nothing


def human_bytes(size: int) -> str:
    """Sizes as uv prints them.

    >>> human_bytes(0), human_bytes(1536), human_bytes(5 * 1024**3)
    ('0B', '1.5KiB', '5.0GiB')
    """
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size}B" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


@record
class BucketInfo:
    name: str
    files: int
    bytes: int
    known: bool


def buckets(root: Path) -> list[Path]:
    """The bucket-shaped directories under ``root``, sorted."""
    try:
        children = sorted(root.iterdir())
    except FileNotFoundError:
        return []
    return [p for p in children if _BUCKET_SHAPE.match(p.name) and _is_dir(p)]


def info(root: Path) -> list[BucketInfo]:
    """Every bucket's file count and size (lock files and in-flight files included)."""
    found = []
    for bucket in buckets(root):
        files, size = _measure(bucket)
        found.append(BucketInfo(bucket.name, files, size, bucket.name in KNOWN_BUCKETS))
    return found


def clean_all(root: Path) -> Removal:
    """Remove every bucket (and nothing else)."""
    removal = Removal()
    for bucket in buckets(root):
        remove(bucket, removal)
    return removal


def clean_packages(root: Path, names: Iterable[str]) -> Removal:
    """Remove the entries, files and archives of the packages ``names``."""
    wanted = {canonicalize_name(n) for n in names}
    removal = Removal()
    for bucket in buckets(root):
        layout = KNOWN_BUCKETS.get(bucket.name)
        for child, owner in _owned(bucket, layout):
            if owner in wanted:
                remove(child, removal)
                if layout == ARCHIVES:
                    remove(bucket / f"{child.name}.manifest", removal)
    return removal


def prune(root: Path, *, forced: bool = False, now: float | None = None) -> Removal:
    """Remove what no run can use: unknown buckets, in-flight leftovers, undecodable or
    stale entries, half archives, empty key directories and lock files of nothing."""
    now = time.time() if now is None else now
    min_age = FORCED_MIN_AGE if forced else 0.0
    removal = Removal()
    for bucket in buckets(root):
        layout = KNOWN_BUCKETS.get(bucket.name)
        if layout is None:
            remove(bucket, removal)
            continue
        for child in _children(bucket):
            if child.name == LOCKS:
                continue
            if child.name.startswith("."):
                if _age(child, now) >= min_age:
                    remove(child, removal)
            elif _garbage(bucket, child, layout, now, min_age):
                remove(child, removal)
        if not forced:
            _prune_locks(bucket, removal)
    return removal


def _garbage(bucket: Path, child: Path, layout: str, now: float, min_age: float) -> bool:
    if layout == ENTRIES:
        return _stale_entry(bucket.name, child, now)
    if layout == FILES and _is_dir(child):
        for temp in [p for p in _children(child) if p.name.startswith(".")]:
            if _age(temp, now) >= min_age:
                remove(temp, Removal())
        return not _children(child) and _age(child, now) >= min_age
    if layout == RECORDS:
        if child.name.endswith(".tmp"):  # a record being written, or one a power cut cut
            return _age(child, now) >= min_age
        return _age(child, now) > CHECK_MAX_AGE or not _is_json(child)
    if layout == ARCHIVES:
        if child.name.endswith(".manifest"):
            return not _is_dir(bucket / child.name.removesuffix(".manifest"))
        return not (bucket / f"{child.name}.manifest").is_file() and _age(child, now) >= min_age
    return False


def _stale_entry(bucket: str, path: Path, now: float) -> bool:
    try:
        value = decode_entry(path.read_bytes())
    except ValueError:
        return True
    except OSError:
        return False
    if bucket == CacheBucket.CHECK:
        return _age(path, now) > CHECK_MAX_AGE
    if bucket == CacheBucket.INTERPRETER:
        executable = value.get("executable") if isinstance(value, dict) else None
        return not (isinstance(executable, str) and os.path.exists(executable))
    return False


def _is_json(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
    except ValueError:
        return False
    except OSError:
        return True  # unreadable now: not proof of garbage
    return True


def _prune_locks(bucket: Path, removal: Removal) -> None:
    """Lock files whose entry is gone (no process holds them: the root lock is ours)."""
    for lock in _children(bucket / LOCKS):
        key = lock.name.removesuffix(".lock")
        entry = bucket / "db" / key[3:] if key.startswith("db-") else bucket / key  # git-v1
        if not entry.exists():
            remove(lock, removal)


def _owned(bucket: Path, layout: str | None) -> Iterator[tuple[Path, str | None]]:
    """Each top-level child of a bucket with the package it belongs to (None: no package)."""
    for child in _children(bucket):
        if child.name.startswith("."):
            continue
        if layout == ENTRIES:
            yield child, _entry_owner(bucket.name, child)
        elif layout == FILES and _is_dir(child):
            owners = {_file_owner(p.name) for p in _children(child) if not p.name.startswith(".")}
            yield child, owners.pop() if len(owners) == 1 else None
        elif layout == ARCHIVES and _is_dir(child):
            yield child, _archive_owner(child)


def _entry_owner(bucket: str, path: Path) -> str | None:
    try:
        value: Any = decode_entry(path.read_bytes())
        if bucket == CacheBucket.SIMPLE:
            return canonicalize_name(value[0][1]) if value[0] is not None else None
        if bucket in (CacheBucket.METADATA, CacheBucket.TREE_METADATA):
            return canonicalize_name(value[0])
    except (ValueError, OSError, TypeError, IndexError, KeyError):
        return None
    return None


def _file_owner(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        return parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def _archive_owner(tree: Path) -> str | None:
    for child in _children(tree):
        if child.name.endswith(".dist-info"):
            return canonicalize_name(child.name.removesuffix(".dist-info").rsplit("-", 1)[0])
    return None


def remove(path: Path, removal: Removal) -> None:
    """Delete ``path`` (file or tree), counting what goes. A tree is renamed aside first,
    so that it vanishes at once and a half-deleted tree is never seen under its name."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        with contextlib.suppress(FileNotFoundError):
            _unlink(path)
            removal.files += 1
            removal.bytes += info.st_size
        return
    files, size = _measure(path)
    doomed = path
    if not path.name.startswith("."):
        doomed = path.with_name(f".discard-{uuid.uuid4().hex[:12]}")
        try:
            os.rename(path, doomed)
        except OSError:
            doomed = path
    if sys.version_info >= (3, 12):
        shutil.rmtree(doomed, onexc=_make_writable_and_retry)
    else:  # pragma: no cover - Python 3.11
        shutil.rmtree(doomed, onerror=lambda f, p, info: _make_writable_and_retry(f, p, info[1]))
    removal.files += files
    removal.dirs += 1
    removal.bytes += size


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except PermissionError:  # a read-only file on Windows
        path.chmod(stat.S_IWRITE)
        path.unlink()


def _make_writable_and_retry(func: Callable[..., Any], path: str, exc: BaseException) -> None:
    """Archive files are read-only (Windows refuses to delete them as they are)."""
    if isinstance(exc, FileNotFoundError):
        return
    parent = os.path.dirname(path)
    os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR)
    if os.path.lexists(path) and not os.path.isdir(path):
        os.chmod(path, stat.S_IWRITE)
    func(path)


def _measure(path: Path) -> tuple[int, int]:
    files = size = 0
    for directory, _dirs, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(directory, name)).st_size
                files += 1
    return files, size


def _children(path: Path) -> list[Path]:
    try:
        return sorted(path.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _is_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _age(path: Path, now: float) -> float:
    try:
        return now - path.lstat().st_mtime
    except OSError:
        return 0.0


__all__ = ["ROOT_LOCK", "Removal", "clean_all", "clean_packages", "info", "prune"]
