"""Install an unpacked wheel (a cache archive) into an interpreter's scheme.

Split as pypa/installer splits it: :class:`ArchiveWheel` reads the unpacked wheel
(layout, WHEEL, RECORD, entry points) and never writes; :class:`Destination`
writes into the scheme and returns the RECORD entry of every write;
:func:`install_from_archive` only coordinates.

Safety against interruption and sharing:

* every file is placed by linking or copying to a temporary name beside its
  target and ``os.replace``-ing it over the target, so at every moment the target
  is either the old file or the new one, never a partial one, and an existing
  (possibly hardlinked) file is never modified in place;
* the ``.dist-info`` directory is written after every other file and RECORD is
  the very last write: an interrupted install leaves no metadata claiming a
  complete distribution, and the next sync installs it again over the leftovers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from xv import digests
from xv.env.interpreter import Interpreter
from xv.errors import InstallError
from xv.install.killpoint import tick
from xv.install.record import RecordEntry, hash_file, record_hash, render_record
from xv.install.scripts import EntryPoint, launcher, rewrite_python_shebang
from xv.install.validate import (
    SCHEMES,
    InsideGuard,
    Placement,
    WheelLayout,
    destinations,
    inside_path,
    read_layout,
    scheme_dir,
)
from xv.records import record

StrPath = str | os.PathLike[str]
_OWN_METADATA = ("RECORD", "RECORD.jws", "RECORD.p7s", "INSTALLER", "direct_url.json", "REQUESTED")


@record
class InstalledRecord:
    """What an install wrote: RECORD paths are relative to ``site_dir``."""

    name: str
    version: str
    dist_info: Path
    entries: tuple[RecordEntry, ...]

    @property
    def site_dir(self) -> Path:
        return self.dist_info.parent

    @property
    def paths(self) -> frozenset[Path]:
        """The absolute, normalised path of every file written."""
        return frozenset(
            Path(os.path.normpath(self.site_dir / entry.path)) for entry in self.entries
        )


class ArchiveWheel:
    """Read-only view of an unpacked wheel in the archive bucket (see ``validate``)."""

    def __init__(self, root: Path, layout: WheelLayout | None = None) -> None:
        """``layout``: the tree's layout as validation read it (else it is read here)."""
        self.root = root
        self.layout = layout if layout is not None else read_layout(root)
        self.source_root = str(root)
        self.dist_info = self.layout.dist_info
        self.data_dir = self.layout.data_dir
        self.name, self.version = self.layout.name, self.layout.version
        self.hashes = {path: entry for path, entry in self.layout.record.items() if entry.hash}

    @property
    def root_is_purelib(self) -> bool:
        return self.layout.root_is_purelib

    def files(self) -> Iterator[str]:
        """Every file's ``/``-separated path: modules, then ``__init__.py`` files, dist-info last.

        An upgrade interrupted part way then leaves old ``__init__.py`` files, or new ones
        whose new submodules are already in place: the packages still import.
        """
        found = self.layout.files
        in_dist_info = [f for f in found if f.startswith(self.dist_info + "/")]
        package = set(found) - set(in_dist_info)
        yield from sorted(package, key=lambda path: (path.endswith("/__init__.py"), path))
        for path in sorted(in_dist_info):
            if path.split("/", 1)[1] not in _OWN_METADATA:
                yield path

    def entry_points(self) -> list[EntryPoint]:
        return list(self.layout.entry_points)


