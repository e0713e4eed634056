"""Recording a normal run for :mod:`xv.fast`: what it read (the witnesses) and printed.

While the command runs, an audit hook sees every ``open`` (a read, not a write: the file
becomes a witness by its bytes, a module by its stat), ``os.listdir`` and ``os.scandir``
(the directory by its inode and mtime), and a wrapper around ``os.stat``/``os.lstat`` sees
every path asked about. A process started, a socket, stdin read, bytes written past the
text streams, a path given as a file descriptor, more than :data:`MAX_WITNESSES` paths, or a
witness that changes while the run runs make the run unrecordable. The run says when it
answered from a record (:func:`note`); only then, and only with exit status 0, is the fast
record written.

A compile run (``network``, :func:`run_recording`) is recorded whenever it exits 0: its
sockets are allowed, and its writes accounted for: renames into a cache it made
(:func:`uses_cache`; the entries become witnesses by their bytes) or elsewhere (the output:
its bytes go into the record, its state before the run is the witness), directories made in
a cache or above an output; any other write, a removal, a byte-code write, a cache write
handed out and not done (:func:`owed`) or a page not fresh without asking
(:func:`fresh_until`) leave it unrecorded (see :mod:`xv.fast`).
"""

from __future__ import annotations

import _thread
import json
import os
import sys

