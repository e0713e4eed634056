"""Check a whole unpacked wheel before anything of it reaches an environment.

:func:`validate_archive` runs for every package of a sync plan after every wheel
is prepared and before the environment changes, so a hostile or broken wheel
anywhere in the plan stops the sync with nothing installed. It checks, in the
spirit of pypa/installer's validation (our own code):

* the file name, the ``.dist-info`` directory and METADATA's ``Name``/``Version``
  all name the pinned project and version (a wheel named 1.0 whose METADATA says
  9.9 is refused: it would never converge), and ``Name`` is a valid project name
  (it becomes the ``.data/headers`` directory);
* WHEEL has a ``Wheel-Version`` whose major version is 1;
* ``.data`` holds only the known schemes;
* console and GUI script names are plain file names and their targets
  ``module:attr``;
* RECORD lists every file, with no path escaping the archive, and each listed
  size matches (hashes were checked when the wheel was unpacked, and again by
  the cache's manifest when it is verified fully);
* every destination, after joining it to its scheme directory, stays inside that
  directory, also through symlinked parents.

Core metadata and WHEEL are read with the standard ``email`` parser; a file that
is not UTF-8 is an :class:`InstallError`, never a ``UnicodeDecodeError``.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from xv.errors import InstallError
from xv.install.record import RecordEntry, parse_record
from xv.install.scripts import EntryPoint, parse_entry_points
from xv.names import canonicalize_name
from xv.records import record

if TYPE_CHECKING:  # the email package loads when a tree is read, not for a known layout
    from email.message import Message

SCHEMES = ("purelib", "platlib", "headers", "scripts", "data")
UNRECORDED = ("RECORD", "RECORD.jws", "RECORD.p7s")
# PEP 508's name: letters and digits, with . _ - inside.
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


@record
class WheelLayout:
    """What a valid unpacked wheel is: names, flags and its RECORD."""

    name: str  # METADATA's Name, validated
    version: str  # METADATA's Version
    dist_info: str  # "<name>-<version>.dist-info"
    root_is_purelib: bool
    record: Mapping[str, RecordEntry]
    entry_points: tuple[EntryPoint, ...]
    # Every file of the tree ("/"-separated), listed once here for the checks, the
    # journal and the install (the tree is immutable: its manifest is checked first).
    files: tuple[str, ...] = ()
    # METADATA's Requires-Dist values, read with the rest (xv-sync orders installs by them).
    requires: tuple[str, ...] = ()
    requires_python: str | None = None  # METADATA's Requires-Python

    @property
    def data_dir(self) -> str:
        return self.dist_info.removesuffix(".dist-info") + ".data"

    @property
    def canonical_name(self) -> str:
        return canonicalize_name(self.name)


def read_headers(path: Path, label: str) -> Message:
    """The header block of an RFC 822 style file (METADATA, WHEEL), strictly UTF-8."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InstallError(f"{label}: {path.name} is not valid UTF-8", label) from None
    except OSError as exc:
        raise InstallError(f"{label}: cannot read {path.name}: {exc}", label) from None
    import email.parser  # its default policy is compat32 (email.policy would cost ~8 ms more)

    parser = email.parser.HeaderParser()
    return parser.parsestr(text)


def read_text(path: Path, label: str) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InstallError(f"{label}: {path.name} is not valid UTF-8", label) from None
    except OSError as exc:
        raise InstallError(f"{label}: cannot read {path.name}: {exc}", label) from None


def read_layout(
    root: Path,
    files: Iterable[str] | None = None,
    record: Mapping[str, RecordEntry] | None = None,
) -> WheelLayout:
    """Read (and check the inner consistency of) the unpacked wheel at ``root``.

    ``files`` and ``record``: the tree's files and its parsed RECORD when the caller
    has them (the unpacker, which just wrote the one and read the other), so the tree
    is not walked nor RECORD parsed again."""
    label = root.name
    files = tuple(archive_files(root) if files is None else files)
    dist_infos = sorted({top for f in files if (top := f.split("/", 1)[0]).endswith(".dist-info")})
    if len(dist_infos) != 1:
        raise InstallError(f"{label}: expected one .dist-info directory, found {len(dist_infos)}")
    dist_info = dist_infos[0]
    metadata = read_headers(root / dist_info / "METADATA", label)
    name, version = metadata.get("Name"), metadata.get("Version")
    if not name or not version:
        raise InstallError(f"{label}: METADATA lacks Name or Version", label)
    name, version = str(name).strip(), str(version).strip()
    if not _NAME.match(name):
        raise InstallError(f"{label}: METADATA gives an invalid project name {name!r}", label)
    label = name
    wheel = read_headers(root / dist_info / "WHEEL", label)
    _check_wheel_version(wheel.get("Wheel-Version"), label)
    purelib = str(wheel.get("Root-Is-Purelib", "true")).strip().lower() == "true"
    if record is None:
        record = _read_record(root / dist_info / "RECORD", label)
    entry_points: list[EntryPoint] = []
    if f"{dist_info}/entry_points.txt" in files:
        text = read_text(root / dist_info / "entry_points.txt", label)
        entry_points = parse_entry_points(text, label)
    requires = tuple(str(value).strip() for value in metadata.get_all("Requires-Dist") or ())
    requires_python = metadata.get("Requires-Python")
    return WheelLayout(
        name, version, dist_info, purelib, dict(record), tuple(entry_points), files, requires,
        None if requires_python is None else str(requires_python).strip(),
    )  # fmt: skip


