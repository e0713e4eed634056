"""The light GET transport (xv.index.transport) and how xv.index.http hands requests to it."""

from __future__ import annotations

import base64
import gzip
import http.server
import socket
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from xv.errors import NetworkError
from xv.index import tls
from xv.index.http import Http, HttpConfig
from xv.index.transport import BrokenBody, ConnectionFailed, Response, TimedOut, Transport

BODY = b'{"files": []}' * 200


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0  # TCP connections accepted
        self.seen: list[dict[str, str]] = []  # the headers of each request
        self.answer: Callable[[_Handler], None] = _plain

    def get_request(self) -> Any:
        self.connections += 1
        return super().get_request()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.server.seen.append(dict(self.headers.items()))
        self.server.answer(self)

    def log_message(self, *args: object) -> None:
        pass

    def reply(self, body: bytes, status: int = 200, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _plain(h: _Handler) -> None:
    h.reply(BODY)


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def _url(srv: _Server, path: str = "/simple/a/") -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def _get(url: str, **kw: Any) -> Response:
    found = Transport("xv/test").get(
        url, kw.pop("headers", None), kw.pop("auth", None), None, 5.0, **kw
    )
    assert found is not None
    return found


def test_connections_are_kept_and_reused(server: _Server) -> None:
    transport = Transport("xv/test")
    for _ in range(3):
        response = transport.get(_url(server), None, None, None, 5.0)
        assert response is not None and response.content == BODY
    assert server.connections == 1
    assert server.seen[0]["Accept-Encoding"] == "gzip, deflate"  # as requests asks
    assert server.seen[0]["User-Agent"] == "xv/test"


def test_connections_opened_together_share_one_address_lookup(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dozen connections opened at once look the host up once (a burst of DNS queries,
    one per connection, now and then lost one and waited out the resolver's timeout);
    a lookup that fails is not kept: the next connection looks up again."""
    real = socket.getaddrinfo
    lookups: list[object] = []
    fail = [True]

    def counted(host: Any, *args: Any, **kw: Any) -> Any:
        lookups.append(host)
        if fail[0]:
            fail[0] = False
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", counted)
    transport = Transport("xv/test")
    with pytest.raises(ConnectionFailed, match="Temporary failure"):
        transport.get(_url(server), None, None, None, 5.0)
    gate = threading.Barrier(12)
    bodies: list[bytes] = []

    def fetch() -> None:
        gate.wait()
        response = transport.get(_url(server), None, None, None, 5.0, stream=True)
        assert response is not None
        bodies.append(response.content)

    threads = [threading.Thread(target=fetch) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bodies == [BODY] * 12
    assert lookups == ["127.0.0.1", "127.0.0.1"]  # the failed one, then one for all twelve


def test_a_streamed_body_not_read_to_its_end_closes_its_connection(server: _Server) -> None:
    transport = Transport("xv/test")
    first = transport.get(_url(server), None, None, None, 5.0, stream=True)
    assert first is not None
    first.close()
    second = transport.get(_url(server), None, None, None, 5.0)
    assert second is not None and second.content == BODY
    assert server.connections == 2


def test_a_connection_the_server_closed_meanwhile_is_replaced(server: _Server) -> None:
    def close_after(h: _Handler) -> None:
        h.reply(BODY)
        h.close_connection = True  # no "Connection: close" said: the client finds out later

    server.answer = close_after
    transport = Transport("xv/test")
    for _ in range(2):
        response = transport.get(_url(server), None, None, None, 5.0)
        assert response is not None and response.content == BODY
    assert server.connections == 2


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_compressed_bodies_are_decoded(
    server: _Server, encoding: str, encode: Callable[[bytes], bytes]
) -> None:
    server.answer = lambda h: h.reply(encode(BODY), Content_Encoding=encoding)
    assert _get(_url(server)).content == BODY
    assert b"".join(_get(_url(server), stream=True).iter_content(100)) == BODY


def test_a_short_body_is_broken(server: _Server) -> None:
    def short(h: _Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(BODY)))
        h.end_headers()
        h.wfile.write(BODY[:100])
        h.close_connection = True

    server.answer = short
    with pytest.raises(BrokenBody):
        _get(_url(server))


def test_a_silent_server_times_out(server: _Server) -> None:
    stop = threading.Event()
    server.answer = lambda h: None if stop.wait(5) else None
    try:
        with pytest.raises(TimedOut):
            Transport("xv/test").get(_url(server), None, None, None, 0.3)
    finally:
        stop.set()


def test_basic_auth_is_spelled_as_requests_spells_it(server: _Server) -> None:
    _get(_url(server), auth=("us\u00e9r", "p:w"))
    token = base64.b64encode("us\u00e9r:p:w".encode("latin1")).decode()
    assert server.seen[0]["Authorization"] == f"Basic {token}"


def test_what_the_transport_leaves_to_requests() -> None:
    transport = Transport("xv/test")
    for url in ("http://127.0.0.1:1/a b/", "http://127.0.0.1:1/\u00e9/", "ftp://127.0.0.1/x"):
        assert transport.get(url, None, None, None, 1.0) is None


def test_a_redirect_is_followed_through_requests(server: _Server) -> None:
    def answer(h: _Handler) -> None:
        if h.path == "/old/":
            h.reply(b"", 301, Location="/simple/a/")
        else:
            h.reply(BODY)

    server.answer = answer
    response = Http(HttpConfig(retries=0)).get(_url(server, "/old/"))
    assert response.status_code == 200 and response.content == BODY
    assert response.url == _url(server)


def test_with_a_proxy_every_request_goes_through_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert Http(HttpConfig())._transport is None
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv("no_proxy", "*")
    assert Http(HttpConfig())._transport is not None


def test_a_broken_body_is_retried_then_reported(server: _Server) -> None:
    answers = iter([gzip.compress(BODY)[:-9], b"not gzip at all"])

    def answer(h: _Handler) -> None:
        h.reply(next(answers, gzip.compress(BODY)), Content_Encoding="gzip")

    server.answer = answer
    http = Http(HttpConfig(retries=2, backoff=0.01))
    assert http.get(_url(server)).content == BODY
    server.answer = lambda h: h.reply(b"not gzip", Content_Encoding="gzip")
    with pytest.raises(NetworkError, match="truncated or corrupt response body"):
        Http(HttpConfig(retries=1, backoff=0.01)).get(_url(server))


def test_the_transport_context_verifies_as_urllib3s() -> None:
    import ssl

    from urllib3.util.ssl_ import create_urllib3_context

    ours, theirs = tls.tls_context(True), create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
    for attribute in ("verify_mode", "check_hostname", "minimum_version", "options"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert ours.hostname_checks_common_name == theirs.hostname_checks_common_name