from xv.digests import sha256_of
from xv.fast import FORMAT, stat_state, state

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
_REMOVING = frozenset(("os.remove", "os.rmdir", "shutil.rmtree", "os.truncate", "os.link"))
_AT_FDCWD = -1  # the dir_fd CPython's audit events give for "none"
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
        # A compile run (``network``): sockets allowed, writes accounted for (module docstring).
        self.network = False
        self.cache_roots: set[str] = set()  # the caches the run uses (xv.cache.Cache)
        self.record_dir = ""  # the fast records' directory: never written by the run
        self.until: float | None = None  # the earliest moment a page it used stops being fresh
        self.renamed: dict[str, str] = {}  # destination -> source, in order
        self.opened_for_writing: set[str] = set()
        self.made: set[str] = set()
        self.first_bytes: dict[str, State] = {}  # a compile run's inputs' bytes when read
        self.digests: dict[str, str] = {}  # cache entry -> sha256 of the bytes this run wrote
        self.owed: list[int] = []  # cache writes handed out (appends: atomic across threads)
        self.paid: list[int] = []  # ... and done

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active or self.tainted or self.is_paused():
            return
        if event == "open":
            self._opened(*args[:3])
        elif event in ("os.listdir", "os.scandir"):
            self._see(args[0] if args and args[0] is not None else ".", "list")
        elif event == "os.rename" and self.network:
            self._renamed(*args[:4])
        elif event == "os.mkdir" and self.network:
            relative = len(args) > 2 and args[2] not in (None, _AT_FDCWD)
            self._made(None if relative or not args else args[0])
        elif event in _REMOVING and self.network:
            # A cache entry deleted (a page that may not be stored, an undecodable entry) or
            # any other file removed: a warm run would not find what this run found.
            self.tainted = True
        elif event.startswith("socket."):
            self.tainted = self.tainted or not self.network  # a compile run may fetch
        elif event in _TAINTS:
            self.tainted = True

    def _opened(self, path: Any, mode: Any, flags: Any) -> None:
        writing = isinstance(mode, str) and any(c in mode for c in "wax+")
        if writing or (mode is None and isinstance(flags, int) and flags & _WRITING):
            # Not what the answer read. A compile run's own writes: kept to check (below).
            if self.network and isinstance(path, str | bytes | os.PathLike):
                self.opened_for_writing.add(os.path.abspath(os.fsdecode(path)))
            return
        if isinstance(path, str | bytes) and os.fsdecode(path).endswith(_CODE):
            self._see(path, "code")
        else:
            self._see(path, "bytes")

    def _see(self, path: Any, kind: str, known: State | None = None) -> None:
        if isinstance(path, int) or not isinstance(path, str | bytes | os.PathLike):
            self.tainted = True  # a file descriptor: nothing to witness by name
            return
        name = os.fsdecode(path)
        if (name, kind) in self.seen:
            return
        if len(self.seen) >= MAX_WITNESSES:  # not a run a record answered: stop tracing
            self.tainted = True
            return
        if known is not None:  # the state a stat call just gave (kinds stat and lstat)
            self.seen[name, kind] = known
            return
        with self.pause():
            # A file's state when first seen; recorded only if it is the same at the end.
            self.seen[name, kind] = state(name, "stat" if kind == "bytes" else kind)
            if self.network and kind == "bytes" and not self._in_cache(os.path.abspath(name)):
                # Its bytes now: an output the run rewrites is witnessed by them if unchanged.
                self.first_bytes[os.path.abspath(name)] = state(name, "bytes")

    def _in_cache(self, name: str) -> bool:
        return any(name == root or name.startswith(root + os.sep) for root in self.cache_roots)

    def _renamed(self, src: Any, dst: Any, src_fd: Any = None, dst_fd: Any = None) -> None:
        """An atomic write's rename: a cache entry (witnessed by its final bytes) or a file
        the replay writes again (the output); never a descriptor-relative one."""
        names = (str, bytes, os.PathLike)
        relative = (src_fd, dst_fd) != (_AT_FDCWD, _AT_FDCWD) and (src_fd, dst_fd) != (None, None)
        if relative or not (isinstance(src, names) and isinstance(dst, names)):
            self.tainted = True
            return
        target = os.path.abspath(os.fsdecode(dst))
        if target.endswith(_CODE):
            self.tainted = True  # the import system writing byte code: not an output
            return
        if os.path.dirname(target) == self.record_dir:
            self.tainted = True  # another fast record written by this run: not one to replay
            return
        self.renamed[target] = os.path.abspath(os.fsdecode(src))

    def _made(self, path: Any) -> None:
        """A directory made: checked at the end (the cache's, or an output's parent)."""
        if isinstance(path, str | bytes | os.PathLike):
            self.made.add(os.path.abspath(os.fsdecode(path)))
        else:
            self.tainted = True

    def stat(self, path: Any, *args: Any, dir_fd: Any = None, follow_symlinks: bool = True) -> Any:
        if dir_fd is not None:
            self._see(0, "stat")  # relative to a descriptor: taints
        elif self.active and not (self.tainted or self.is_paused()):
            return self._stat_seen(
                _real_stat, path, "stat" if follow_symlinks else "lstat", *args,
                follow_symlinks=follow_symlinks,
            )  # fmt: skip
        return _real_stat(path, *args, dir_fd=dir_fd, follow_symlinks=follow_symlinks)

    def lstat(self, path: Any, *args: Any, dir_fd: Any = None) -> Any:
        if dir_fd is not None:
            self._see(0, "lstat")
        elif self.active and not (self.tainted or self.is_paused()):
            return self._stat_seen(_real_lstat, path, "lstat", *args)
        return _real_lstat(path, *args, dir_fd=dir_fd)

    def _stat_seen(self, real: Any, path: Any, kind: str, *args: Any, **kwargs: Any) -> Any:
        """The stat call, its path witnessed by the call's own result when first seen (a
        second system call would cost a cold compile's threads a turn of the interpreter
        lock each; the state is the one :func:`xv.fast.state` gives)."""
        try:
            info = real(path, *args, **kwargs)
        except OSError as exc:
            self._see(path, kind, ["!", exc.errno])
            raise
        self._see(path, kind, stat_state(info))
        return info

    def is_paused(self) -> bool:
        return _thread.get_ident() in self.pauses

    def pause(self) -> _Pause:
        return _Pause(self)

    def witnesses(self) -> list[list[Any]] | None:
        """The witnesses' states now, or None when one changed during the run (or cannot be
        witnessed). A compile run's own writes: the files it replaced outside the cache are
        witnessed by their state before the run (the replay writes them again), the cache
        entries it wrote by their bytes now."""
        written = self._written()
        if written is None:
            return None
        same = self._rewritten_unchanged(written)
        found = [[target, "file", state(target, "file")] for target in same]
        for (path, kind), first in self.seen.items():
            if same and os.path.abspath(path) in same:
                continue
            if self.renamed and self._is_written(path, written):
                if os.path.abspath(path) not in self.renamed or not self._in_cache(
                    os.path.abspath(path)
                ):
                    found.append([path, "stat" if kind == "bytes" else kind, first])
                continue
            if state(path, "stat" if kind == "bytes" else kind) != first:
                return None
            now = state(path, kind)
            if now[0] == "?" or (kind == "bytes" and state(path, "stat") != first):
                return None
            found.append([path, kind, now])
        for target in self.renamed:
            if self._in_cache(target):
                digest = self.digests.get(target)
                now = ["B", digest] if digest is not None else state(target, "bytes")
                if now[0] != "B":
                    return None
                found.append([target, "bytes", now])
        return found

    def _written(self) -> set[str] | None:
        """The files outside the cache this run replaced, or None when it wrote anything
        else: a file opened for writing that it did not rename into place, a directory that
        is neither the cache's nor an output's parent."""
        if not self.network:
            return set()
        outside = {t for t in self.renamed if not self._in_cache(t)}
        sources = set(self.renamed.values())
        for name in self.opened_for_writing:
            if not (self._in_cache(name) or name in sources):
                return None
        parents = {os.path.dirname(t) for t in outside} | self.cache_roots
        for name in self.made:  # the cache's directories, an output's or a cache's parents
            if not (
                self._in_cache(name)
                or any(p == name or p.startswith(name + os.sep) for p in parents)
            ):
                return None
        return outside | {os.path.realpath(t) for t in outside}

    def _rewritten_unchanged(self, written: set[str]) -> set[str]:
        """The outputs this run read and wrote back with the same bytes, replaced as
        themselves (not through a symlink): the next run finds what this one found, so they
        are witnessed by their bytes now (kind ``file``) rather than by their old inode."""
        same = set()
        for target in written & set(self.renamed):
            before = self.first_bytes.get(target)
            now = state(target, "file")
            if before is not None and (before[0], now[0]) == ("B", "F") and now[1] == before[1]:
                same.add(target)
        return same

    def _is_written(self, path: str, written: set[str]) -> bool:
        full = os.path.abspath(path)
        if full in written or full in self.renamed:
            return True
        base = os.path.basename(full)  # realpath (several lstat calls) only where it may match
        return any(os.path.basename(t) == base for t in written) and (
            os.path.realpath(full) in written
        )

    def writes(self) -> list[list[str]] | None:
        """What the replay writes: each file replaced outside the cache, with its bytes."""
        import base64

        found = []
        for target in self.renamed:
            if self._in_cache(target):
                continue
            try:
                with open(target, "rb") as handle:
                    data = handle.read()
            except OSError:
                return None
            found.append([target, base64.b64encode(data).decode("ascii")])
        return found


