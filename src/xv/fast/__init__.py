"""The fast path of the console scripts: an invocation that changed nothing, answered
before click loads (and a normal ``xv-compile``, replayed: see the end of this docstring).

``xv-compile --check`` on a fresh lock and a no-op ``xv-sync`` are answered by records
(:mod:`xv.compile.check`, :mod:`xv.sync.record`), but reaching them costs click, the settings
registry and packaging: ~0.3 s of a ~0.35 s run. The console scripts (:mod:`xv.cli.entry`)
call :func:`main` first. It imports only the standard library, and answers an invocation it has seen answered
from those records before, when nothing that run depended on has changed since; on any doubt
(no record, another key, a changed or unreadable input, a corrupt record) it runs the normal
command, unchanged, and records what that run depended on when it answers from a record again.

**What a fast record holds** (``fast-v1/<key>.json`` in the cache directory that
``$XV_CACHE_DIR`` or the user cache directory names), under a key of the raw invocation:

- the key: the command, ``argv`` exactly, the working directory, every environment variable
  but the shell's bookkeeping (``_``, ``OLDPWD``, ``PWD``, ``SHLVL``), URL passwords in
  arguments and variables replaced by ``****`` (as :func:`xv.urls.redact` shows them: the
  answers from records never depend on a password, and no digest of one is kept), the
  interpreter (executable, version, ``sys.path``, flags), xv's version and this file, the
  user and group ids, and whether stdin, stdout and stderr are terminals, with their
  encodings;
- the witnesses: every file the normal run opened for reading (by sha256 of its bytes; xv's
  and the libraries' modules, which it also opened, by inode, size and mtime), every path it
  asked ``os.stat``/``os.lstat`` about (a config file that is absent, ``.venv`` discovery, an
  interpreter's identity; files by type, mode, inode, size and mtime), every directory it
  listed (by inode and mtime, which changes when an entry is added or removed). They are
  collected while the normal run runs (:mod:`xv.fast.trace`), by an audit hook (``open``,
  ``os.listdir``, ``os.scandir``) and a wrapper around ``os.stat``/``os.lstat``; a run that also starts a
  process, opens a socket, reads stdin, writes bytes past the text streams, reads a file
  that is not a regular file, or sees a witness change while it runs is not recorded;
- for ``xv-sync``, the sync record's key material: the fast path recomputes
  :func:`xv.sync.record.key_from` (the state of site-packages, listed and stat'ed anew,
  under the environment's lock as the normal path takes it) and must find the same key;
- what the run wrote to stdout and stderr, in order, and its exit status (0: only an
  answer from a record is recorded, never a failing ``--check``). The ``Audited ... in
  12ms`` of a no-op sync is stored without its duration; the replay prints its own.

So a replay is the normal run's answer given the same arguments, environment, interpreter
and bytes of everything it read: each decision of the normal run reads one of those.

What it does not see, by design: a module edited in place within one timestamp tick
keeping its size (modules are witnessed by stat; installers replace files, giving a new
inode); a file's state read through ``os.scandir`` entries rather than ``os.stat`` (the
record paths do not decide on those: the sync record's own scan is recomputed here); and,
as the records themselves, whatever the index published since (``--refresh`` skips both).

**A normal ``xv-compile``** (not only ``--check``) that exits 0 is recorded too, network or
not, so that the next identical invocation is its replay: the output file written again
with :mod:`xv.atomic` (the same bytes, durably, the mode of the file it replaces, as
:func:`xv.compile.output.write_output` writes it) and the same text printed (the duration
of ``Resolved 32 packages in 0.41s`` is the replay's own). Such a run may use the network;
what it writes is accounted for (:mod:`xv.fast.trace`): files renamed into place inside a
cache it opened (:class:`xv.cache.Cache`: pages, metadata, the ``--check`` record) and
outside it (the output: its bytes go into the record), directories made in the cache or
above an output, and nothing else (a file removed, a cache entry deleted, a file written
without a rename, another process: not recorded).

*Why the replay is the answer a normal warm run would give.* A warm run with the same key
reads the same inputs and configuration (witnessed by their bytes, as above), finds the
output file as this run found it (its state before the run is the witness: absent stays
absent; a file that was there must be the very same file, by inode, size and mtime, since
its pins are the run's preferences; but an output the run read and wrote back with the
same bytes, as itself and not through a symlink, is witnessed by those bytes as a regular
file, kind ``file``: the next run finds what this one found, and a replay keeps it so), and answers every page and metadata question from the
cache, since every one this run used it either read there (a witness by its bytes) or
fetched and stored there (a witness by the bytes it wrote, sha256: entries are replaced by
rename, but one edited in place or planted with its old mtime must not pass, and hashing
the few MB a web compile reads costs ~10 ms). The warm run's decisions then read the same
bytes, so it computes the same output. Anything fetched and *not* kept makes the run
unrecordable: a page its headers forbid storing (``no-store``, deleted: a removal), one
with credentials in its links (deleted), a cache write that failed, ``--no-cache``
(:func:`xv.fast.trace.stop` from :mod:`xv.cache`).

*Time.* A warm run answers a page from the cache only while it is fresh
(:meth:`xv.index.httpcache.PageRules.is_fresh`: ``now < Date + lifetime``, the lifetime from
``max-age``, else ``Expires``, else the ``default_ttl`` of 600 s; a mirror without
Cache-Control gets the 600 s). Each page the run used or stored reports that moment
(:func:`xv.fast.trace.fresh_until`); the record keeps the earliest (``until``) and the replay
is refused at or after it; a page never fresh without asking (``no-cache``, an unreadable
``Date``) makes the run unrecordable. Metadata entries are keyed by the file's hash and never
expire. ``--offline`` uses pages whatever their age, as its replay does.

*Refresh.* ``--refresh`` never replays (not recorded, not answered), nor does ``-U``, which
implies it (as in uv): each revalidates every page with the index; the client stops the
recording whenever refresh is in force, however it was set. ``-P`` on fresh pages is an
ordinary run and is replayed. Runs that build (an sdist, a local or VCS project) start a
process, so they are never recorded; a local project whose metadata is read statically is
witnessed like any file it reads.

Threat model: the fast record lives in the user's cache directory beside the check records
(``check-v1``), whose entries already decide ``--check``'s answer; someone who can write
there can make ``--check`` answer "fresh" today, and with this record can also choose what
the replay prints (text only, to the invoking user's own terminal) and what a compile
replay writes to a file that invocation itself writes (the output it names, with the
user's own rights), nothing a normal run with a forged cache page could not write there. For ``xv-sync`` a forged
record can only make the command print that nothing changed and change nothing; the
environment is never written from it. Records are JSON (never unpickled or unmarshalled),
checked field by field; a record that does not decode is a miss and is rewritten.
``XV_NO_FAST=1`` turns the fast path off (no replay, no recording).
"""

