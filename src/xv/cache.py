"""The on-disk cache: versioned buckets of msgpack entries and raw blobs.

Layout::

    <root>/                       platformdirs.user_cache_dir("xv"), XV_CACHE_DIR, or --cache-dir
      simple-v1/<key>             one file per entry, msgpack with a small envelope
      simple-v1/.locks/<key>.lock lock files (never deleted: deleting a lock file races)
      simple-v1/.<entry>.*.tmp    in-flight writes, renamed over the entry when complete

Rules, in the spirit of uv's cache:

* A bucket name carries the version of what its entries mean (``simple-v1``).
  An incompatible change to a value's layout bumps the name (``simple-v2``);
  old buckets are then simply ignored. The envelope below catches entries that
  are not ours (another writer, a raw blob read as msgpack) and, through its
  checksum, entries damaged on disk: both are misses.
* Writes go to a temporary file in the same directory and are renamed over the
  entry with :func:`os.replace`, so concurrent readers, in any process, see the
  old entry or the new one, never a partial one. There is no fsync: a torn entry
  after a power cut fails to decode and is deleted like any corrupt entry.
* The cache is an accelerator. Reads that fail for any reason (missing,
  undecodable, permission denied) are misses; an undecodable entry is deleted.
  Writes that fail with an :class:`OSError` (disk full, read-only directory) are
  logged at WARNING and reported by returning False; they never raise.
* A disabled cache (``Cache(None)``, ``--no-cache``) misses every read, drops
  every write, and its locks do nothing. :meth:`Bucket.path` raises on it, since
  there is nowhere to point.

While a command uses the cache it holds a shared lock on ``<root>/.lock``
(:meth:`Cache.in_use`); ``xv cache clean`` and ``xv cache prune`` hold it exclusively
(:meth:`Cache.exclusive`), so they never delete an entry another xv process is writing or
an archive it is installing from: they wait for such processes to finish, and processes
started meanwhile wait for them.

Entries are not sharded: a bucket holds at most a few thousand entries (one per
project or distribution), which every current filesystem handles well, and flat
names keep the cache easy to inspect.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

from xv import atomic, digests
from xv.dirs import user_cache_dir
from xv.envelope import decode_entry, encode_entry
from xv.fast import trace

log = logging.getLogger(__name__)

ENV_CACHE_DIR = "XV_CACHE_DIR"
ROOT_LOCK = ".lock"  # <root>/.lock: shared while a command runs, exclusive for clean/prune


class CacheBucket(StrEnum):
    """Every bucket of the cache, in one place. A change of an entry's format bumps the
    version in its name, so an older xv and a newer one never read each other's entries."""

    SIMPLE = "simple-v2"  # index pages (v2: entries keep the caching headers)
    METADATA = "metadata-v1"  # core metadata of distribution files, by hash
    WHEELS = "wheels-v1"  # downloaded wheels, by sha256
    ARCHIVES = "archives-v1"  # wheels unpacked once, linked into environments
    INTERPRETER = "interpreter-v1"  # probed interpreter facts
    CHECK = "check-v1"  # locks confirmed fresh by --check
    GIT = "git-v1"  # bare clones of git repositories (build.vcs)
    SDISTS = "sdists-v1"  # downloaded sdists, by sha256 (build.source)
    DIRECT = "direct-v1"  # metadata of direct references, by URL (build.direct)
    TREE_METADATA = "tree-metadata-v1"  # metadata of local source trees (build.builder)
    BUILT_WHEELS = "built-wheels-v1"  # wheels built from sdists (build.builder)
    FAST = "fast-v1"  # JSON records of answers replayed before click loads (xv.fast)


_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# Keys made only of these characters (and not too long) are used as they are.
# Sanitised keys always contain "~", which safe keys cannot, so the two never collide.
_SAFE_KEY_RE = re.compile(r"^[a-z0-9_-][a-z0-9._-]{0,99}$")
_UNSAFE_CHARS_RE = re.compile(r"[^a-z0-9._-]+")
_PREFIX_LEN = 48
_WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{i}" for i in range(1, 10)]
    + [f"lpt{i}" for i in range(1, 10)]
)