def _read_record(path: Path, label: str) -> dict[str, RecordEntry]:
    text = read_text(path, label)
    try:
        return {entry.path: entry for entry in parse_record(text)}
    except Exception as exc:  # csv.Error and friends: a garbled RECORD
        raise InstallError(f"{label}: unreadable RECORD: {exc}", label) from None


def _check_wheel_version(value: object, label: str) -> None:
    if value is None:
        raise InstallError(f"{label}: WHEEL has no Wheel-Version", label)
    major = str(value).strip().split(".", 1)[0]
    if major != "1":
        raise InstallError(f"{label}: unsupported Wheel-Version {str(value).strip()}", label)


def checked_layout(
    root: Path, label: str, unpacked: tuple[Iterable[str], Mapping[str, RecordEntry]] | None = None
) -> WheelLayout:
    """The layout of the unpacked wheel at ``root``, after every check that depends on
    the wheel alone (not on a pin or a target): RECORD lists every file with no escaping
    path and the right sizes, script names are plain. What an archive's manifest keeps
    (:func:`layout_to_plain`), so a later sync need not read and check it again.

    ``unpacked``: the files and RECORD of a tree the unpacker has just written, having
    checked each file against its RECORD entry (listed, size and hash) as it wrote it;
    only the checks it did not make are made here."""
    if unpacked is None:
        layout = read_layout(root)
        _check_record(root, layout, label)
    else:
        layout = read_layout(root, *unpacked)
        _check_record_names(layout, label)
    _check_scripts(layout, label)
    return layout


def layout_to_plain(layout: WheelLayout) -> dict[str, Any]:
    """``layout`` as plain data for an archive's manifest (its files are the manifest's)."""
    return {
        "name": layout.name,
        "version": layout.version,
        "dist_info": layout.dist_info,
        "purelib": layout.root_is_purelib,
        "record": [(e.path, e.hash, e.size) for e in layout.record.values()],
        "entry_points": [(e.name, e.module, e.attr, e.gui) for e in layout.entry_points],
        "requires": list(layout.requires),
        "requires_python": layout.requires_python,
    }


def layout_from_plain(doc: Mapping[str, Any], files: Iterable[str]) -> WheelLayout:
    """The layout :func:`layout_to_plain` stored; ``files`` are the tree's, as its manifest
    lists them. Raises KeyError, TypeError or ValueError for a malformed record."""
    record = {path: RecordEntry(str(path), h, s) for path, h, s in doc["record"]}
    for entry in record.values():
        if not (entry.hash is None or isinstance(entry.hash, str)):
            raise TypeError("a RECORD hash must be text")
        if not (entry.size is None or isinstance(entry.size, int)):
            raise TypeError("a RECORD size must be a number")
    entry_points = tuple(
        EntryPoint(str(n), str(m), str(a), bool(g)) for n, m, a, g in doc["entry_points"]
    )
    requires_python = doc.get("requires_python")
    return WheelLayout(
        str(doc["name"]), str(doc["version"]), str(doc["dist_info"]), bool(doc["purelib"]),
        record, entry_points, tuple(sorted(files)), tuple(str(r) for r in doc["requires"]),
        None if requires_python is None else str(requires_python),
    )  # fmt: skip


@record
class Placement:
    """Where each file of a validated tree goes in one target's scheme, with the scheme
    directory it was checked to stay inside: joined and checked once, by validation, for
    the journal and the install (which checks each directory for symlinks again)."""

    files: Mapping[str, tuple[str, str]]  # archive path -> (destination, scheme directory)
    scripts: Mapping[str, tuple[str, str]]  # entry point name -> the same

    def targets(self) -> list[str]:
        return [target for target, _ in (*self.files.values(), *self.scripts.values())]