from __future__ import annotations

import json
import os
import sys
import time

from xv.digests import sha256 as sha256  # built in: hashlib loads OpenSSL
from xv.digests import sha256_for
from xv.dirs import user_cache_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TextIO, TypeGuard

    State = list[Any]  # a witness's state: JSON-able, compared with ==

FORMAT = 1
BUCKET = "fast-v1"
ENV_OFF = "XV_NO_FAST"
ENV_CACHE_DIR = "XV_CACHE_DIR"  # xv.cache.ENV_CACHE_DIR (not imported: it loads msgpack)
_VOLATILE = frozenset(("_", "OLDPWD", "PWD", "SHLVL"))  # the shell's bookkeeping


# -- entry points --------------------------------------------------------------


def main(prog: str, load: Callable[[], Callable[[], Any]]) -> None:
    """Run ``prog`` (``xv-compile``, ``xv-sync``): from its fast record when one holds,
    else ``load()``'s click command, recording it (see the module docstring)."""
    started = time.monotonic()
    argv = sys.argv[1:]
    if argv in (["-V"], ["--version"]):  # click's version option: eager, reads nothing
        from xv import __version__

        sys.stdout.write(f"{prog}, version {__version__}\n")
        sys.stdout.flush()
        raise SystemExit(0)
    path = None
    if _may_answer(prog, argv):
        try:
            path = record_path(prog, argv)
            answer = replay(path) if path is not None else None
        except Exception:  # any doubt: the normal command answers
            path, answer = None, None
        if answer is not None:  # printed outside the try: a failed write is not a miss
            code, out, elapsed_at = answer
            _write(out, elapsed_at, time.monotonic() - started)
            raise SystemExit(code)
    if path is None:
        load()()
        return
    from xv.fast import trace  # before the run: it keeps the real os.stat

    trace.run_recording(load, path, network=prog == "xv-compile")


