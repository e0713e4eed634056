"""Recording a normal run for :mod:`xv.fast`: what it read (the witnesses) and printed.

While the command runs, an audit hook sees every ``open`` (a read, not a write: the file
becomes a witness by its bytes, a module by its stat), ``os.listdir`` and ``os.scandir``
(the directory by its inode and mtime), and a wrapper around ``os.stat``/``os.lstat`` sees
every path asked about. A process started, a socket, stdin read, bytes written past the
text streams, a path given as a file descriptor, more than :data:`MAX_WITNESSES` paths, or a
witness that changes while the run runs make the run unrecordable. The run says when it
answered from a record (:func:`note`); only then, and only with exit status 0, is the fast
record written.
"""

from __future__ import annotations

import _thread
import json
import os
import sys

from xv.fast import FORMAT, state

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TextIO

    from xv.fast import State

MAX_WITNESSES = 5000  # a record hit reads a few hundred paths (most of them modules)
_CODE = (".py", ".pyc", ".so", ".pyd", ".pth")  # witnessed by stat, not by their bytes
_TAINTS = frozenset(
    (
        "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
        "os.forkpty", "socket.connect", "socket.getaddrinfo", "socket.bind", "os.chdir",
        "os.putenv", "os.unsetenv",
    )
)  # fmt: skip
_WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_real_stat = os.stat  # imported before the run patches them (xv.fast.main)
_real_lstat = os.lstat


class _Recorder:
    """What a normal run read and printed, collected while it runs."""

    def __init__(self) -> None:
        self.active = False
        # Threads whose reads are not witnessed now (their own, by thread: a pause in one
        # thread must not hide what another reads meanwhile), with a depth each.
        self.pauses: dict[int, int] = {}
        self.tainted = False
        self.seen: dict[tuple[str, str], State] = {}
        self.out: list[list[Any]] = []
        self.answer: dict[str, Any] | None = None

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active or self.tainted or self.is_paused():
            return
        if event == "open":
            self._opened(*args[:3])
        elif event in ("os.listdir", "os.scandir"):
            self._see(args[0] if args and args[0] is not None else ".", "list")
        elif event in _TAINTS or event.startswith("socket."):
            self.tainted = True

    def _opened(self, path: Any, mode: Any, flags: Any) -> None:
        if isinstance(mode, str) and any(c in mode for c in "wax+"):
            return  # writes are not what the answer read
        if mode is None and isinstance(flags, int) and flags & _WRITING:
            return  # os.open of a lock file or an atomic write
        if isinstance(path, str | bytes) and os.fsdecode(path).endswith(_CODE):
            self._see(path, "code")
        else:
            self._see(path, "bytes")

    def _see(self, path: Any, kind: str) -> None:
        if isinstance(path, int) or not isinstance(path, str | bytes | os.PathLike):
            self.tainted = True  # a file descriptor: nothing to witness by name
            return
        name = os.fsdecode(path)
        if (name, kind) in self.seen:
            return
        if len(self.seen) >= MAX_WITNESSES:  # not a run a record answered: stop tracing
            self.tainted = True
            return
        with self.pause():
            # A file's state when first seen; recorded only if it is the same at the end.
            self.seen[name, kind] = state(name, "stat" if kind == "bytes" else kind)

    def stat(self, path: Any, *args: Any, dir_fd: Any = None, follow_symlinks: bool = True) -> Any:
        if dir_fd is not None:
            self._see(0, "stat")  # relative to a descriptor: taints
        elif self.active and not (self.tainted or self.is_paused()):
            self._see(path, "stat" if follow_symlinks else "lstat")
        return _real_stat(path, *args, dir_fd=dir_fd, follow_symlinks=follow_symlinks)

    def lstat(self, path: Any, *args: Any, dir_fd: Any = None) -> Any:
        if dir_fd is not None:
            self._see(0, "lstat")
        elif self.active and not (self.tainted or self.is_paused()):
            self._see(path, "lstat")
        return _real_lstat(path, *args, dir_fd=dir_fd)

    def is_paused(self) -> bool:
        return _thread.get_ident() in self.pauses

    def pause(self) -> _Pause:
        return _Pause(self)

    def witnesses(self) -> list[list[Any]] | None:
        """The witnesses' states now, or None when one changed during the run (or cannot be
        witnessed)."""
        found = []
        for (path, kind), first in self.seen.items():
            if state(path, "stat" if kind == "bytes" else kind) != first:
                return None
            now = state(path, kind)
            if now[0] == "?" or (kind == "bytes" and state(path, "stat") != first):
                return None
            found.append([path, kind, now])
        return found


_recorder: _Recorder | None = None
_hooked = False