_recorder: _Recorder | None = None
_hooked = False


def note(kind: str, **material: Any) -> None:
    """Called by the normal run when it answers from a record (``kind`` ``check`` or
    ``sync``, the latter with the sync record's ``head`` and ``key``): the run may be
    recorded. Does nothing when the run did not start here (a test, a library caller)."""
    if _recorder is not None and _recorder.active:
        _recorder.answer = {"kind": kind, **material}


def fresh_until(moment: float | None) -> None:
    """Called by a compile run for each cached page it uses or stores: the moment it stops
    being fresh (None: never fresh without asking the index, so the run is not recorded)."""
    recorder = _recorder
    if recorder is not None and recorder.active:
        if moment is None:
            stop()
        elif recorder.until is None or moment < recorder.until:
            recorder.until = moment


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


def owed(write: Callable[[], object]) -> Callable[[], object]:
    """``write`` (a cache write deferred by the run, :meth:`xv.index.client.IndexClient.later`),
    counted: a run that ends before every such write is done is not recorded, since a warm
    run would not find what it fetched."""
    recorder = _recorder
    if recorder is None or not recorder.active:
        return write
    recorder.owed.append(1)

    def counted() -> object:
        result = write()
        recorder.paid.append(1)
        return result

    return counted


def wrote(target: str, chunks: list[bytes]) -> None:
    """Called by the cache for each entry it has renamed into place, with the entry's bytes:
    a compile run's record witnesses the entry by their sha256, taken here, on the thread
    that wrote it (OpenSSL hashes a big entry without the interpreter lock), rather than by
    reading every entry back at the end, where a cold airflow compile spent ~70 ms on 30 MB.
    They are the bytes this run used; should another process replace the entry meanwhile,
    the replay finds other bytes than these, a miss."""
    recorder = _recorder
    if recorder is not None and recorder.active and recorder.network:
        recorder.digests[os.path.abspath(target)] = sha256_of(chunks)


