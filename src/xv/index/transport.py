"""GET over the standard library's ``http.client``: the index client's common case, light.

Why not requests for everything: importing requests and urllib3 costs ~160 ms of CPU and
each request through them ~1.5 ms more than through ``http.client`` (measured here: a
316 kB page 4.0 vs 2.3 ms, a 64 kB range 2.6 vs 1.0 ms); a cold compile of 7 inputs
makes 56 requests and is CPU-bound. So :class:`Transport` sends the plain GETs the
index client makes, and answers ``None`` for what it leaves to requests
(:mod:`xv.index.http` then sends that request through a requests session, as before):

* a proxy (``*_proxy`` variables): :class:`~xv.index.http.Http` does not use this
  transport at all;
* a URL that is not plain ASCII without spaces (requests would quote it);
* a redirect: the request is sent again through requests from the start, which
  follows it as before (and drops credentials on a change of host).

What it does as requests does: the same default headers (``Accept-Encoding: gzip,
deflate``, ``Accept: */*``, keep-alive), Basic auth (``user:password`` in latin-1), gzip
and deflate bodies decoded, TLS verified by the context :mod:`xv.index.http` makes for
requests too (the same CA bundle, hostname checked), one timeout for connecting and for
each read. Connections are kept per origin and TLS context and reused once a body has
been read to its end; one found closed by the server before reuse is dropped, and a
request that fails on a reused connection before any answer is sent once more on a new
one (a GET; what urllib3 does too). Failures are :class:`TransportError` subclasses, which
:meth:`~xv.index.http.Http.with_retries` retries like requests' connection errors,
timeouts and broken bodies.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

ACCEPT_ENCODING = "gzip, deflate"  # requests' default without brotli or zstandard
_REDIRECTS = frozenset((301, 302, 303, 307, 308))
# Characters a URL may hold for this transport: what requests would send unquoted.
_PLAIN = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%"
)
_IDLE_PER_ORIGIN = 32  # as requests' pool_maxsize in xv.index.http
_ADDRESSES_FOR = 60.0  # seconds an origin's looked-up addresses serve new connections


class TransportError(Exception):
    """A request that failed on the way (no answer, or a broken one)."""


class ConnectionFailed(TransportError):
    """Connecting, TLS, sending, or the server hung up before answering."""


class TimedOut(TransportError):
    """No byte for ``timeout`` seconds."""


class BrokenBody(TransportError):
    """The body ended early or did not decode (gzip, deflate)."""


class Headers(Mapping[str, str]):
    """Response headers, looked up without regard to case; repeated ones joined by ", "
    (as urllib3 joins them)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            key = name.lower()
            if key in self._items:
                first, old = self._items[key]
                self._items[key] = (first, f"{old}, {value}")
            else:
                self._items[key] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)


