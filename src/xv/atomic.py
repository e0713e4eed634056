"""Writing a whole file so that a failure, Ctrl-C or a power cut never leaves it half written.

The helpers behind every whole-file write xv makes: :func:`atomic_writer` for the compiled
lock (``-o``), downloaded archives and records, as below; :func:`replace_entry` for cache
entries, xv's own files, the same way in fewer system calls (the path itself replaced, a
link there never followed, the umask's permission bits).

- A regular file (or a path that does not exist yet) is replaced atomically: the new content
  goes to a temporary file beside it (same directory, so the same filesystem) and
  :func:`os.replace` swaps it in. Readers see the old file or the new one, never a mix, and
  an existing file survives any failure untouched. The file keeps its permission bits; a new
  one gets the umask's, as :func:`open` would give it. Missing directories are created.
- A symlink is written through: the file it points to is replaced beside *that* file, and
  the link stays a link (replacing the link itself would cut it off from its target).
- What is not a regular file (a FIFO, a character or block device such as ``/dev/null``)
  and the aliases of a file descriptor (``/dev/stdout``, ``/dev/fd/N``, ``/proc/self/fd/N``)
  are written in place: replacing them would destroy a device node or write into a file
  nobody is reading. Such writes append (``O_APPEND``), so ``-o /dev/stdout >> log`` adds to
  the log instead of overwriting it.
"""

from __future__ import annotations

import itertools
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

# Paths that name an open file descriptor rather than a file: whatever they resolve to is
# someone else's open file, so it is written through the descriptor, never replaced.
_FD_ALIAS_RE = re.compile(r"^/dev/(stdout|stderr|fd/\d+)$|^/proc/[^/]+/fd/\d+$")


def writes_in_place(path: Path) -> bool:
    """Whether ``path`` must be written in place (see the module docstring).

    >>> writes_in_place(Path("/dev/stdout")), writes_in_place(Path("/nonexistent/x.txt"))
    (True, False)
    """
    if _FD_ALIAS_RE.match(os.path.abspath(path)):
        return True
    try:
        mode = os.stat(path).st_mode  # follows symlinks: a link to a FIFO is a FIFO
    except OSError:
        return False
    return not stat.S_ISREG(mode)


@contextmanager
def atomic_writer(
    path: str | os.PathLike[str], *, durable: bool = False, follow: bool = True
) -> Iterator[BinaryIO]:
    """Yield a binary handle whose content becomes ``path`` when the block ends without
    an exception (see the module docstring). ``durable`` also flushes the data and the
    rename to disk before returning, for files a person would hate to lose (the lock).
    ``follow=False`` replaces ``path`` itself whatever it is (the cache: its entries are
    always regular files, and a link planted there must not redirect a write elsewhere)."""
    given = Path(path)
    if follow and writes_in_place(given):
        with open(os.open(given, os.O_WRONLY | os.O_APPEND), "wb") as handle:
            yield handle
        return
    # Through symlinks, dangling ones included.
    target = Path(os.path.realpath(given)) if follow else given
    target.parent.mkdir(parents=True, exist_ok=True)
    temp, fd = _create_beside(target)
    try:
        with open(fd, "wb") as handle:
            yield handle
            handle.flush()
            _copy_mode(target, handle.fileno())
            if durable:
                os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_directory(target.parent)


def write_atomic(
    path: str | os.PathLike[str], data: bytes, *, durable: bool = False, follow: bool = True
) -> None:
    """Write ``data`` to ``path`` with :func:`atomic_writer`."""
    with atomic_writer(path, durable=durable, follow=follow) as handle:
        handle.write(data)


def replace_entry(path: str | os.PathLike[str], chunks: list[bytes]) -> None:
    """Replace ``path`` itself with the bytes of ``chunks``, atomically (a temporary file
    beside it, then :func:`os.replace`), in as few system calls as that takes: open, one
    ``writev``, close, rename. For cache entries, xv's own files, written by the hundred in
    a cold compile while other threads wait for the interpreter lock, which each call
    releases: :func:`atomic_writer` takes more (a ``mkdir`` its directory answers with
    ``EEXIST``, the buffered file's ``fstat``, ``ioctl`` and ``lseek``, the replaced file's
    mode). So: directories made once per process (again if one vanished), and the umask's
    permission bits."""
    target = Path(path)
    directory = os.fspath(target.parent)
    if directory not in _MADE:
        target.parent.mkdir(parents=True, exist_ok=True)
        _MADE.add(directory)
    try:
        temp, fd = _create_beside(target)
    except FileNotFoundError:  # the directory went away since this process made it
        target.parent.mkdir(parents=True, exist_ok=True)
        temp, fd = _create_beside(target)
    try:
        try:
            _write_all(fd, chunks)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


_MADE: set[str] = set()  # directories replace_entry made or found in this process
_IOV_MAX = 512  # buffers per writev, well under every system's IOV_MAX


def _write_all(fd: int, chunks: list[bytes]) -> None:
    """Write every byte of ``chunks`` to ``fd``: one ``writev`` per batch of buffers,
    continued where a short write stopped."""
    for start in range(0, len(chunks), _IOV_MAX):
        batch = [memoryview(c) for c in chunks[start : start + _IOV_MAX] if c]
        while batch:
            written = os.writev(fd, batch) if hasattr(os, "writev") else os.write(fd, batch[0])
            while batch and written >= len(batch[0]):
                written -= len(batch[0])
                batch.pop(0)
            if batch and written:
                batch[0] = batch[0][written:]


def _create_beside(target: Path) -> tuple[Path, int]:
    """A new temporary file next to ``target``, created with mode 0o666 so the kernel applies
    the umask (``tempfile.mkstemp`` would make it 0o600, and reading the umask is racy).
    Named by this process's id and a counter, not random bytes (a system call each); a name
    taken already (left behind by a process that died with this process's id, as a
    container's first process often has) gives way to the next."""
    while True:
        temp = target.with_name(f".{target.name}.{_PID[0]}.{next(_SERIAL)}.tmp")
        try:
            return temp, os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue


_SERIAL = itertools.count()  # next() is atomic under the interpreter lock
_PID = [os.getpid()]  # a forked child names its files apart from its parent's
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _PID.__setitem__(0, os.getpid()))


def _copy_mode(target: Path, fd: int) -> None:
    """Give the new file the permission bits of the file it replaces."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(mode))


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no directory handles to sync)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