def _may_answer(prog: str, argv: list[str]) -> bool:
    """Whether a record could answer (and so a run be recorded): not when turned off, when
    stdin is an input, or for ``--refresh`` (which asks the index whatever the cache holds)."""
    if os.environ.get(ENV_OFF) or "-" in argv:
        return False
    return prog != "xv-compile" or not any(a.startswith("--refresh") for a in argv)


# -- the key and where its record lives ----------------------------------------


def cache_root() -> str | None:
    """The cache directory the fast records live in: ``$XV_CACHE_DIR``, else the user cache
    directory (``platformdirs.user_cache_dir("xv")``, spelled out for Linux)."""
    chosen = os.environ.get(ENV_CACHE_DIR)
    if chosen:
        return os.path.expanduser(chosen)
    return user_cache_dir()


def invocation(prog: str, argv: list[str]) -> str:
    """Everything about this invocation that is not a file, as one JSON text."""
    from xv import __version__

    env = sorted((k, redact(v)) for k, v in os.environ.items() if k not in _VOLATILE)
    streams = [_stream_facts(s) for s in (sys.stdin, sys.stdout, sys.stderr)]
    return json.dumps(
        [
            FORMAT, __version__, _code_state(), prog, [redact(a) for a in argv], os.getcwd(),
            env, sys.executable, sys.version, sys.prefix, sys.path, list(sys.flags), streams,
            getattr(os, "getuid", int)(), getattr(os, "getgid", int)(),
        ]
    )  # fmt: skip


def record_path(prog: str, argv: list[str]) -> str | None:
    root = cache_root()
    if root is None:
        return None
    digest = _sha256(invocation(prog, argv).encode("utf-8", "surrogateescape"))
    return os.path.join(root, BUCKET, f"{digest}.json")


def redact(text: str) -> str:
    """Every ``scheme://user:password@`` in ``text`` as ``user:****@``, and a userinfo
    without a password (a token) as ``****@``: :func:`xv.urls.redact`, without loading
    :mod:`urllib.parse` for it.

    >>> redact("-i https://me:pw@h/simple"), redact("https://tok@h/x"), redact("a//b/c@d")
    ('-i https://me:****@h/simple', 'https://****@h/x', 'a//b/c@d')
    """
    if "@" not in text:
        return text
    out, pos, search = [], 0, 0
    while True:
        found = text.find("//", search)  # each position after a "//", as the lookbehind
        if found < 0:
            break
        start = end = found + 2
        while end < len(text) and text[end] not in "/@" and not text[end].isspace():
            end += 1
        if end < len(text) and text[end] == "@":
            user, colon, _ = text[start:end].partition(":")
            out += [text[pos:start], f"{user}:****@" if colon else "****@"]
            pos = end + 1
            search = pos - 2
        else:
            search = found + 1
    out.append(text[pos:])
    return "".join(out)


def _stream_facts(stream: TextIO | None) -> list[Any]:
    if stream is None:
        return [None]
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = None
    return [tty, getattr(stream, "encoding", None), getattr(stream, "errors", None)]


def _code_state() -> list[Any]:
    """This file's identity (xv's own code; the rest is witnessed as it is imported)."""
    info = os.stat(__file__)
    return [__file__, info.st_ino, info.st_size, info.st_mtime_ns]


def _sha256(data: bytes) -> str:
    return str(sha256(data).hexdigest())


# -- witnesses -----------------------------------------------------------------


def state(path: str, kind: str) -> State:
    """A witness's state now. ``kind``: ``bytes`` (sha256 of a regular file), ``code`` and
    ``stat`` (type, mode, inode, size, mtime; a directory by its type), ``lstat`` (the
    same without following a symlink), ``list`` (a directory's inode and mtime), ``file``
    (a regular file, not a symlink, by sha256: an output a compile run wrote back unchanged)."""
    stat_of = _real_lstat if kind in ("lstat", "file") else _real_stat
    try:
        info = stat_of(path)
    except OSError as exc:
        return ["!", exc.errno]
    mode = info.st_mode
    if kind == "list":
        return ["L", info.st_ino, info.st_mtime_ns]
    head = stat_state(info)
    if kind not in ("bytes", "file") or head[0] == "D":
        return head
    if mode & 0o170000 != 0o100000:
        return ["?"]  # not a regular file: never recorded
    try:
        with open(path, "rb") as handle:
            digest = sha256_for(info.st_size)  # OpenSSL's for big cache entries: ~7x faster
            digest.update(handle.read())
            return ["B" if kind == "bytes" else "F", str(digest.hexdigest())]
    except OSError as exc:
        return ["!", exc.errno]


