"""Index pages parsed, and their cache entries written, by processes of their own.

**Why.** A cold compile is bound by the interpreter lock, which the solver and the fetch
threads share, and turning JSON pages into their cache form (:mod:`xv.index.pageform`) is
the largest part of its CPU: data-science's 113 pages are 24 MB and 55,000 files, ~0.44 s
of its ~1.5 s (thread CPU time, measured per job), and their cache entries another
~0.2 s. While a page is parsed, every other thread waits for the lock, including the one
reading the page the solver waits for (a turn of the lock per 16 kB TLS record). Here
helper processes do both on the machine's other CPU: the fetch thread hands one the body
(one write to a pipe) and waits, without the lock, for the page's cache form (one read).
The page is parsed by the same function, so the answer and every error are the same.
Two workers, not one: with one, pages arriving together queued for it, and the solver
waited for pages that had arrived long before (data-science, interleaved pairs: 1.13 s
with two against 1.33 s with one, 8 rounds; one worker barely beat none).

**Why not** :mod:`xv.pool`: a process pool starts a forkserver and forks workers from it
(~0.1 s before the first job), and its jobs travel pickled through a feeder thread. These
are two processes started with ``-S`` when the command asks for its first page (see
:func:`enable`), each speaking length-prefixed msgpack frames over its standard input and
output; until one has said it started (one byte), pages are parsed by the command.

**Frames.** A request ``[content_type, page_url, name, index_url, target, fetched, kept,
size]``, then the body's ``size`` bytes. ``target`` is the path of the page's cache entry
(None: the command stores the page itself, e.g. when the caching headers forbid it), which
the worker writes as :meth:`xv.cache.Bucket.put` would with ``(plain, fetched, kept)``.
The reply: ``["ok", plain, checksum, failure, left]`` or ``["bad", message]`` for a
page that does not parse. ``checksum`` is the one in the envelope of the entry it wrote
(:func:`xv.envelope.stored_checksum`, hex; None when there is none); ``failure`` why the
entry could not be written. A recorded run witnesses the entry by the sha256 of its bytes
(:func:`xv.fast.trace.wrote_elsewhere`): the command reads them back once their checksum
is the worker's (a cache write, off the solver's path). A worker hashing them itself would
load OpenSSL's sha256 (the built-in one is ~7x slower), ~4 MB more resident in each worker
(the command has OpenSSL already, for TLS). Once the entry holds the whole page, ``plain``
holds the files of its :data:`KEEP_VERSIONS` newest final releases only, and ``left`` the
check of each version group left out (:func:`xv.index.pageform.newest_only`): the command
reads those from the entry if it ever wants one, checking each against its check. So the
command holds the few versions a resolution reads of each page, not whole pages (airflow:
30 MB of them).

**Failure.** Nothing but speed depends on the workers: one that cannot start, dies or
answers garbage is dropped for the rest of the run, and its pages are parsed in the
command's own process, as they are when no worker was started (a library caller,
``xv-sync``, ``--offline``, one CPU, ``XV_PAGE_WORKERS=0``). A worker ends when its input
closes, i.e. when the command's process does, or after :data:`IDLE_SECONDS` without a
page once it has had one (see :func:`_waited`).

**Memory.** Summed RSS counts each worker's interpreter (~13 MB once its modules are
imported, ~6 MB of it the libraries the command maps too; it imports only what a page
needs, see :func:`serve`, and not OpenSSL) and, while it parses a big page, its text and
rows (~14 MB for pydantic-core's 6.6 MB); the command no longer holds what parsing took,
nor whole pages.
A cold airflow compile: summed RSS 98-101 MB (91-94 without workers; 110-119 MB when
workers imported xv.cache and the records, and hashed with OpenSSL); uv 103-112 MB.
"""

from __future__ import annotations

import os
import struct
import sys
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import msgpack

_LENGTH = struct.Struct("<I")
_READY = b"R"  # a worker's first byte: started
_PIPE_SIZE = 1 << 20  # Linux pipes hold 64 kB: a 2 MB page would take 32 reads, each a turn
_F_SETPIPE_SZ = 1031  # of the lock for the reading thread (fcntl has no name for it before 3.10)


class PageRequest(NamedTuple):
    """A page for a worker: its body, how to parse it, and where its cache entry goes
    (``target``; None: nowhere) with what (``fetched``, ``kept``), as the module says."""

    body: bytes
    content_type: str
    page_url: str
    name: str
    index_url: str
    target: str | None
    fetched: float
    kept: dict[str, str] | None