class Response:
    """The parts of ``requests.Response`` the index client reads."""

    def __init__(
        self, pool: _Pool, conn: http.client.HTTPConnection, raw: http.client.HTTPResponse, url: str
    ) -> None:
        self.url = url
        self.status_code = raw.status
        self.reason = raw.reason
        self.headers = Headers(raw.getheaders())
        self.elapsed = timedelta(0)
        self._pool, self._raw = pool, raw
        self._conn: http.client.HTTPConnection | None = conn
        self._content: bytes | None = None
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        self._decoder = _decoder(encoding)

    @property
    def content(self) -> bytes:
        """The whole (decoded) body, read on first use. A body not encoded is read in one
        piece, into the bytes object it is returned as: read in pieces and joined, it was
        held twice while the join copied it (a cold airflow compile reads 6.6 MB and 4.5 MB
        pages at the same moment: 22 MB more resident at once)."""
        if self._content is None:
            if self._decoder is None:
                try:
                    self._content = self._read(None)
                except BaseException:
                    self.close()
                    raise
                self._release()
            else:
                self._content = b"".join(self.iter_content(1 << 16))
        return self._content

    def iter_content(self, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        """The decoded body in pieces; the connection goes back to its pool at the end."""
        if self._content is not None:
            yield self._content
            return
        try:
            while chunk := self._read(chunk_size):
                data = self._decode(chunk)
                if data:
                    yield data
            if self._raw.length:  # read(n) answers b"" at an early end, without an error
                raise BrokenBody(f"the body ended {self._raw.length} bytes early")
            tail = self._flush()
            if tail:
                yield tail
        except BaseException:
            self.close()
            raise
        self._release()

    def _read(self, size: int | None) -> bytes:
        """``size`` bytes of the body, fewer at its end; None: all of it (one bytes object
        filled as it is read, where ``read(size)`` fills a buffer and copies it)."""
        try:
            return self._raw.read(size)
        except TimeoutError as exc:
            raise TimedOut(f"read timed out: {exc}") from exc
        except http.client.IncompleteRead as exc:
            raise BrokenBody(f"the body ended early ({exc})") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise BrokenBody(f"{type(exc).__name__}: {exc}") from exc

    def _decode(self, chunk: bytes) -> bytes:
        if self._decoder is None:
            return chunk
        try:
            data: bytes = self._decoder.decompress(chunk)
        except zlib.error as exc:
            raise BrokenBody(f"undecodable body: {exc}") from exc
        return data

    def _flush(self) -> bytes:
        if self._decoder is None:
            return b""
        try:
            data: bytes = self._decoder.flush()
        except zlib.error as exc:
            raise BrokenBody(f"undecodable body: {exc}") from exc
        return data

    def _release(self) -> None:
        """Back to the pool when the server keeps the connection open, else closed."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._raw.will_close or not self._raw.isclosed():
            conn.close()
        else:
            self._pool.put(conn)

    def close(self) -> None:
        """Done with the response: a body not read to its end closes the connection."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._raw.close()
            conn.close()


class _Deflate:
    """``deflate`` as urllib3 reads it: a zlib stream, or else a raw deflate stream."""

    def __init__(self) -> None:
        self._obj = zlib.decompressobj()
        self._first = True
        self._data = b""

    def decompress(self, data: bytes) -> bytes:
        if not self._first:
            return self._obj.decompress(data)
        self._data += data
        try:
            out = self._obj.decompress(data)
            if out:
                self._first = False
                self._data = b""
            return out
        except zlib.error:
            self._first = False
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                return self._obj.decompress(self._data)
            finally:
                self._data = b""

    def flush(self) -> bytes:
        return self._obj.flush()


def _decoder(encoding: str) -> Any:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return _Deflate()
    return None  # identity, or something requests would not decode either


class _Pool:
    """Idle keep-alive connections of one origin and TLS context.

    New connections share one address lookup (:meth:`connect`): a cold compile opens a
    dozen connections to the index at once, and a lookup each sent as many DNS queries
    in one burst; when one of them was lost, its connection waited out the resolver's
    timeout (5 s here, now and then).
    """

    def __init__(self, scheme: str, host: str, port: int, context: ssl.SSLContext | None) -> None:
        self.scheme, self.host, self.port, self.context = scheme, host, port, context
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._lookup_lock = threading.Lock()  # one lookup at a time: the others wait for it
        self._addresses: list[Any] = []
        self._looked_up = 0.0

    def get(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """A connection, and whether it was used before."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                break
            if not _dropped(conn):
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
                return conn, True
            conn.close()
        return self.new(timeout), False

    def new(self, timeout: float) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self.scheme == "https":
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, context=self.context
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        conn._create_connection = self.connect  # type: ignore[attr-defined]
        return conn

    def connect(
        self, address: tuple[str, int], timeout: float, source_address: Any = None
    ) -> socket.socket:
        """:func:`socket.create_connection` (what ``http.client`` calls) with this origin's
        addresses looked up once for the connections opened within a minute: each
        address in turn, the last error raised when none connects."""
        error: OSError | None = None
        for family, kind, proto, _, sockaddr in self._lookup(address):
            sock = socket.socket(family, kind, proto)
            try:
                if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                    sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        raise error or OSError(f"no address found for {address[0]}")

    def _lookup(self, address: tuple[str, int]) -> list[Any]:
        with self._lookup_lock:  # a failed lookup is not kept: the next connection asks again
            if not self._addresses or time.monotonic() - self._looked_up > _ADDRESSES_FOR:
                self._addresses = socket.getaddrinfo(*address, 0, socket.SOCK_STREAM)
                self._looked_up = time.monotonic()
            return self._addresses

    def put(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < _IDLE_PER_ORIGIN:
                self._idle.append(conn)
                return
        conn.close()

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether the server closed an idle connection (it reads as ready: EOF)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        if hasattr(select, "poll"):  # any descriptor number; select() stops at 1024
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])  # Windows has no poll
    except (OSError, ValueError):
        return True


class Transport:
    """GETs over pooled ``http.client`` connections; thread-safe."""

    def __init__(self, user_agent: str) -> None:
        self.user_agent = user_agent
        self._pools: dict[tuple[str, str, int, int], _Pool] = {}
        self._lock = threading.Lock()

    def get(
        self,
        url: str,
        headers: Mapping[str, str] | None,
        auth: tuple[str, str] | None,
        context: ssl.SSLContext | None,
        timeout: float,
        *,
        stream: bool = False,
    ) -> Response | None:
        """The response to GET ``url``, or None: a request to send through requests
        (see the module docstring). ``context`` is the TLS context for https."""
        if not _PLAIN.issuperset(url):
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
            return None
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return None
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        pool = self._pool(parts.scheme, parts.hostname, port, context)
        sent = self._headers(headers, auth)
        started = time.perf_counter()
        response = self._send(pool, url, target, sent, timeout)
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        if response.status_code in _REDIRECTS and "Location" in response.headers:
            response.close()
            return None
        if not stream:
            response.content  # noqa: B018  (read now, as requests does without stream)
        return response

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
        for pool in pools:
            pool.clear()

    def _pool(self, scheme: str, host: str, port: int, context: ssl.SSLContext | None) -> _Pool:
        key = (scheme, host, port, id(context) if scheme == "https" else 0)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = _Pool(scheme, host, port, context)
            return pool

    def _headers(
        self, headers: Mapping[str, str] | None, auth: tuple[str, str] | None
    ) -> dict[str, str]:
        sent = {
            "User-Agent": self.user_agent,
            "Accept-Encoding": ACCEPT_ENCODING,
            "Accept": "*/*",
            "Connection": "keep-alive",
        }
        for name, value in (headers or {}).items():
            for old in [k for k in sent if k.lower() == name.lower()]:
                del sent[old]
            sent[name] = value
        if auth is not None:
            user, password = auth
            token = base64.b64encode(f"{user}:{password}".encode("latin1")).decode("ascii")
            sent["Authorization"] = f"Basic {token}"
        return sent

    def _send(
        self, pool: _Pool, url: str, target: str, headers: dict[str, str], timeout: float
    ) -> Response:
        conn, reused = pool.get(timeout)
        try:
            return self._exchange(pool, conn, url, target, headers)
        except ConnectionFailed:
            if not reused:
                raise
        # The server closed a kept connection as we sent on it: once more, on a new one.
        return self._exchange(pool, pool.new(timeout), url, target, headers)

    def _exchange(
        self,
        pool: _Pool,
        conn: http.client.HTTPConnection,
        url: str,
        target: str,
        headers: dict[str, str],
    ) -> Response:
        try:
            conn.request("GET", target, headers=headers)
            raw = conn.getresponse()
        except TimeoutError as exc:
            conn.close()
            raise TimedOut(f"timed out: {exc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise ConnectionFailed(f"{type(exc).__name__}: {exc}") from exc
        return Response(pool, conn, raw, url)