def stat_state(info: os.stat_result) -> State:
    """The state of kinds ``stat`` and ``lstat`` from a stat result already taken (the
    recorder's wrapper of ``os.stat`` uses the call's own result: no second system call)."""
    if info.st_mode & 0o170000 == 0o040000:
        return ["D"]  # asked whether it is a directory (or a symlink): not about its entries
    return ["S", info.st_mode, info.st_ino, info.st_size, info.st_mtime_ns]


_real_stat = os.stat
_real_lstat = os.lstat


def witnessed(witnesses: object) -> bool:
    """Whether every witness of a record still holds."""
    if not isinstance(witnesses, list):
        return False
    for item in witnesses:
        if not (isinstance(item, list) and len(item) == 3):
            return False
        path, kind, expected = item
        if not (isinstance(path, str) and kind in _KINDS) or state(path, kind) != expected:
            return False
    return True


_KINDS = ("bytes", "code", "stat", "lstat", "list", "file")


# -- replay --------------------------------------------------------------------


def replay(path: str) -> tuple[int, list[list[Any]], object] | None:
    """The answer of the record at ``path`` (exit status, output, where the duration
    goes), or None when there is none or it does not hold."""
    try:
        with open(path, "rb") as handle:
            doc = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return None
    code, out, elapsed_at = doc.get("code"), doc.get("out"), doc.get("elapsed_at")
    if not (isinstance(code, int) and code == 0 and _is_output(out)):
        return None
    until = doc.get("until")
    if until is not None and not (isinstance(until, float | int) and time.time() < until):
        return None
    writes = doc.get("writes", [])
    if not _are_writes(writes) or not witnessed(doc.get("witness")):
        return None
    sync = doc.get("sync")
    if sync is not None and not _sync_unchanged(sync):
        return None
    if writes:
        _write_files(writes)
    return code, out, elapsed_at


def _are_writes(writes: object) -> TypeGuard[list[list[str]]]:
    return isinstance(writes, list) and all(
        isinstance(w, list) and len(w) == 2 and all(isinstance(p, str) for p in w) for w in writes
    )


def _write_files(writes: list[list[str]]) -> None:
    """The files the recorded run replaced outside the cache (its output), written as it
    wrote them (:func:`xv.compile.output.write_output`: :mod:`xv.atomic`, durable)."""
    import binascii

    from xv import atomic

    for target, data in writes:
        atomic.write_atomic(target, binascii.a2b_base64(data), durable=True)


def _is_output(out: object) -> TypeGuard[list[list[Any]]]:
    return isinstance(out, list) and all(
        isinstance(c, list) and len(c) == 2 and c[0] in (1, 2) and isinstance(c[1], str)
        for c in out
    )


def _write(out: list[list[Any]], elapsed_at: object, seconds: float) -> None:
    for index, (fd, text) in enumerate(out):
        if isinstance(elapsed_at, list) and elapsed_at[:1] == [index]:
            offset = int(elapsed_at[1])
            text = text[:offset] + format_elapsed(seconds) + text[offset:]
        stream = sys.stdout if fd == 1 else sys.stderr
        stream.write(text)
        stream.flush()


def format_elapsed(seconds: float) -> str:
    """uv's durations: whole milliseconds below a second, else seconds with two decimals
    (here, where the fast path can reach it without click; :mod:`xv.cli.output` uses it too).

    >>> format_elapsed(0.156), format_elapsed(2.5)
    ('156ms', '2.50s')
    """
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    return f"{seconds:.2f}s"


def _sync_unchanged(sync: object) -> bool:
    """The sync record's key recomputed from site-packages now, under the environment's
    lock (taken without waiting: a sync that holds it means the normal path decides)."""
    if not isinstance(sync, dict) or not isinstance(sync.get("key"), str):
        return False
    head: Any = sync.get("head")
    prefix = head.get("prefix") if isinstance(head, dict) else None
    if not isinstance(prefix, str):
        return False
    import fcntl

    from xv.sync import record

    lock = os.path.join(os.path.realpath(prefix), ".lock")  # xv.env.lock.lock_path
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return bool(record.key_from(head) == sync["key"])
    finally:
        os.close(fd)  # releases the lock