def validate_archive(
    root: Path,
    name: str,
    version: Version,
    filename: str | None,
    scheme: Mapping[str, Path],
    known: WheelLayout | None = None,
) -> WheelLayout:
    """:func:`validate_placement`'s layout."""
    return validate_placement(root, name, version, filename, scheme, known)[0]


def validate_placement(
    root: Path,
    name: str,
    version: Version,
    filename: str | None,
    scheme: Mapping[str, Path],
    known: WheelLayout | None = None,
) -> tuple[WheelLayout, Placement]:
    """Check the unpacked wheel at ``root`` against the pin ``name==version`` and the
    target ``scheme`` (sysconfig paths); its layout and where its files go. Raises
    InstallError naming the package.

    ``known`` is the layout :func:`checked_layout` gave when the tree was unpacked, kept in
    its manifest, which was verified against the tree in this run: its wheel-only checks
    are not repeated. The pin, the names it carries and every destination are checked
    here, as for a tree read now (a forged manifest cannot place a file outside the
    target: every path is joined and checked again)."""
    label = f"{name}=={version}"
    if known is not None:
        layout = known
        _check_known(layout, label)
        _check_record_names(layout, label)
        _check_scripts(layout, label)
    else:
        layout = checked_layout(root, label)
    _check_identity(layout, name, version, filename, label)
    guard = InsideGuard(still=True)  # validation: before any change
    files: dict[str, tuple[str, str]] = {}
    scripts: dict[str, tuple[str, str]] = {}
    scripts_from = len(layout.files)  # destinations yields the files, then the scripts
    for index, (source, target, base) in enumerate(destinations(root, layout, scheme)):
        guard.check(base, target, label)
        (files if index < scripts_from else scripts)[source] = (target, os.fspath(base))
    return layout, Placement(files, scripts)


def _check_identity(
    layout: WheelLayout, name: str, version: Version, filename: str | None, label: str
) -> None:
    """File name, dist-info directory and METADATA must all name the pin."""
    claims: list[tuple[str, str, str]] = [("METADATA", layout.name, layout.version)]
    stem_name, _, stem_version = layout.dist_info.removesuffix(".dist-info").rpartition("-")
    claims.append((layout.dist_info, stem_name, stem_version))
    if filename is not None and filename.endswith(".whl"):
        from packaging.utils import InvalidWheelFilename, parse_wheel_filename

        try:
            parsed = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            raise InstallError(f"{label}: invalid wheel file name {filename!r}", name) from None
        claims.append((filename, parsed[0], str(parsed[1])))
    for where, claimed_name, claimed_version in claims:
        if canonicalize_name(claimed_name) != canonicalize_name(name) or not _same_version(
            claimed_version, version
        ):
            raise InstallError(
                f"{label}: the wheel is not {label}: {where} says {claimed_name} {claimed_version}",
                name,
            )


def _same_version(text: str, version: Version) -> bool:
    try:
        return Version(text) == version
    except InvalidVersion:
        return False


def _check_record(root: Path, layout: WheelLayout, label: str) -> None:
    """Every file listed, nothing listed that escapes, listed sizes match."""
    _check_record_names(layout, label)
    base = str(root)
    for rel in layout.files:
        head, _, tail = rel.rpartition("/")
        if head == layout.dist_info and tail in UNRECORDED:
            continue
        entry = layout.record.get(rel)
        if entry is None:
            raise InstallError(f"{label}: {rel} is not listed in RECORD", label)
        if entry.size is not None and entry.size != os.stat(os.path.join(base, rel)).st_size:
            raise InstallError(f"{label}: {rel} does not match its RECORD size", label)


def _check_known(layout: WheelLayout, label: str) -> None:
    """What reading the tree proves of a layout, checked again for one kept in a manifest:
    the ``.dist-info`` directory is a top-level directory of the tree holding its metadata
    (its name becomes a path in the target), and the project name is valid."""
    dist_info = layout.dist_info
    if (
        not dist_info.endswith(".dist-info")
        or any(c in dist_info for c in "/\\\0")
        or dist_info.startswith(".")
        or not _NAME.match(layout.name)
        or not {f"{dist_info}/{m}" for m in ("METADATA", "WHEEL", "RECORD")} <= set(layout.files)
    ):
        raise InstallError(f"{label}: the cached layout does not describe the tree", label)