class Destination:
    """Writes into a scheme (as pypa/installer's ``SchemeDictionaryDestination``); each
    write returns its RECORD entry.

    ``scheme`` maps each of :data:`~xv.install.validate.SCHEMES` to its directory;
    ``interpreter`` is the executable that scripts' shebangs and launchers name;
    ``root_scheme`` (``purelib`` or ``platlib``) receives the wheel's root, and RECORD
    paths are relative to it. Nothing here knows where the mapping came from (an
    interpreter, or a ``--target``/``--prefix`` directory).
    """

    def __init__(
        self, scheme: Mapping[str, Path], interpreter: str, link_mode: str, root_scheme: str
    ) -> None:
        if link_mode not in ("hardlink", "copy", "symlink"):
            raise ValueError(f"unknown link mode {link_mode!r}")
        if root_scheme not in ("purelib", "platlib"):
            raise ValueError(f"unknown root scheme {root_scheme!r}")
        self.scheme = scheme
        self.interpreter = interpreter
        self.site_dir = site_dir = scheme[root_scheme]
        self._link = link_mode == "hardlink"
        # uv's symlink mode: the environment points into the cache's read-only archives
        # (so it breaks when they are cleaned); one atomic replace per file, as for copies.
        self._symlink = link_mode == "symlink"
        # Directories known to exist (shared with the guard, which finds some): one mkdir
        # each. Paths are handled as strings in the per-file steps: pathlib's parsing cost
        # more than the links themselves.
        self._made: set[str] = set()
        self.guard = InsideGuard(known=self._made)  # the symlink check, once per directory
        self._site_prefix = os.path.join(os.path.normpath(site_dir), "")

    def links_plainly(self) -> bool:
        """Whether files are hardlinked (not copied, not symlinked): see :func:`_link_placed`."""
        return self._link and not self._symlink

    def _make_parent(self, target: str) -> None:
        parent = os.path.dirname(target)
        if parent not in self._made:
            self._make_dir(parent)

    def _make_dir(self, path: str) -> None:
        """``os.makedirs(path, exist_ok=True)`` in one ``mkdir`` per new directory: the
        directories above are made first unless known (makedirs asks the file system about
        each); each one made is told to the guard."""
        head = os.path.dirname(path)
        if head and head not in self._made and head != path:
            self._make_dir(head)
        try:
            os.mkdir(path)
        except FileExistsError:  # a directory already (fine), or a file: its error
            if not os.path.isdir(path):
                raise
        else:
            self.guard.made(path)
        self._made.add(path)

    def _temp_beside(self, target: str) -> str:
        self._make_parent(target)
        return _temp_name(target)

    def link(self, source: StrPath, target: StrPath, known: RecordEntry | None) -> RecordEntry:
        """Place ``source`` at ``target`` by hardlink (or copy, when linking fails).

        A link to a free name appears whole, so it needs no temporary; an existing
        file is replaced through a temporary beside it, never written into.
        """
        tick()
        source, target = os.fspath(source), os.fspath(target)
        if self._symlink:
            self._replace_with_symlink(source, target)
        elif not (self._link and self._link_new(source, target)):
            self._place_through_temp(source, target)
        return self.known_entry(target, known)

    def _place_through_temp(self, source: str, target: str) -> None:
        """Link (or copy) ``source`` to a temporary beside ``target``, then replace it."""
        temp = self._temp_beside(target)
        try:
            if self._link:
                try:
                    os.link(source, temp)
                except OSError:  # another device, or links unsupported: copy from now on
                    self._link = False
            if not self._link:
                import shutil  # here: a sync that links never needs it (nor bz2, lzma)

                shutil.copyfile(source, temp)
                # A copy is the environment's own file: writable, whatever the cache's mode.
                os.chmod(temp, 0o755 if os.stat(source).st_mode & 0o111 else 0o644)
            tick()
            os.replace(temp, target)
        finally:
            # Not only on failure: when the target already is a link to the same file,
            # rename(2) succeeds and does nothing, leaving the temporary.
            _discard(temp)

    def known_entry(self, target: str, known: RecordEntry | None) -> RecordEntry:
        """The RECORD entry of a file placed at ``target``: its archive RECORD's hash and
        size when known, else the file's own."""
        if known is not None and known.hash and known.size is not None:
            return self._entry(target, known.hash, known.size)
        return self._entry(target, *hash_file(target))

    def _replace_with_symlink(self, source: str, target: str) -> None:
        temp = self._temp_beside(target)
        try:
            os.symlink(os.path.abspath(source), temp)
            tick()
            os.replace(temp, target)
        except BaseException:
            _discard(temp)
            raise

    def _link_new(self, source: str, target: str) -> bool:
        """Link straight to ``target`` when the name is free; False to go the long way."""
        self._make_parent(target)
        try:
            os.link(source, target)
        except FileExistsError:
            return False
        except OSError:
            self._link = False
            return False
        return True

    def write(
        self, target: StrPath, data: bytes, executable: bool = False, *, hashed: bool = True
    ) -> RecordEntry:
        """Write a new file at ``target`` (replacing, never modifying, what is there).
        Without ``hashed`` (RECORD itself, listed without a hash) its entry has no hash."""
        tick()
        target = os.fspath(target)
        temp = self._temp_beside(target)
        try:
            with open(temp, "xb") as handle:
                handle.write(data)
            if executable:
                os.chmod(temp, 0o755)
            tick()
            os.replace(temp, target)
        except BaseException:
            _discard(temp)
            raise
        if not hashed:
            return self._entry(target, None, len(data))
        digest = digests.sha256_for(len(data))
        digest.update(data)
        return self._entry(target, record_hash(digest.digest()), len(data))

    def _entry(self, target: str, hash_: str | None, size: int | None) -> RecordEntry:
        # Normalised by join_inside; relpath only for the other schemes' files.
        if target.startswith(self._site_prefix):
            rel = target[len(self._site_prefix) :]
        else:
            rel = os.path.relpath(target, self.site_dir)
        rel = rel.replace(os.sep, "/")
        return RecordEntry(rel, hash_, size)