# (plain, checksum, failure, left): see the module docstring.
Answer = tuple[tuple[Any, ...], "str | None", "str | None", dict[str, bytes]]


class Gone(Exception):
    """The worker is not there, or answered something else than a frame."""


class NotYet(Gone):
    """No worker has started yet (the first pages of a run): the page is parsed here."""


class PageWorker:
    """One worker process; used by one thread at a time (:class:`PageWorkers` sees to it)."""

    def __init__(self, idle: float = 0.0) -> None:
        """``idle``: seconds without a request after which the worker ends (0: never)."""
        import subprocess

        code = (
            "import sys; sys.path[:] = sys.argv[2:]; "
            "from xv.index.pageworker import serve; serve(float(sys.argv[1]))"
        )
        self._proc = subprocess.Popen(
            [sys.executable, "-S", "-c", code, str(idle), *sys.path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            # glibc's malloc raises its mmap threshold to the size of each big block freed
            # (up to 32 MB), after which a page's bytes come from the heap and stay resident
            # once freed: fixed at its default, a worker held 20-30 MB instead of 35-45.
            env={**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"},
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._to, self._from = self._proc.stdin, self._proc.stdout
        _widen(self._to.fileno())
        self.alive = True
        self.ready = False  # it said it has started (see is_ready)
        self._unread = False  # ...and its byte is still to be read (Windows)

    def is_ready(self) -> bool:
        """Whether the worker has started (its modules imported), without waiting: it
        says so with one byte. A page is never queued behind a worker's start (~60 ms
        here), which would put that start on the path of a compile's first pages."""
        if not self.ready and self.alive:
            if sys.platform == "win32":  # no select() on pipes: read before the first reply
                self.ready = self._unread = True
                return True
            import select

            try:
                if select.select([self._from], [], [], 0)[0]:
                    self.ready = self._from.read(1) == _READY
                    self.alive = self.ready
            except (OSError, ValueError):
                self.alive = False
        return self.ready

    def parse(self, request: PageRequest) -> Answer:
        """``(plain, checksum, failure, left)`` as the module docstring says; :class:`ValueError`
        for a page that does not parse, :class:`Gone` when the worker is gone (then for
        good)."""
        if not self.alive:
            raise Gone("the page worker is gone")
        body = request.body
        try:  # a path msgpack cannot carry (not UTF-8): this page is parsed here
            head = msgpack.packb([*request[1:], len(body)], use_bin_type=True)
        except (TypeError, ValueError) as exc:
            raise Gone(f"the page worker cannot be sent this page ({exc})") from None
        try:  # the body follows its frame as it is: not copied into a request
            self._to.write(_LENGTH.pack(len(head)))
            self._to.write(head)
            self._to.write(body)
            self._to.flush()
            if self._unread:
                self._unread = False
                if self._from.read(1) != _READY:
                    raise EOFError("no start")
            answer = msgpack.unpackb(
                _read_frame(self._from), raw=False, use_list=False, strict_map_key=False
            )
        except Exception as exc:  # a pipe closed, a frame cut short, garbage
            self.alive = False
            raise Gone(f"the page worker is gone ({type(exc).__name__}: {exc})") from None
        if type(answer) is tuple and len(answer) == 2 and answer[0] == "bad":
            raise ValueError(str(answer[1]))
        if type(answer) is not tuple or len(answer) != 5 or answer[0] != "ok":
            self.alive = False
            raise Gone("the page worker answered something else than a page")
        return answer[1], answer[2], answer[3], answer[4]


class PageWorkers:
    """A few workers, each lent to one fetch thread at a time: when threads wait for one,
    the thread holding the page the solver waits for goes first, else the first come."""

    def __init__(self, count: int, idle: float = 0.0) -> None:
        self._workers = [PageWorker(idle) for _ in range(count)]
        self._free = list(self._workers)
        self._lock = threading.Lock()
        # Threads waiting for a worker: [gate (held until handed one), urgent, worker].
        self._waiting: list[list[Any]] = []
        self._big = threading.Lock()  # held while a worker parses a page of BIG_PAGE bytes

    @property
    def alive(self) -> bool:
        return any(worker.alive for worker in self._workers)

    def wait_started(self, timeout: float) -> bool:
        """Wait until every worker has started (or is gone); whether all have."""
        import select
        import time

        end = time.monotonic() + timeout
        for worker in self._workers:
            while not worker.is_ready() and worker.alive and time.monotonic() < end:
                select.select([worker._from], [], [], max(0.0, end - time.monotonic()))
        return all(worker.ready for worker in self._workers)

    def parse(self, request: PageRequest, urgent: Callable[[], bool] | None = None) -> Answer:
        """:meth:`PageWorker.parse` by the first worker free, waited for without the
        interpreter lock; ``urgent``: whether the solver waits for this page now (asked
        when a worker is handed on). A dead worker is handed on like the others, to answer
        :class:`Gone` at once: no thread waits for one that will never come."""
        big = len(request.body) >= BIG_PAGE
        if big:  # one at a time (see BIG_PAGE)
            self._big.acquire()
        try:
            worker = self._take(urgent)
            try:
                return worker.parse(request)
            finally:
                self._give_back(worker)
        finally:
            if big:
                self._big.release()

    def _take(self, urgent: Callable[[], bool] | None) -> PageWorker:
        with self._lock:
            # Only a worker that has said it started is lent: its first byte must not be
            # read as the length of a reply.
            started = [worker for worker in self._workers if worker.is_ready()]
            if not started:
                raise NotYet("no page worker has started yet")
            free = [w for w in self._free if w.ready]
            if free:  # a living one first (the last given back)
                worker = next((w for w in reversed(free) if w.alive), free[-1])
                self._free.remove(worker)
                return worker
            gate = threading.Lock()
            gate.acquire()
            waiter = [gate, urgent, None]
            self._waiting.append(waiter)
        gate.acquire()  # released by _give_back, the worker handed over in waiter[2]
        handed = waiter[2]
        assert isinstance(handed, PageWorker)
        return handed

    def _give_back(self, worker: PageWorker) -> None:
        with self._lock:
            if not self._waiting:
                self._free.append(worker)
                return
            chosen = next((w for w in self._waiting if w[1] is not None and w[1]()), None)
            waiter = chosen if chosen is not None else self._waiting[0]
            self._waiting.remove(waiter)
            waiter[2] = worker
            waiter[0].release()


# Pages this big are parsed one at a time: parsing one takes a worker ~2x its size beyond
# its interpreter (pydantic-core's 6.6 MB page: ~14 MB), and two at once were the top of a cold
# airflow compile's memory. 4 runs each: summed RSS 111-112 MB against 117-118 MB, no
# slower (8 interleaved pairs: 1.030 against 1.031 s). Data-science's biggest page is 2.5 MB.
BIG_PAGE = 3 << 20
# Versions of a page sent whole when its cache entry has the rest (final releases first:
# see newest_only). Inputs that read a version left out, counted with 10 (newest by version
# alone) / with 5 and with 3 (finals first): airflow 2 / 2 / 2, data-science 0 / 1 / 1,
# popular-158 10 / 3 / 3, fastapi and web 0 / 0 / 0. Each such read decodes the page's
# whole entry on the solver's path; 5 sent instead of 10 hold 2.6 MB less for airflow.
KEEP_VERSIONS = 5
IDLE_SECONDS = 1.0  # a command's worker without a page for this long ends (see _waited)
ENV_WORKERS = "XV_PAGE_WORKERS"  # how many (0: none, pages parsed in the command's process)
_workers: PageWorkers | None = None
_enabled = [False]
_starting = threading.Lock()


def enable() -> None:
    """Let this process start workers when it first fetches an index page (:func:`start`):
    ``xv-compile``'s console script does, as it starts. Not at once: a compile the cache
    answers fetches no page, and two processes started for nothing cost a warm compile of
    web's 32 pins ~30 ms (0.19 s against 0.16 s)."""
    _enabled[0] = True


def start() -> None:
    """Start the workers if :func:`enable` let this process, once: two
    (``$XV_PAGE_WORKERS`` if set) where it may run on two CPUs or more, none on one (a
    worker would only add its copies of every page); quietly none if they cannot start.
    Called before the first page's request goes out: they start while it is answered. A
    recorded run (:mod:`xv.fast`) does not count them as processes of its own: they write
    nothing but the cache entries they report back."""
    global _workers
    if not _enabled[0]:
        return
    with _starting:
        if not _enabled[0]:
            return
        _enabled[0] = False
        try:
            count = int(os.environ.get(ENV_WORKERS) or (2 if _cpus() > 1 else 0))
        except ValueError:
            count = 0
        if count > 0:
            from xv.fast import trace

            try:
                with trace.paused():
                    _workers = PageWorkers(count, IDLE_SECONDS)
            except OSError:
                pass


def running() -> PageWorkers | None:
    """The workers :func:`start` started, while one of them is alive."""
    workers = _workers
    return workers if workers is not None and workers.alive else None


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# -- the worker's side ---------------------------------------------------------


def serve(idle: float = 0.0) -> None:
    """The worker: answer requests from standard input until it closes, or until none
    came for ``idle`` seconds (if not 0) after the first."""
    # Only what a page needs (not xv.cache, nor xv.index.simple's records): each module
    # imported here is resident in every worker (see the module docstring's memory).
    from xv import atomic, envelope
    from xv.index import filenames, jsonpage, pageform

    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes where stderr goes, never into a reply
    _widen(replies.fileno())
    replies.write(_READY)  # started: what a request needs is imported
    replies.flush()
    served = 0  # idle only counts once a page came: the first may take the index a while
    while True:
        try:
            if idle > 0 and served and not _waited(requests.fileno(), idle):
                return  # idle: its memory back to the system, the command parses the rest
            head = _read_frame(requests)
            content_type, page_url, name, index_url, target, fetched, kept, size = msgpack.unpackb(
                head, raw=False, use_list=False, strict_map_key=False
            )
            body = requests.read(size)
            if len(body) != size:
                raise EOFError("a body cut short")
        except EOFError:
            return
        reply: list[Any]
        try:
            page: bytes | str = body
            if jsonpage.content_type_is_json(content_type):
                page = jsonpage.page_text(body)  # what plain_from_body reads first...
                del body  # ...so the bytes go before the page is parsed, not after
            plain = pageform.plain_from_body(
                page, content_type, page_url, name, index_url, in_place=True
            )
        except ValueError as exc:
            reply = ["bad", str(exc)]
        else:
            del page
            checksum = failure = None
            if target is not None:
                chunks = envelope.encode_entry((plain, fetched, dict(kept)))
                try:
                    atomic.replace_entry(target, chunks)
                except OSError as exc:
                    failure = str(exc)
                else:
                    stored = envelope.stored_checksum(chunks[0])
                    checksum = stored.hex() if stored is not None else None
                del chunks
            left: dict[str, bytes] = {}
            if checksum is not None:  # the whole page is in its entry: the newest versions only
                plain, left = pageform.newest_only(plain, KEEP_VERSIONS)
            reply = ["ok", plain, checksum, failure, left]
            del plain
        # In pieces: a page's version blobs are written from where they are, not copied.
        pieces = envelope.packed_pieces(reply)
        del reply
        replies.write(_LENGTH.pack(sum(len(piece) for piece in pieces)))
        replies.writelines(pieces)
        replies.flush()
        del pieces
        # The versions parsed for this page: kept by parsed_version for the resolver's
        # sake in the command, here only ever growing, since a worker never sees the same
        # project twice.
        filenames.parsed_version.cache_clear()
        served += 1


def _waited(fd: int, idle: float) -> bool:
    """Whether a request came (or the input closed) within ``idle`` seconds. A worker
    holds its interpreter (~13 MB) and what its allocator kept of its pages, and a
    compile's pages mostly come at its start, its peak memory at its end: an idle worker
    ends, and a page that comes later is parsed by the command (a request that meets a
    worker just ending finds it gone, and is parsed there too). Windows pipes cannot be
    waited on like this: there a worker waits until the command ends."""
    if sys.platform == "win32":
        return True
    import select

    ready, _, _ = select.select([fd], [], [], idle)
    return bool(ready)


def _read_frame(stream: Any) -> bytes:
    head = stream.read(_LENGTH.size)
    if len(head) != _LENGTH.size:
        raise EOFError("no frame")
    (size,) = _LENGTH.unpack(head)
    data: bytes = stream.read(size)
    if len(data) != size:
        raise EOFError("a frame cut short")
    return data


def _widen(fd: int) -> None:
    """Make a pipe hold 1 MB (Linux; best effort): fewer, larger reads."""
    if sys.platform.startswith("linux"):
        import fcntl

        try:
            fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_SIZE)
        except OSError:
            pass
