"""The HTTP side of a local index: faults, auth, caching, ranges, logging."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import struct
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .faults import Fault, RequestRecord

if TYPE_CHECKING:
    from .server import LocalIndex

LAST_MODIFIED = "Sun, 02 Feb 2020 00:00:00 GMT"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    is_file: bool = False  # range requests apply


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, index: LocalIndex) -> None:
        self.index = index
        self.connections: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up (timeouts, resets) are expected in tests

    def close_connections(self) -> None:
        for conn in list(self.connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # A response goes out as two writes (headers, then body). With Nagle's algorithm on,
    # the body waited for the client's ACK of the headers, which a kept-alive connection
    # delays by up to 40 ms: each request took ~44 ms instead of ~1 ms, and a benchmark
    # against this index measured that wait (bench_scale's sync: 4-5x uv, whose 50
    # downloads at once hid it).
    disable_nagle_algorithm = True
    server_version = "xv-localindex/1.0"
    timeout = 30
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle(head=False)

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def _handle(self, head: bool) -> None:
        index = self.server.index
        path = unquote(urlsplit(self.path).path)
        fault = index.faults.take(path)
        if fault is not None and fault.kind == "reset":
            self._log(None, 0, fault)
            self._reset()
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        response = self._respond(index, path, fault)
        self._send(response, head, fault)

    def _respond(self, index: LocalIndex, path: str, fault: Fault | None) -> Response:
        if not self._authorized(index.auth):
            return Response(
                401, b"authentication required\n", {"WWW-Authenticate": 'Basic realm="xv-test"'}
            )
        if fault is not None and fault.status is not None:
            # A 429 says when to come back (whole seconds, from the fault's delay).
            extra = {"Retry-After": str(round(fault.delay))} if fault.status == 429 else {}
            return Response(fault.status, f"injected fault {fault.kind}\n".encode(), extra)
        response = index.route(path, self.headers.get("Accept"))
        if response.status == 200 and index.cache_headers:
            response = _conditional(response, index.cache_headers, self.headers)
        if response.is_file and response.status == 200 and index.range_requests:
            response.headers["Accept-Ranges"] = "bytes"
            response = _apply_range(response, self.headers.get("Range"))
        return response

    def _authorized(self, auth: tuple[str, str] | None) -> bool:
        if auth is None:
            return True
        expected = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
        return self.headers.get("Authorization", "") == f"Basic {expected}"

    def _send(self, response: Response, head: bool, fault: Fault | None) -> None:
        body = b"" if head or response.status == 304 else response.body
        if fault is not None and fault.kind == "truncate":
            body = body[: len(body) // 2]
            self.close_connection = True
        # Log before answering: a test reading the log right after its response
        # must already see this request.
        self._log(response.status, len(body), fault)
        self.send_response(response.status)
        headers = {"Content-Type": "text/plain; charset=utf-8", **response.headers}
        headers["Content-Length"] = str(len(response.body))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _reset(self) -> None:
        """Close with SO_LINGER 0: the client gets a TCP RST and no response."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # drop the makefile() reference so close() is immediate
        self.connection.close()

    def _log(self, status: int | None, sent: int, fault: Fault | None) -> None:
        record = RequestRecord(
            method=self.command,
            path=self.path,
            range=self.headers.get("Range"),
            status=status,
            bytes_sent=sent,
            headers=dict(self.headers.items()),
            fault=fault.kind if fault is not None else None,
        )
        self.server.index.log.append(record)


def _conditional(response: Response, cache_control: str, request_headers: Any) -> Response:
    etag = '"' + hashlib.sha256(response.body).hexdigest()[:32] + '"'
    response.headers.update(
        {"Cache-Control": cache_control, "ETag": etag, "Last-Modified": LAST_MODIFIED}
    )
    if_none_match = request_headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        if etag in tags or "*" in tags:
            return Response(304, b"", response.headers)
        return response
    if_modified_since = request_headers.get("If-Modified-Since")
    if if_modified_since is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return response
        if since >= parsedate_to_datetime(LAST_MODIFIED):
            return Response(304, b"", response.headers)
    return response


def _apply_range(response: Response, header: str | None) -> Response:
    """One ``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` range; anything else is ignored."""
    match = _RANGE.match(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return response
    size = len(response.body)
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        headers = {**response.headers, "Content-Range": f"bytes */{size}"}
        return Response(416, b"", headers, is_file=True)
    headers = {**response.headers, "Content-Range": f"bytes {start}-{end}/{size}"}
    return Response(206, response.body[start : end + 1], headers, is_file=True)