def _temp_name(target: str) -> str:
    head, tail = os.path.split(target)
    return os.path.join(head, f".{tail}.{os.urandom(6).hex()}.xv-tmp")


def _discard(path: str) -> None:
    """Remove a temporary left beside its target. A new file (a write, a symlink) is
    gone once ``os.replace`` succeeded: only a failure leaves it, and no unlink is spent
    on the others (one per script and metadata file of every install)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _inside(dest: Destination, root: Path, rel: str, package: str) -> str:
    target = inside_path(root, rel, package)
    dest.guard.check(root, target, package)
    return target


def planned_paths(
    archive_dir: str | os.PathLike[str],
    interp: Interpreter,
    layout: WheelLayout | None = None,
    placement: Placement | None = None,
) -> tuple[Path, list[str]]:
    """The ``.dist-info`` directory and every path installing the archive may write
    (its own metadata files included), for the journal. ``placement``: the destinations
    validation computed for this target (else computed here)."""
    wheel = ArchiveWheel(Path(archive_dir), layout)
    site_dir = interp.paths["purelib" if wheel.root_is_purelib else "platlib"]
    if placement is not None:
        targets = placement.targets()
    else:
        targets = [str(t) for _, t, _ in destinations(wheel.root, wheel.layout, interp.paths)]
    meta = site_dir / wheel.dist_info
    return meta, [*targets, *(str(meta / name) for name in _OWN_METADATA)]


def install_from_archive(
    archive_dir: str | os.PathLike[str],
    interp: Interpreter,
    *,
    installer: str = "xv",
    direct_url: dict[str, Any] | None = None,
    link_mode: str = "hardlink",
    requested: bool = False,
    layout: WheelLayout | None = None,
    placement: Placement | None = None,
) -> InstalledRecord:
    """Install the unpacked wheel at ``archive_dir`` into ``interp``'s environment.

    ``requested`` writes an empty ``REQUESTED`` file (PEP 376): the user asked for
    this distribution, it is not only there as a dependency. ``layout`` is the
    tree as :func:`~xv.install.validate.validate_archive` read it (else read again).

    Raises InstallError (also for filesystem failures, e.g. a directory where a
    file must go); files placed before the failure stay, without metadata.
    """
    wheel = ArchiveWheel(Path(archive_dir), layout)
    try:
        return _install(wheel, interp, installer, direct_url, link_mode, requested, placement)
    except OSError as exc:
        raise InstallError(f"Failed to install {wheel.name}: {exc}", wheel.name) from exc


def _install(
    wheel: ArchiveWheel,
    interp: Interpreter,
    installer: str,
    direct_url: dict[str, Any] | None,
    link_mode: str,
    requested: bool = False,
    placement: Placement | None = None,
) -> InstalledRecord:
    scheme = {name: interp.paths[name] for name in SCHEMES}
    root_scheme = "purelib" if wheel.root_is_purelib else "platlib"
    dest = Destination(scheme, str(interp.executable), link_mode, root_scheme)
    if placement is not None and dest.links_plainly():
        entries = _link_placed(wheel, dest, placement)
    else:
        entries = [_place(wheel, dest, rel, placement) for rel in wheel.files()]
    for entry_point in wheel.entry_points():
        if placement is not None and entry_point.name in placement.scripts:
            target, base = placement.scripts[entry_point.name]
            dest.guard.check(base, target, wheel.name)
        else:
            target = _inside(dest, scheme["scripts"], entry_point.name, wheel.name)
        script = launcher(entry_point, dest.interpreter)
        entries.append(dest.write(target, script, executable=True))
    dist_info = dest.site_dir / wheel.dist_info
    entries.append(dest.write(dist_info / "INSTALLER", f"{installer}\n".encode()))
    if requested:
        entries.append(dest.write(dist_info / "REQUESTED", b""))
    if direct_url is not None:
        data = json.dumps(direct_url, sort_keys=True, separators=(",", ":")).encode()
        entries.append(dest.write(dist_info / "direct_url.json", data))
    # A later write to the same path (an entry point over a .data script) wins.
    unique = list({entry.path: entry for entry in entries}.values())
    unique.append(RecordEntry(f"{wheel.dist_info}/RECORD"))
    dest.write(dist_info / "RECORD", render_record(unique).encode("utf-8"), hashed=False)
    return InstalledRecord(wheel.name, wheel.version, dist_info, tuple(unique))


def _link_placed(wheel: ArchiveWheel, dest: Destination, placement: Placement) -> list[RecordEntry]:
    """:func:`_place` of every file, in :meth:`ArchiveWheel.files` order, for a hardlinking
    install whose destinations validation joined and checked: the steps of ``_place`` and
    :meth:`Destination.link` inlined for a placed file (a 325-pin sync links 43,000 files,
    and their Python steps took as long as the ``link`` calls); a ``.data`` file or one
    validation did not place goes :func:`_place`'s way."""
    entries: list[RecordEntry] = []
    append = entries.append
    files, hashes, guard = placement.files, wheel.hashes, dest.guard
    source_root = wheel.source_root + os.sep
    data_prefix = wheel.data_dir + "/"
    link = os.link
    for rel in wheel.files():
        placed = None if rel.startswith(data_prefix) else files.get(rel)
        if placed is None or not dest._link:  # (a failed link turns copying on)
            append(_place(wheel, dest, rel, placement))
            continue
        target, base = placed
        guard.check(base, target, wheel.name)
        tick()
        dest._make_parent(target)
        source = source_root + rel
        try:
            link(source, target)  # to a free name: the file appears whole
        except FileExistsError:
            dest._place_through_temp(source, target)
        except OSError:  # another device, or links unsupported: copy from now on
            dest._link = False
            dest._place_through_temp(source, target)
        append(dest.known_entry(target, hashes.get(rel)))
    return entries


