"""TLS through the shared session: one verifying context per CA bundle, still verifying."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from xv.errors import NetworkError
from xv.index import tls
from xv.index.http import Http, HttpConfig

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )
    return cert, key


class _Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = _self_signed(directory, "server")
    other, _ = _self_signed(directory, "other")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/x", cert, other
    finally:
        server.shutdown()
        server.server_close()


def test_a_bundle_is_loaded_once_and_verifies(tls_server: tuple[str, Path, Path]) -> None:
    url, cert, _ = tls_server
    tls._load_context.cache_clear()
    http = Http(HttpConfig(cert=str(cert), retries=0))
    for _ in range(3):
        response = http.request(url)
        assert response.status_code == 200
        response.close()
        http.session.close()  # a new connection each time
    info = tls._load_context.cache_info()
    assert (info.misses, info.currsize) == (1, 1)


def test_a_server_outside_the_bundle_is_refused(tls_server: tuple[str, Path, Path]) -> None:
    url, _, other = tls_server
    http = Http(HttpConfig(cert=str(other), retries=0))
    with pytest.raises(NetworkError, match="SSL|certificate"):
        http.get(url)


def test_trusted_hosts_skip_verification(tls_server: tuple[str, Path, Path]) -> None:
    url, _, other = tls_server
    http = Http(HttpConfig(cert=str(other), retries=0, trusted_hosts=("127.0.0.1",)))
    assert http.get(url).status_code == 200


def test_threads_opening_their_first_connections_at_once_load_the_bundle_once(
    tls_server: tuple[str, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fetch threads of a cold compile all connect at once: one load, not one each."""
    _, cert, _ = tls_server
    tls._load_context.cache_clear()
    made: list[int] = []
    real = tls.tls_context

    def slow_create(verify: bool) -> ssl.SSLContext:
        made.append(1)
        time.sleep(0.05)  # widens the window in which other threads would miss too
        return real(verify)

    monkeypatch.setattr(tls, "tls_context", slow_create)
    start = threading.Barrier(8)

    def first_connection() -> ssl.SSLContext:
        start.wait()
        return tls.verifying_context(str(cert))

    with ThreadPoolExecutor(8) as pool:
        contexts = list(pool.map(lambda _: first_connection(), range(8)))
    assert len(made) == 1
    assert all(c is contexts[0] for c in contexts)