def note(kind: str, **material: Any) -> None:
    """Called by the normal run when it answers from a record (``kind`` ``check`` or
    ``sync``, the latter with the sync record's ``head`` and ``key``): the run may be
    recorded. Does nothing when the run did not start here (a test, a library caller)."""
    if _recorder is not None and _recorder.active:
        _recorder.answer = {"kind": kind, **material}


def stop() -> None:
    """Called by the normal run once it knows no record answers it (a sync that plans,
    a ``--check`` that resolves): such a run is never recorded, so witnessing the rest of
    it (a stat for each of the thousands of paths an install reads and writes, ~0.1 s of
    CPU for 27 packages) is dropped here. Does nothing when the run did not start here."""
    recorder = _recorder
    if recorder is not None and recorder.active:
        recorder.active = False
        recorder.tainted = True
        os.stat, os.lstat = _real_stat, _real_lstat


class _Pause:
    """This thread's reads unwitnessed for a block."""

    def __init__(self, recorder: _Recorder | None) -> None:
        self.recorder = recorder

    def __enter__(self) -> None:
        if self.recorder is not None:
            me = _thread.get_ident()
            self.recorder.pauses[me] = self.recorder.pauses.get(me, 0) + 1

    def __exit__(self, *exc: object) -> None:
        if self.recorder is not None:
            me = _thread.get_ident()
            depth = self.recorder.pauses.pop(me, 1) - 1
            if depth:
                self.recorder.pauses[me] = depth


def paused() -> _Pause:
    """A block whose reads are not witnessed (the sync record's key, recomputed by the
    fast path itself)."""
    return _Pause(_recorder)


class _Tee:
    """A text stream that keeps what is written through it; anything else (bytes, the
    binary buffer) makes the run unrecordable."""

    def __init__(self, stream: TextIO, fd: int, recorder: _Recorder) -> None:
        self._stream = stream
        self._fd = fd
        self._recorder = recorder

    def write(self, text: str) -> int:
        if isinstance(text, str):
            if text:
                self._recorder.out.append([self._fd, text])
        elif text:  # click probes a stream with write(b""): that writes nothing
            self._recorder.tainted = True
        return self._stream.write(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        if name in ("buffer", "fileno", "detach", "reconfigure"):
            self._recorder.tainted = True
        return getattr(self._stream, name)


class _Stdin:
    """stdin that makes the run unrecordable once read."""

    def __init__(self, stream: TextIO, recorder: _Recorder) -> None:
        self._stream = stream
        self._recorder = recorder

    def __getattr__(self, name: str) -> Any:
        if name not in ("isatty", "encoding", "errors", "name", "closed"):
            self._recorder.tainted = True
        return getattr(self._stream, name)


def run_recording(load: Callable[[], Callable[[], Any]], path: str) -> None:
    global _recorder, _hooked
    recorder = _recorder = _Recorder()
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked = True
    saved = sys.stdin, sys.stdout, sys.stderr, os.stat, os.lstat
    if sys.stdin is not None:
        sys.stdin = _Stdin(sys.stdin, recorder)
    sys.stdout = _Tee(sys.stdout, 1, recorder)
    sys.stderr = _Tee(sys.stderr, 2, recorder)
    os.stat, os.lstat = recorder.stat, recorder.lstat
    code: object = None
    recorder.active = True
    try:
        load()()
        code = 0
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code
        raise
    finally:
        recorder.active = False
        sys.stdin, sys.stdout, sys.stderr, os.stat, os.lstat = saved
        if code == 0 and recorder.answer is not None and not recorder.tainted:
            _store(path, recorder)
        _recorder = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    recorder = _recorder
    if recorder is not None:
        recorder.hook(event, args)


def _store(path: str, recorder: _Recorder) -> None:
    """Write the record (best effort: a cache that cannot take it is only slower)."""
    witnesses = recorder.witnesses()
    answer = recorder.answer
    if witnesses is None or answer is None:
        return
    out = [list(chunk) for chunk in recorder.out]
    doc: dict[str, Any] = {"format": FORMAT, "code": 0, "witness": witnesses}
    if answer["kind"] == "sync":
        doc["sync"] = {"head": answer["head"], "key": answer["key"]}
        doc["elapsed_at"] = _cut_elapsed(out)
    doc["out"] = out
    try:
        data = json.dumps(doc).encode("utf-8", "surrogateescape")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temp = f"{path}.{os.getpid()}.tmp"
        with open(temp, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except (OSError, TypeError, ValueError):
        pass


def _cut_elapsed(out: list[list[Any]]) -> list[int] | None:
    """Take the duration out of the last ``Audited 3 packages in 12ms`` line on stderr;
    where it was (None with ``-q``: no such line)."""
    for index in range(len(out) - 1, -1, -1):
        fd, text = out[index]
        if fd == 2 and text.startswith("Audited ") and text.endswith("\n") and " in " in text:
            offset = text.rindex(" in ") + len(" in ")
            out[index][1] = text[:offset] + "\n"
            return [index, offset]
    return None
