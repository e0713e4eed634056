"""A wheel, unpacked once into the cache's archive bucket and validated.

The archive directory of a wheel is ``<archive_dir>/<sha256 of the wheel>``: the
wheel's tree exactly as zipped, every file checked against RECORD. Installs then
hardlink (or copy) from it, so archive files must never be modified in place.

Unpacking is atomic: the tree is extracted into a temporary directory beside
the final one and renamed into place, under a lock, so one process unpacks and
the others use its tree. Every file is created read-only, and a manifest
(``<sha256>.manifest``: each file's size, mtime and hash) is written beside the
tree; a tree is used only while it matches its manifest, checked cheaply (sizes
and mtimes) or fully (hashes), and rebuilt from the wheel otherwise. The manifest
also keeps the tree's layout (names, RECORD, scripts: what validation reads and checks
of the wheel alone), so a sync does not parse METADATA, WHEEL and RECORD again; those
few small files are hashed by every verification instead.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xv import digests
from xv.cache import Bucket
from xv.errors import InstallError
from xv.install.record import RecordEntry, hash_file, new_hasher, parse_record, record_hash
from xv.names import canonicalize_name

if TYPE_CHECKING:
    import zipfile

    from xv.install.members import MemberReader

from xv.install.validate import (
    SLASH_ONLY,
    WheelLayout,
    checked_layout,
    layout_from_plain,
    layout_to_plain,
)

_CHUNK = 1 << 20
_SIGNATURES = ("RECORD.jws", "RECORD.p7s")
_LAYOUT_SOURCES = frozenset({"METADATA", "WHEEL", "RECORD", "entry_points.txt"})


def unpack_wheel_to_archive(
    wheel_path: str, archive_dir: str, *, full_check: bool = False, sha256: str | None = None
) -> str:
    """Unpack ``wheel_path`` under ``archive_dir`` (once) and return the tree's path.

    ``sha256`` is the wheel's digest when the caller has just verified it (a download
    hashed while streaming), so the wheel is not read once more to compute it.

    An existing tree is used only when its manifest verifies (sizes and mtimes, and
    with ``full_check`` every file's hash); otherwise it is discarded and unpacked
    again. A plain top-level function with plain arguments, so it can run on the
    process pool. Raises InstallError for a wheel that is malformed, does not match
    its RECORD or holds a path escaping the archive.
    """
    digest = sha256 or file_sha256(wheel_path)
    final = os.path.join(archive_dir, digest)
    if verify_archive(final, full=full_check):
        return final
    os.makedirs(archive_dir, exist_ok=True)
    with _manifests(archive_dir).lock(digest):  # one process checks, discards and unpacks
        if verify_archive(final, full=full_check):
            return final
        discard_archive(final)
        _extract_sealed(wheel_path, archive_dir, digest, final)
    return final


def _extract_sealed(wheel_path: str, archive_dir: str, digest: str, final: str) -> None:
    import tempfile  # here: a sync whose archives are all cached unpacks nothing

    staging = tempfile.mkdtemp(prefix=".unpack-", dir=archive_dir)
    try:
        rows, record = _extract(wheel_path, staging)
        rows.sort()
        unpacked = ([row[0] for row in rows], record)
        manifest = {
            "wheel_sha256": digest,
            "files": rows,
            "layout": _layout_of(Path(staging), os.path.basename(wheel_path), unpacked),
            "filename": os.path.basename(wheel_path),  # the wheel's name: its tags
        }
        os.rename(staging, final)
        _manifests(archive_dir).put(manifest_key(digest), manifest)
    finally:
        if os.path.isdir(staging):
            import shutil  # here: only a failed unpack needs it (~5 ms with bz2, lzma)

            shutil.rmtree(staging, ignore_errors=True)


def _layout_of(
    tree: Path, label: str, unpacked: tuple[list[str], dict[str, RecordEntry]]
) -> dict[str, Any] | None:
    """The checked layout of a tree just unpacked, for its manifest; None when a check
    fails (each sync then reads the tree again, and refuses it with the check's message)."""
    try:
        return layout_to_plain(checked_layout(tree, label, unpacked))
    except InstallError:
        return None


def archive_layout(final: str | os.PathLike[str]) -> WheelLayout | None:
    """The layout kept in the manifest of the tree at ``final`` (see :func:`_layout_of`),
    for a tree :func:`verify_archive` accepted in this run; None when there is none.

    The layout is a function of the wheel's bytes, and the manifest names their sha256
    (the tree's name); its file list is the manifest's, which the tree was verified
    against. The files it was read from are hashed by every verification."""
    root = Path(final)
    manifest = _manifest(root)
    try:
        if manifest is None or manifest["wheel_sha256"] != root.name:
            return None
        doc = manifest.get("layout")
        if doc is None:
            return None
        return layout_from_plain(doc, (row[0] for row in manifest["files"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def archive_wheel_name(final: str | os.PathLike[str]) -> tuple[str, str | None] | None:
    """The file name of the wheel the tree at ``final`` was unpacked from and its
    Requires-Python, as its manifest keeps them (None: no such tree or record). Read to
    choose among cached trees before one is verified (:func:`verify_archive`)."""
    if not os.path.isdir(final):  # most hashes of a lock name no cached tree
        return None
    root = Path(final)
    manifest = _manifest(root)
    try:
        if manifest is None or manifest["wheel_sha256"] != root.name:
            return None
        filename, layout = manifest.get("filename"), manifest.get("layout")
        if not isinstance(filename, str) or layout is None:
            return None
        requires_python = layout.get("requires_python")
        return filename, None if requires_python is None else str(requires_python)
    except (KeyError, TypeError, AttributeError):
        return None


def manifest_key(digest: str) -> str:
    return f"{digest}.manifest"


def _manifests(archive_dir: str | os.PathLike[str]) -> Bucket:
    """The manifests live beside the trees (``<sha256>.manifest``), checksummed msgpack."""
    return Bucket(Path(archive_dir))


# Manifests decoded in this process, by path: the identity of the file they were read from
# (inode, size, mtime), and the value. Bounded: a big lock's are not all kept.
_DECODED: dict[str, tuple[tuple[int, int, int], Any]] = {}
_DECODED_MAX = 64


def _manifest(root: Path) -> Any | None:
    """The manifest of the tree at ``root`` (``Bucket.get``'s value), decoded once while its
    file stays the same one: a sync asks for each tree's three times (to choose it, to verify
    it, for its layout), and decoding (checksum, msgpack) cost ~0.1 ms each. The identity is
    the descriptor's the bytes are read from, so it is that of the bytes decoded; a manifest
    is replaced (never written in place) by :meth:`Bucket.put`, giving a new inode."""
    bucket = _manifests(root.parent)
    key = manifest_key(root.name)
    path = os.fspath(bucket.path(key))
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            identity = (info.st_ino, info.st_size, info.st_mtime_ns)
            known = _DECODED.get(path)
            if known is not None and known[0] == identity:
                return known[1]
            raw = handle.read()
    except OSError:
        return None
    value = bucket.decoded(key, raw)  # as Bucket.get: an entry that does not decode is removed
    if value is None:
        return None
    if len(_DECODED) >= _DECODED_MAX:
        del _DECODED[next(iter(_DECODED))]
    _DECODED[path] = (identity, value)
    return value


def manifest_identity(final: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """The identity (inode, size, mtime) of the manifest of the tree at ``final``: a tree
    unpacked again gets a new manifest (written beside, then renamed over), so a new one."""
    root = Path(final)
    try:
        info = os.stat(_manifests(root.parent).path(manifest_key(root.name)))
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def verify_archive(final: str | os.PathLike[str], *, full: bool = False) -> bool:
    """Whether the tree at ``final`` is exactly what its manifest recorded: the same
    files, sizes and mtimes (cheap), and with ``full`` the same contents.

    What the cheap check proves, and why a hashed lock relies on it (threat model):

    - The tree is content-addressed: its name is the sha256 of the wheel it came from, and
      the manifest must name that same digest. The manifest is written (atomically) only
      after every member was extracted and checked against the wheel's RECORD, from a wheel
      whose sha256 was verified (while downloading it, or by hashing the cached file). A
      lock's ``--hash`` is compared with that digest before the tree is chosen, so the tree
      answers for the wheel the lock allows; an unpack cut short, or a manifest copied from
      another wheel's entry, is refused and the tree rebuilt.
    - The files are read-only and never modified in place; any write to one (an editor, a
      tool following a hardlink out of an environment) changes its mtime and usually its
      size; a file removed, or replaced by a link or a directory, is refused.
    - Only the manifest's files are used (the layout and the install read its list), so
      a name planted beside them is never installed: the tree is not listed to find one
      (listing its ~9,500 directories cost a 325-pin sync a quarter of its verification).
    - Not detected without ``full``: an edit that keeps a file's size and then restores its
      mtime on purpose. Whoever can do that can write the cache, and so can also rewrite the
      manifest to match: hashing every file against the manifest would not stop them either.
      The full check (``--reinstall``, ``--refresh``) is for repairing a cache damaged by
      such means or by the disk, not a defence the cheap check lacks.
    """
    root = Path(final)
    if not root.is_dir():
        return False
    manifest = _manifest(root)
    try:
        if manifest is None or manifest["wheel_sha256"] != root.name:
            return False
        base = str(root)  # string paths: this runs for every file of every cached wheel
        for rel, size, mtime, digest in manifest["files"]:
            path = os.path.join(base, rel)
            info = os.lstat(path)
            if info.st_size != size or info.st_mtime_ns != mtime or not stat.S_ISREG(info.st_mode):
                return False
            if (full or _is_layout_source(rel)) and hash_file(path)[0] != digest:
                return False
    except (KeyError, TypeError, ValueError, OSError):
        return False
    return True


def _is_layout_source(rel: str) -> bool:
    """Whether ``rel`` is one of the few small files a layout is read from (METADATA,
    WHEEL, RECORD, entry_points.txt): they are hashed by every verification, so one
    damaged without its size or mtime changing is rebuilt, never trusted through the
    layout read from it before."""
    head, _, tail = rel.partition("/")
    return tail in _LAYOUT_SOURCES and head.endswith(".dist-info")


def discard_archive(final: str | os.PathLike[str]) -> None:
    """Remove a tree and its manifest (renamed away first, so it vanishes at once)."""
    root = Path(final)
    _manifests(root.parent).delete(manifest_key(root.name))
    if not root.exists():
        return
    doomed = root.with_name(f".discard-{os.urandom(6).hex()}")
    try:
        os.rename(root, doomed)
    except OSError:
        doomed = root
    import shutil  # here: only a damaged archive needs it

    shutil.rmtree(doomed, ignore_errors=True)


def file_sha256(path: str) -> str:
    with open(path, "rb") as handle:
        digest = digests.sha256_for(os.fstat(handle.fileno()).st_size)
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


ManifestRow = tuple[str, int, int, str]  # path, size, mtime (ns), sha256 in RECORD form


def extract_wheel(wheel_path: str, dest: str) -> list[ManifestRow]:
    """Extract and validate every member of the wheel into the empty directory ``dest``.

    Returns each file's manifest row, taken while it was written: its sha256 from the
    bytes written, its size and mtime from the open file. Files are created read-only
    (the mode an edit through a hardlink in some environment then fails on, instead of
    reaching every other one), so sealing the tree costs no second pass over it.
    """
    return _extract(wheel_path, dest)[0]


def _extract(wheel_path: str, dest: str) -> tuple[list[ManifestRow], dict[str, RecordEntry]]:
    """:func:`extract_wheel`, and the RECORD it checked every member against."""
    import zipfile  # here: a sync whose archives are all unpacked loads no zip reader

    from xv.install.members import MemberReader

    label = os.path.basename(wheel_path)
    try:
        with open(wheel_path, "rb") as raw, zipfile.ZipFile(raw) as wheel:
            members = _checked_members(wheel, label)
            dist_info = find_dist_info_dir(list(members), label)
            _check_names_agree(dist_info, label)
            record = _read_record(wheel, members, dist_info, label)
            reader = MemberReader(wheel, raw.fileno())
            made = {dest}  # directories created so far (dest is new and ours alone)
            rows = []
            for name, info in members.items():
                entry = record.get(name)
                if entry is None and not _unrecorded_ok(name, dist_info):
                    raise InstallError(f"{label}: {name} is not listed in RECORD", label)
                rows.append(_extract_member(reader, info, dest, entry, label, made))
            return rows, record
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InstallError(f"{label}: cannot unpack the wheel: {exc}", label) from exc


def _checked_members(wheel: zipfile.ZipFile, label: str) -> dict[str, zipfile.ZipInfo]:
    """File members by name, after refusing unsafe names, symlinks and duplicates."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in wheel.infolist():
        name = info.filename
        check_member_name(name, label)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise InstallError(f"{label}: {name} is a symbolic link", label)
        if info.is_dir():
            continue
        if name in members:
            raise InstallError(f"{label}: {name} appears twice in the wheel", label)
        members[name] = info
    return members


def check_member_name(name: str, label: str) -> None:
    """Refuse a member path that is absolute, climbs out with ``..`` or is not portable."""
    if not name or "\\" in name or "\0" in name or ":" in name.split("/", 1)[0]:
        raise InstallError(f"{label}: invalid path {name!r} in the wheel", label)
    parts = name.rstrip("/").split("/")
    if name.startswith("/") or any(part in ("..", ".", "") for part in parts):
        raise InstallError(f"{label}: path {name!r} escapes the installation directory", label)


def find_dist_info_dir(names: list[str], label: str) -> str:
    """The wheel's single top-level ``*.dist-info`` directory."""
    tops = {name.split("/", 1)[0] for name in names if "/" in name}
    found = sorted(top for top in tops if top.endswith(".dist-info"))
    if len(found) != 1:
        raise InstallError(f"{label}: expected one .dist-info directory, found {len(found)}", label)
    return found[0]


def _check_names_agree(dist_info: str, label: str) -> None:
    """The .dist-info directory must belong to the project the file name says."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        project = parse_wheel_filename(label)[0]
    except InvalidWheelFilename:
        return  # a temporary download name: nothing to compare with
    name = dist_info.removesuffix(".dist-info").rpartition("-")[0]
    if canonicalize_name(name) != project:
        raise InstallError(f"{label}: holds {dist_info}, not {project}'s metadata", label)


def _read_record(
    wheel: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], dist_info: str, label: str
) -> dict[str, RecordEntry]:
    info = members.get(f"{dist_info}/RECORD")
    if info is None:
        raise InstallError(f"{label}: {dist_info}/RECORD is missing", label)
    try:
        text = wheel.read(info).decode("utf-8")
    except UnicodeDecodeError:
        raise InstallError(f"{label}: {dist_info}/RECORD is not valid UTF-8", label) from None
    try:
        return {entry.path: entry for entry in parse_record(text)}
    except Exception as exc:  # csv.Error and friends: a garbled RECORD
        raise InstallError(f"{label}: unreadable RECORD: {exc}", label) from None


def _unrecorded_ok(name: str, dist_info: str) -> bool:
    head, _, tail = name.rpartition("/")
    return head == dist_info and tail in ("RECORD", *_SIGNATURES)


def _extract_member(
    reader: MemberReader,
    info: zipfile.ZipInfo,
    dest: str,
    entry: RecordEntry | None,
    label: str,
    made: set[str],
) -> ManifestRow:
    """Write one member, checked against its RECORD entry; its manifest row."""
    name = info.filename
    # The name was checked (no "..", no empty part, no backslash): a plain join is exact.
    target = dest + "/" + name if SLASH_ONLY else os.path.join(dest, *name.split("/"))
    parent = target[: target.rindex("/")] if SLASH_ONLY else os.path.dirname(target)
    if parent not in made:
        _make_dirs(parent, made)
    expected = entry.hash if entry is not None else None
    check = new_hasher(expected) if expected else None
    if expected and check is None:
        raise InstallError(f"{label}: unsupported hash {expected!r} in RECORD", label)
    # The manifest's sha256, from the same bytes (RECORD's own hasher when it is sha256).
    same = check is not None and check[0] == "sha256"
    sha = check[1] if same else digests.sha256_for(info.file_size)  # type: ignore[index]
    other = check[1] if check is not None and not same else None
    mode = 0o555 if (info.external_attr >> 16) & 0o111 else 0o444
    # Created with its final mode: the creating descriptor may write a read-only file.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, mode)
    try:
        # The zip's CRC-32 only where RECORD gives no hash (its hash is the stronger check).
        for chunk in reader.chunks(info, check_crc=check is None):
            if other is not None:
                other.update(chunk)
            sha.update(chunk)
            done = os.write(fd, chunk)
            while done < len(chunk):  # a short write (a signal, a nearly full disk)
                done += os.write(fd, memoryview(chunk)[done:])
        if mode & _UMASK:  # the umask took bits the mode needs (rare): set them
            os.chmod(target, mode)
        written = os.fstat(fd)  # after the last write, so the mtime is final
    finally:
        os.close(fd)
    sha_text = record_hash(sha.digest())
    if check is not None and (sha_text if same else record_hash(*_digest(check))) != expected:
        raise InstallError(f"{label}: {name} does not match its RECORD hash", label)
    if entry is not None and entry.size is not None and entry.size != written.st_size:
        raise InstallError(f"{label}: {name} does not match its RECORD size", label)
    return name, written.st_size, written.st_mtime_ns, sha_text


def _make_dirs(directory: str, made: set[str]) -> None:
    """``os.makedirs`` without its existence checks: below ``dest`` only we create."""
    if directory in made:
        return
    _make_dirs(os.path.dirname(directory), made)
    os.mkdir(directory)
    made.add(directory)


def _current_umask() -> int:
    """The process's umask, read without changing it (``os.umask`` sets it for every
    thread); on systems that do not show it, assume it may take any bit."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o777


_UMASK = _current_umask()
_O_BINARY = getattr(os, "O_BINARY", 0)


def _digest(check: tuple[str, Any]) -> tuple[bytes, str]:
    return check[1].digest(), check[0]