def recording() -> bool:
    """Whether this is a compile run being recorded: the cache entries it writes are to
    be witnessed (a caller with work to do for :func:`wrote_elsewhere` asks first)."""
    recorder = _recorder
    return recorder is not None and recorder.active and recorder.network


def wrote_elsewhere(target: str, digest: str | None) -> None:
    """Called for a cache entry that a helper process of this run renamed into place
    (:mod:`xv.index.pageworker`), with the sha256 of its bytes (read back by this process
    once it has checked they are the helper's): witnessed as an entry this run wrote
    (:func:`wrote`), since this process saw neither the write nor the rename. Without a
    digest the run is not recorded."""
    recorder = _recorder
    if recorder is not None and recorder.active and recorder.network:
        full = os.path.abspath(target)
        if digest is None:
            recorder.tainted = True
            return
        recorder.renamed[full] = full
        recorder.digests[full] = digest


def uses_cache(root: str) -> None:
    """Called when the run makes a cache (:class:`xv.cache.Cache`): the files it writes
    there are cache entries, witnessed by their bytes (see :mod:`xv.fast`)."""
    recorder = _recorder
    if recorder is not None and recorder.active:
        recorder.cache_roots.add(os.path.abspath(os.path.expanduser(root)))


def run_recording(load: Callable[[], Callable[[], Any]], path: str, network: bool = False) -> None:
    """Run the command, recording it to ``path``. ``network``: a compile run, whose network
    use and writes are allowed as the module docstring of :mod:`xv.fast` says."""
    global _recorder, _hooked
    recorder = _recorder = _Recorder()
    recorder.network = network
    recorder.record_dir = os.path.dirname(os.path.abspath(path))
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
        answered = recorder.answer is not None or recorder.network
        if len(recorder.paid) != len(recorder.owed):
            recorder.tainted = True
        if code == 0 and answered and not recorder.tainted:
            _store(path, recorder)
        _recorder = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    recorder = _recorder
    if recorder is not None:
        try:
            recorder.hook(event, args)
        except Exception:  # an audit hook that raises fails the audited call: never that
            recorder.tainted = True


def _store(path: str, recorder: _Recorder) -> None:
    """Write the record (best effort: a cache that cannot take it is only slower)."""
    witnesses = recorder.witnesses()
    answer = recorder.answer
    writes = recorder.writes()
    if witnesses is None or writes is None:
        return
    out = [list(chunk) for chunk in recorder.out]
    doc: dict[str, Any] = {"format": FORMAT, "code": 0, "witness": witnesses}
    if writes:
        doc["writes"] = writes
    if recorder.until is not None:
        doc["until"] = recorder.until
    if answer is not None and answer["kind"] == "sync":
        doc["sync"] = {"head": answer["head"], "key": answer["key"]}
        doc["elapsed_at"] = _cut_elapsed(out, "Audited ")
    elif recorder.network:  # uv's "Resolved 32 packages in 0.41s": the replay's own duration
        doc["elapsed_at"] = _cut_elapsed(out, "Resolved ")
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


def _cut_elapsed(out: list[list[Any]], head: str) -> list[int] | None:
    """Take the duration out of the last ``Audited 3 packages in 12ms`` line (``head``) on
    stderr; where it was (None with ``-q``: no such line)."""
    for index in range(len(out) - 1, -1, -1):
        fd, text = out[index]
        if fd == 2 and text.startswith(head) and text.endswith("\n") and " in " in text:
            offset = text.rindex(" in ") + len(" in ")
            out[index][1] = text[:offset] + "\n"
            return [index, offset]
    return None