def _check_record_names(layout: WheelLayout, label: str) -> None:
    """No RECORD path escapes the archive."""
    from xv.install.archive import check_member_name  # archive imports this module's names

    for path in layout.record:
        if not _plain(path):  # a plain path passes (and most do): checked the long way
            check_member_name(path, label)


def _check_scripts(layout: WheelLayout, label: str) -> None:
    for entry_point in layout.entry_points:
        check_script_name(entry_point.name, label)


def check_script_name(name: str, label: str) -> None:
    """A script name must be a plain file name: no separator, no ``..``, nothing absolute."""
    if (
        not name
        or name in (".", "..")
        or any(c in name for c in "/\\\0:")
        or name.startswith("-")
        or name != name.strip()
    ):
        raise InstallError(f"{label}: invalid script name {name!r}", label)


def archive_files(root: str | os.PathLike[str]) -> list[str]:
    """Every file under ``root``, as ``/``-separated relative paths, in ``os.walk``'s order
    (a directory's files, then each subdirectory's).

    Anything that is not a directory counts as a file, a symbolic link to one too (never
    followed: ``os.walk`` left it out, so a link planted in a cached tree went unseen). By
    ``os.scandir`` entries, whose types come with the listing: ``os.walk`` asked the file
    system once more about every directory (``islink``), ~140 calls for a 27-wheel sync.
    """
    found: list[str] = []
    todo = [(os.fspath(root), "")]
    while todo:
        directory, prefix = todo.pop()
        subdirectories = []
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    subdirectories.append((entry.path, f"{prefix}{entry.name}/"))
                else:
                    found.append(prefix + entry.name)
        todo += reversed(subdirectories)  # the first one next, as os.walk goes
    return found


def destinations(
    root: Path, layout: WheelLayout, scheme: Mapping[str, Path]
) -> Iterator[tuple[str, str, Path]]:
    """``(archive path or script name, destination, scheme directory)`` of every file the
    install writes (without its own metadata files). Raises InstallError for an unknown
    ``.data`` scheme."""
    site = scheme["purelib" if layout.root_is_purelib else "platlib"]
    prefix = layout.data_dir + "/"
    for rel in layout.files:
        if not rel.startswith(prefix):
            yield rel, inside_path(site, rel, layout.name), site
            continue
        kind, _, sub = rel[len(prefix) :].partition("/")
        if kind not in SCHEMES or not sub:
            raise InstallError(f"{layout.name}: unknown .data scheme in {rel!r}", layout.name)
        base = scheme_dir(scheme, kind, layout)
        yield rel, inside_path(base, sub, layout.name), base
    for entry_point in layout.entry_points:
        yield (
            entry_point.name,
            inside_path(scheme["scripts"], entry_point.name, layout.name),
            (scheme["scripts"]),
        )


def scheme_dir(scheme: Mapping[str, Path], kind: str, layout: WheelLayout) -> Path:
    """A scheme's directory; headers go to a directory named by the validated project name."""
    if kind == "headers":
        return scheme["headers"] / layout.canonical_name
    return scheme[kind]


def join_inside(base: Path, rel: str, label: str) -> Path:
    """``base / rel`` normalised, refused when it leaves ``base`` (lexically)."""
    return Path(inside_path(base, rel, label))


def inside_path(base: Path | str, rel: str, label: str) -> str:
    """:func:`join_inside` as a string. String operations, not pathlib: this runs for
    every file of every install, and pathlib's parsing cost more than the links."""
    if not rel or rel.startswith("/") or "\0" in rel:
        raise InstallError(f"{label}: {rel!r} escapes {base}", label)
    root = _normpath(os.fspath(base))
    if _plain(rel):  # nothing for normpath to do: each part a name
        return _with_sep(root) + rel
    target = os.path.normpath(os.path.join(root, rel))
    if target == root or not target.startswith(_with_sep(root)):
        raise InstallError(f"{label}: {rel!r} escapes {base}", label)
    return target


def _plain(rel: str) -> bool:
    """Whether the relative ``/``-separated path ``rel`` is names only: no empty part, no
    part starting with a dot (``.``, ``..``; a hidden name too, which then goes the long
    way), no backslash or colon, and ``/`` is this system's separator. Such a path joins
    to a base as it is, without ``os.path.normpath`` (tens of thousands of calls a sync).

    >>> [_plain(p) for p in ["a/b.py", "a//b", "a/../b", "./a", "a/", ".hidden", "c:/a"]]
    [True, False, False, False, False, False, False]
    """
    return (
        SLASH_ONLY
        and "//" not in rel
        and "/." not in rel
        and not rel.startswith((".", "/"))
        and not rel.endswith("/")
        and "\\" not in rel
        and ":" not in rel
        and "\0" not in rel
    )