class Cache:
    """The cache root; hands out :class:`Bucket` objects. ``Cache(None)`` is disabled.

    A plain value: it pickles, and two caches with the same root are equal (and hash
    alike), so pool jobs receive the ``Cache`` itself and a worker can key its per-process
    clients by it.
    """

    def __init__(self, root: Path | str | None) -> None:
        self.root: Path | None = Path(root) if root is not None else None
        if root is not None:
            trace.uses_cache(os.fspath(root))  # its entries' writes are witnessed (xv.fast)

    @classmethod
    def default(cls, cache_dir: str | None = None, no_cache: bool = False) -> Cache:
        """The cache the CLI uses: ``cache_dir``, else ``$XV_CACHE_DIR``, else the user cache."""
        if no_cache:
            return cls.disabled()
        return cls(default_root(cache_dir))

    @classmethod
    def disabled(cls) -> Cache:
        return cls(None)

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def bucket(self, name: str) -> Bucket:
        """A bucket such as ``"simple-v1"``; its directory is created on first write."""
        if not _BUCKET_RE.match(name):
            raise ValueError(f"invalid cache bucket name {name!r}")
        return Bucket(self.root / name if self.root is not None else None)

    @contextlib.contextmanager
    def in_use(self) -> Iterator[None]:
        """Hold the root's lock shared while a command uses the cache (see the module
        docstring). Best effort: a root that cannot be created or locked (a read-only
        cache) is used without it, as every other cache failure is only slower."""
        with contextlib.ExitStack() as stack:
            if self.root is not None:
                try:
                    self.root.mkdir(parents=True, exist_ok=True)
                    stack.enter_context(lock_file(self.root / ROOT_LOCK, shared=True))
                except OSError as exc:
                    log.debug("cache used without its lock: %s", exc)
            yield

    @contextlib.contextmanager
    def exclusive(self, on_wait: Callable[[], None] = lambda: None) -> Iterator[None]:
        """Hold the root's lock exclusively: no other xv process uses the cache meanwhile.
        ``on_wait`` is called once if another process holds it (then this one blocks)."""
        if self.root is None:
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ROOT_LOCK
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(lock_file(path, blocking=False))
            except BlockingIOError:
                on_wait()
                stack.enter_context(lock_file(path))
            yield

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cache) and self.root == other.root

    def __hash__(self) -> int:
        return hash(self.root)

    def __repr__(self) -> str:
        return f"Cache({str(self.root) if self.root else None!r})"


def default_root(cache_dir: str | None = None) -> Path:
    """``cache_dir``, else ``$XV_CACHE_DIR``, else the user cache directory."""
    chosen = cache_dir or os.environ.get(ENV_CACHE_DIR) or user_cache_dir()
    return Path(chosen).expanduser()


class Bucket:
    """One versioned directory of entries, addressed by string keys."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def path(self, key: str) -> Path:
        """Where ``key``'s entry lives (also usable as a directory, e.g. an unpacked wheel).

        Raises :class:`RuntimeError` on a disabled cache.
        """
        if self.root is None:
            raise RuntimeError("the cache is disabled")
        return self.root / sanitize_key(key)

    # -- msgpack entries -------------------------------------------------------

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or None on a miss.

        Arrays come back as tuples and maps as dicts (``use_list=False``).
        An entry that does not decode is deleted.
        """
        raw = self.get_bytes(key)
        return None if raw is None else self.decoded(key, raw)

    def decoded(self, key: str, raw: bytes) -> Any | None:
        """The value of ``raw``, the bytes read from ``key``'s entry; None (and the entry
        deleted) when they do not decode."""
        try:
            return decode_entry(raw)
        except ValueError:
            log.debug("deleting undecodable cache entry %s", self.path(key))
            self.delete(key)
            return None

    def put(self, key: str, value: Any) -> bool:
        """Store ``value`` (plain data msgpack can encode) atomically. False if not written.

        A value msgpack cannot encode is a programming error and raises TypeError. The
        entry is written in pieces (:func:`encode_entry`): a project page's cache form
        (MBs of per-version blobs) is not copied into one payload and then into the
        envelope, twice its size for each write in flight.
        """
        if self.root is None:
            trace.stop()  # not kept: a warm run would not find it (xv.fast)
            return False
        return self._write(key, encode_entry(value))

    # -- raw blobs -------------------------------------------------------------

    def get_bytes(self, key: str) -> bytes | None:
        if self.root is None:
            return None
        try:
            return _read_file(self.path(key))
        except FileNotFoundError:
            return None
        except OSError as exc:  # a directory, permission denied, I/O error
            log.debug("cache read failed for %s: %s", key, exc)
            return None

    def put_bytes(self, key: str, data: bytes) -> bool:
        """Store ``data`` atomically under ``key``. False (and a warning) if not written."""
        if self.root is None:
            trace.stop()
            return False
        return self._write(key, [data])

    def _write(self, key: str, chunks: list[bytes]) -> bool:
        target = self.path(key)
        try:
            write_atomic(target, chunks)
        except OSError as exc:
            log.warning("could not write cache entry %s: %s", target, exc)
            trace.stop()  # not kept: a warm run would not find it (xv.fast)
            return False
        trace.wrote(os.fspath(target), chunks)  # its witness, if this run is recorded
        return True

    def delete(self, key: str) -> None:
        if self.root is None:
            return
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            self.path(key).unlink()

    # -- locks -----------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold an exclusive inter-process lock on ``key`` (blocking until it is free).

        For work that must happen once however many processes want it, such as
        unpacking an archive: take the lock, look again, then do the work.
        """
        if self.root is None:
            yield
            return
        lock_dir = self.root / ".locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with lock_file(lock_dir / (sanitize_key(key) + ".lock")):
            yield


@contextlib.contextmanager
def lock_file(path: Path, *, shared: bool = False, blocking: bool = True) -> Iterator[None]:
    """Hold an inter-process lock on the file ``path`` (created if missing), exclusive
    unless ``shared``, blocking until it is free unless ``blocking`` is False (then
    :class:`BlockingIOError` if it is held). Raises OSError when the file cannot be opened."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        _lock_fd(fd, shared, blocking)
        try:
            yield
        finally:
            _unlock_fd(fd)
    finally:
        os.close(fd)


