"""The sync record: a no-op ``xv-sync`` answered without reading the lock or site-packages.

After a sync that leaves the environment matching its files, ``<prefix>/.xv-sync-record``
holds a digest of everything the answer depended on, and the number of pins. The next run
computes the same digest from cheap reads (the files' bytes, a listing of site-packages and
a few ``stat`` calls per installed distribution) and, when it matches, answers "unchanged"
without parsing the files, reading any ``METADATA`` or importing the parsing stack. Any
difference (an edited file, a package installed or removed by any tool, another
interpreter, another xv) gives another digest, and the run takes the normal path, which
writes a new record.

What the digest covers, and why that is enough for the plan's answer:

- xv's version and the record's format;
- the target: its executable, prefix, site-packages directories and marker values (which
  decide which entries apply);
- every requirement file named on the command line, by absolute path and sha256 of its
  bytes. A record is written only when the files hold no include (``-r``/``-c``), no
  ``${VAR}`` (the environment could change the text), no direct reference (whose state
  lives outside the file: a directory, a VCS checkout) and are not ``pylock.toml``, so
  the bytes alone decide the pins;
- the options that change a no-op's answer (``--require-hashes``,
  ``--allow-empty-requirements``); options that always change something (``--reinstall``,
  ``--strict``'s check, ``--refresh``, ``--target`` ...) never use the record;
- the state of site-packages: every entry's name, and for each metadata directory its
  mtime and the inode, size and mtime of ``METADATA``, ``INSTALLER``, ``direct_url.json``
  and ``RECORD`` (everything :func:`xv.env.installed_distributions` reads); and whether
  an interrupted sync left its journal (or a temporary file of one), which the normal
  path repairs.

Threat model: the record lives inside the environment, so only someone who can already
change the environment can forge it; what they could achieve by forging it (a sync that
leaves the environment as they made it) they can do directly. An edit that restores a
metadata file's size and mtime by hand is not seen, exactly as it is not seen by other
installers, which read the same names and versions. Writing the record is best effort: an
unwritable environment only means the next no-op takes the normal path.
"""

from __future__ import annotations

import json
import os

from xv import __version__, fast
from xv.fast import trace

# Imported by the console entry points' fast path (xv.fast) too: the standard library only,
# and not pathlib or typing (a few ms each) at run time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path
    from typing import Any

    from xv.env.interpreter import Interpreter

RECORD_NAME = ".xv-sync-record"
_FORMAT = 1
_META_FILES = ("METADATA", "INSTALLER", "direct_url.json", "RECORD")
_JOURNAL_NAME = ".xv-journal"  # xv.install.journal.JOURNAL_NAME (not imported: it is heavier)


def record_path(interp: Interpreter) -> Path:
    return interp.prefix / RECORD_NAME


def files_digest(src_files: Sequence[str | os.PathLike[str]]) -> str | None:
    """The requirement files by absolute path and content; None when one cannot be read
    (the normal path reports it) or holds ``${`` (the environment could change its text)."""
    material = fast.sha256()
    for path in src_files:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        if b"${" in data:
            return None
        material.update(f"\0file {os.path.abspath(path)} {len(data)}\0".encode())
        material.update(fast.sha256(data).digest())
    return str(material.hexdigest())


def key(interp: Interpreter, files: str, flags: Mapping[str, bool]) -> str:
    """The digest of everything a no-op's answer depends on: the target, the files (their
    :func:`files_digest`), the flags, and the state of site-packages now."""
    head = key_material(interp, files, flags)
    digest = key_from(head)
    _heads[digest] = head
    return digest


_heads: dict[str, dict[str, Any]] = {}  # key -> its material, for xv.fast (see lookup)


def key_material(interp: Interpreter, files: str, flags: Mapping[str, bool]) -> dict[str, Any]:
    """What :func:`key_from` digests besides site-packages: plain JSON values."""
    return {
        "format": _FORMAT,
        "xv": __version__,
        "executable": str(interp.executable),
        "prefix": str(interp.prefix),
        "site": [str(p) for p in interp.site_packages],
        "markers": sorted(interp.markers.items()),
        "flags": sorted(flags.items()),
        "files": files,
    }


def key_from(head: Mapping[str, Any]) -> str:
    """The key of :func:`key_material`'s ``head`` with the state of site-packages now (also
    the fast path's check, :mod:`xv.fast`, whose record stores ``head``)."""
    material = fast.sha256()
    material.update(json.dumps(head).encode())
    with trace.paused():  # the fast path recomputes this itself: no witnesses needed
        material.update(f"\0journal {_journal_files(str(head['prefix']))}\0".encode())
        for site in head["site"]:
            material.update(f"\0site {site}\0".encode())
            for line in _site_state(str(site)):
                material.update(line.encode("utf-8", "surrogateescape"))
    return str(material.hexdigest())


def _journal_files(prefix: str) -> list[str]:
    """An interrupted sync's journal, or a temporary one: the normal path repairs or
    removes them, so while one exists the record answers nothing."""
    try:
        return sorted(name for name in os.listdir(prefix) if name.startswith(_JOURNAL_NAME))
    except OSError:
        return ["?"]


def _site_state(site: str) -> Iterable[str]:
    try:
        entries = sorted(os.scandir(site), key=lambda e: e.name)
    except OSError:
        yield "missing\n"
        return
    for entry in entries:
        name = entry.name
        yield f"{name}\n"
        if name.endswith(".dist-info"):
            yield _stat_line(entry.path)
            for member in _META_FILES:
                yield _stat_line(os.path.join(entry.path, member))
        elif name.endswith(".egg-info"):
            yield _stat_line(entry.path)
            yield _stat_line(os.path.join(entry.path, "PKG-INFO"))
            yield _stat_line(os.path.join(entry.path, "INSTALLER"))


def _stat_line(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return "-\n"
    return f"{info.st_ino} {info.st_size} {info.st_mtime_ns}\n"


def lookup(key: str, interp: Interpreter) -> int | None:
    """The number of pins the record holds for ``key``, or None (no record, another key)."""
    try:
        doc = json.loads(record_path(interp).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("key") != key:
        return None
    count = doc.get("pins")
    if not (isinstance(count, int) and count >= 0):
        return None
    if key in _heads:
        trace.note("sync", head=_heads[key], key=key)
    return count


def remember(key: str, interp: Interpreter, pins: int) -> None:
    """Write the record (atomically; an environment that cannot take it is left alone)."""
    from xv.atomic import write_atomic

    data = json.dumps({"key": key, "pins": pins}).encode()
    try:
        write_atomic(record_path(interp), data, follow=False)
    except OSError:
        pass