def _place(
    wheel: ArchiveWheel, dest: Destination, rel: str, placement: Placement | None = None
) -> RecordEntry:
    source = os.path.join(wheel.source_root, rel)
    in_data = rel.startswith(wheel.data_dir + "/")
    placed = placement.files.get(rel) if placement is not None and not in_data else None
    if placed is not None:  # joined and checked by validation; directories checked again
        dest.guard.check(placed[1], placed[0], wheel.name)
        return dest.link(source, placed[0], wheel.hashes.get(rel))
    if not in_data:
        return dest.link(
            source, _inside(dest, dest.site_dir, rel, wheel.name), wheel.hashes.get(rel)
        )
    scheme, _, sub = rel[len(wheel.data_dir) + 1 :].partition("/")
    if scheme not in SCHEMES or not sub:
        raise InstallError(f"{wheel.name}: unknown .data scheme in {rel!r}", wheel.name)
    # Built from the validated, normalized project name, never METADATA's raw text.
    root = scheme_dir(dest.scheme, scheme, wheel.layout)
    target = _inside(dest, root, sub, wheel.name)
    if scheme != "scripts":
        return dest.link(source, target, wheel.hashes.get(rel))
    # Scripts are always new files: their shebang may change and they must be executable.
    content = Path(source).read_bytes()
    rewritten = rewrite_python_shebang(content, dest.interpreter)
    return dest.write(target, content if rewritten is None else rewritten, executable=True)