def _read_file(path: Path) -> bytes:
    """The bytes of the file at ``path`` in four system calls: open, ``fstat``, read, close.
    ``Path.read_bytes`` takes seven (its buffered file asks ``isatty`` and ``lseek``, and
    reads once more to find the end), each a turn of the interpreter lock for the threads
    of a cold compile, which reads hundreds of entries. An entry is replaced by rename,
    never written in place, so the open file keeps the size it had when opened; a file
    that says otherwise is read to its end all the same."""
    fd = os.open(path, os.O_RDONLY)  # not inherited by child processes (PEP 446)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size) if size else b""
        if len(data) < size or not size:  # short (or a size the file system does not know)
            rest = [data]
            while chunk := os.read(fd, max(size, 1 << 16)):
                rest.append(chunk)
            data = b"".join(rest)
        return data
    finally:
        os.close(fd)


def write_atomic(target: Path, chunks: list[bytes]) -> None:
    """Write ``chunks`` to ``target`` through a temporary file beside it and ``os.replace``;
    ``target`` itself is replaced, never a file a link there points to
    (:func:`xv.atomic.replace_entry`)."""
    atomic.replace_entry(target, chunks)


def sanitize_key(key: str) -> str:
    """A file name for ``key``: the key itself when safe, else a readable prefix + a hash.

    >>> sanitize_key("requests")
    'requests'
    >>> sanitize_key("https://pypi.org/simple/Requests/")
    'https_pypi.org_simple_requests_~88361b9177ebeb671ca96b21'
    """
    if _SAFE_KEY_RE.match(key) and key.split(".", 1)[0] not in _WINDOWS_RESERVED:
        return key
    digest = digests.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    prefix = _UNSAFE_CHARS_RE.sub("_", key.lower())[:_PREFIX_LEN].lstrip(".")
    return f"{prefix}~{digest}"


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock_fd(fd: int, shared: bool = False, blocking: bool = True) -> None:
        # msvcrt has no shared locks: commands do not take one (``xv cache clean`` and
        # ``prune`` then do not wait for them on Windows).
        if shared:
            return
        os.lseek(fd, 0, os.SEEK_SET)  # msvcrt locks bytes from the current position
        if not blocking:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                raise BlockingIOError("locked") from None
            return
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # retries for ~10 s, then raises
                return
            except OSError:
                continue

    def _unlock_fd(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        with contextlib.suppress(OSError):  # a shared "lock" was never taken
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_fd(fd: int, shared: bool = False, blocking: bool = True) -> None:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        fcntl.flock(fd, mode if blocking else mode | fcntl.LOCK_NB)  # NB: BlockingIOError

    def _unlock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
