"""``xv-compile`` with its page workers (xv.index.pageworker) and without: the same lock,
the same cache entries, the same replay, and a page that does not parse the same error."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import MakeIndex
from tests.e2e.test_fast_path import PKGS, run
from xv import envelope


def _compile(tmp_path: Path, url: str, *extra: str, **env: str) -> tuple[int, str, str]:
    found = run(tmp_path, "xv-compile", "requirements.in", "-i", url, *extra, env=env)
    return found.code, found.stdout, found.stderr


def _pages(root: Path) -> dict[str, object]:
    """Each cached page's value, the fetch time and the Date header left out."""
    found: dict[str, object] = {}
    for path in sorted((root / "simple-v2").iterdir()):
        plain, _, kept = envelope.decode_entry(path.read_bytes())
        found[path.name] = (plain, {k: v for k, v in kept.items() if k != "date"})
    return found


def test_the_workers_change_nothing_but_who_parses(make_index: MakeIndex, xv_home: Path) -> None:
    Path("requirements.in").write_text("alpha\ngamma\n")
    idx = make_index(PKGS)
    out: dict[str, tuple[int, str, str]] = {}
    pages = {}
    for workers in ("2", "0"):
        cache_dir = xv_home / f"cache-{workers}"
        env = {"XV_CACHE_DIR": str(cache_dir), "XV_PAGE_WORKERS": workers}
        if workers != "0":  # pages answered after the workers started (else parsed here)
            idx.inject_fault("slow", times=2, match="/simple/", delay=1.5)
        out[workers] = _compile(xv_home, idx.url, "-v", "--no-header", **env)
        pages[workers] = _pages(cache_dir)
        assert out[workers][0] == 0, out[workers][2]
    assert out["2"][1] == out["0"][1]  # the lock
    assert pages["2"] == pages["0"] and len(pages["2"]) == 3  # alpha, beta, gamma
    # alpha and gamma, answered 1.5 s late, surely; beta too unless a loaded machine took
    # over a second (a worker's idle time) to ask for it after them.
    assert out["2"][2].count("parsed by the page worker") >= 2
    assert "page worker" not in out["0"][2]
    # The workers' run was recorded, its entries witnessed: the next run is its replay.
    env = {"XV_CACHE_DIR": str(xv_home / "cache-2"), "XV_PAGE_WORKERS": "2"}
    again = run(
        xv_home, "xv-compile", "requirements.in", "-i", idx.url, "-v", "--no-header", env=env
    )
    assert again.fast and again.stdout == out["2"][1]


class _Future(BaseHTTPRequestHandler):
    """An index whose every page declares an API version xv does not read."""

    def do_GET(self) -> None:
        body = b'{"meta": {"api-version": "2.0"}, "name": "alpha", "files": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_an_unreadable_page_is_the_same_error(xv_home: Path) -> None:
    Path("requirements.in").write_text("alpha\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Future)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/simple"
        found = {}
        for workers in ("2", "0"):
            env = {"XV_CACHE_DIR": str(xv_home / f"cache-{workers}"), "XV_PAGE_WORKERS": workers}
            found[workers] = _compile(xv_home, url, **env)
    finally:
        server.shutdown()
        server.server_close()
    assert found["2"] == found["0"]
    assert found["2"][0] == 1 and "unsupported repository API version 2.0" in found["2"][2], found