SLASH_ONLY = os.sep == "/" and os.altsep is None  # "a/b" is a path here as it is


@functools.lru_cache(maxsize=64)
def _normpath(path: str) -> str:
    """``os.path.normpath`` of the few bases every file of an install is joined to."""
    return os.path.normpath(path)


def _with_sep(path: str) -> str:
    return path if path.endswith(os.sep) else path + os.sep


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(_with_sep(root))


def check_inside(base: Path, target: Path, label: str) -> None:
    """Refuse ``target`` when its existing parent resolves (through symlinks) outside ``base``."""
    InsideGuard().check(base, target, label)


class InsideGuard:
    """:func:`check_inside` for the many files of an install: each (base, parent directory)
    is resolved once, so the symlink check costs a few ``lstat`` calls per directory
    instead of one per file. Use a fresh guard for each install (directories change).

    ``still``: nothing changes the environment while the guard is used (the validation
    of an archive, before any change), so whether a directory exists is asked once per
    directory, not once per directory and level below it, and not at all below one found
    absent: a fresh environment's 325-pin sync asked ~35,000 times for the ~9,500
    directories of its wheels.

    Otherwise (an install) the installer tells the guard of each directory it makes
    (:meth:`made`). Such a directory is real (``mkdir`` makes no link) and lies where its
    parent resolved, and it holds only what the install put in it: a name below it that
    the install did not make is absent, asked of no file system. A new environment's
    install then checks its thousands of new directories without a ``stat`` each.
    ``known``: the directories known to exist (the installer's set, shared); the guard
    adds those it finds."""

    def __init__(self, still: bool = False, known: set[str] | None = None) -> None:
        self._checked: set[tuple[str, str]] = set()
        self._real: dict[str, str] = {}  # realpath of each directory resolved so far
        self._still = still
        self._nearest: dict[str, str] = {}  # (still) a directory's nearest existing ancestor
        self._known: set[str] = set() if known is None else known
        self._made: set[str] = set()  # (install) directories the install made

    def made(self, path: str) -> None:
        """``path`` was just made by ``os.mkdir`` (by the install this guard checks)."""
        self._made.add(path)
        self._known.add(path)
        head, tail = os.path.split(path)
        above = self._real.get(head)
        if above is not None:
            self._real[path] = os.path.join(above, tail)

    def _realpath(self, path: str) -> str:
        """``os.path.realpath(path)``. A directory whose parent was resolved takes one
        ``lstat``: not a symlink, it is its parent's real path and its own name (a new
        directory of an install, under one resolved just before). Many new directories
        share their nearest existing ancestor (site-packages, say): it is resolved once
        per guard, not once per new directory."""
        real = self._real.get(path)
        if real is None:
            head, tail = os.path.split(path)
            above = self._real.get(head)
            if above is not None and tail not in ("", ".", "..") and not os.path.islink(path):
                real = os.path.join(above, tail)
            else:
                real = os.path.realpath(path)
            self._real[path] = real
        return real

    def _existing(self, parent: str) -> str:
        """``parent``, or its nearest ancestor that exists."""
        if not self._still:
            while parent not in self._known:
                head = os.path.dirname(parent)
                if head == parent:
                    break
                if head not in self._made:  # else absent: see the class's notes
                    try:
                        info = os.stat(parent)
                    except (OSError, ValueError):  # as os.path.exists: absent
                        pass
                    else:
                        if stat.S_ISDIR(info.st_mode):
                            self._known.add(parent)
                        break
                parent = head
            return parent
        walked = []
        while (found := self._nearest.get(parent)) is None:
            head = os.path.dirname(parent)
            above = self._nearest.get(head)
            if above is not None and above != head:  # the directory above is absent: so is this
                found = above
                break
            if os.path.exists(parent) or parent == head:
                found = parent
                break
            walked.append(parent)
            parent = head
        for path in (*walked, parent):
            self._nearest[path] = found
        return found

    def check(self, base: Path | str, target: Path | str, label: str) -> None:
        key = (os.fspath(base), os.path.dirname(target))
        if key in self._checked:
            return
        root = _normpath(key[0])
        real_base = self._realpath(root)
        parent = self._existing(key[1])
        if _is_within(os.path.normpath(parent), root) and not _is_within(
            self._realpath(parent), real_base
        ):
            raise InstallError(f"{label}: {target} leads outside {base} through a symlink", label)
        self._checked.add(key)
