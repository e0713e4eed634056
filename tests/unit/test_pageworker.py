"""The page workers (xv.index.pageworker): the same cache form and cache entry as the
command's own process makes, the same errors, and nothing lost when a worker dies."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest

from xv import cache, digests, envelope
from xv.errors import XvError
from xv.index import pageform, pageworker
from xv.index.pageworker import Gone, NotYet, PageRequest, PageWorkers
from xv.index.simple import ProjectPage

JSON = "application/vnd.pypi.simple.v1+json"
URL = "https://example.invalid/simple/demo/"
INDEX = "https://example.invalid/simple"


def page(*files: dict[str, object], api: str = "1.1") -> bytes:
    doc = {"meta": {"api-version": api}, "name": "demo", "files": list(files)}
    doc["versions"] = ["1.0", "2.0"]
    return json.dumps(doc).encode()


def wheel(version: str, **extra: object) -> dict[str, object]:
    name = f"demo-{version}-py3-none-any.whl"
    return {
        "filename": name,
        "url": f"../../files/{name}",
        "hashes": {"sha256": "ab" * 32},
        **extra,
    }


BODY = page(
    wheel("1.0", **{"requires-python": ">=3.8", "core-metadata": {"sha256": "cd" * 32}}),
    {"filename": "demo-1.0.tar.gz", "url": "https://elsewhere.invalid/demo-1.0.tar.gz", "hashes": {}},
    wheel("2.0", yanked="broken", size=123, **{"upload-time": "2024-01-01T00:00:00Z"}),
)  # fmt: skip


def packed(plain: object) -> bytes:
    """A cache form as the cache writes it (msgpack gives tuples for lists)."""
    return msgpack.packb(plain, use_bin_type=True)  # type: ignore[no-any-return]


@pytest.fixture
def workers() -> Iterator[PageWorkers]:
    pool = PageWorkers(2)
    assert pool.wait_started(60)
    yield pool
    for worker in pool._workers:
        worker._proc.kill()
        worker._proc.wait()


def test_a_worker_gives_the_cache_form_the_command_makes(workers: PageWorkers) -> None:
    plain, checksum, failure, left = workers.parse(
        PageRequest(BODY, JSON, URL, "Demo", INDEX, None, 1.5, None)
    )
    assert packed(plain) == packed(pageform.plain_from_body(BODY, JSON, URL, "Demo", INDEX))
    assert (checksum, failure, left) == (None, None, {})
    # An HTML page too (the same function parses it).
    html = b'<a href="/f/demo-1.0-py3-none-any.whl#sha256=' + b"ab" * 32 + b'">x</a>'
    found, _, _, _ = workers.parse(
        PageRequest(html, "text/html", URL, "demo", INDEX, None, 1.5, None)
    )
    assert packed(found) == packed(pageform.plain_from_body(html, "text/html", URL, "demo", INDEX))


def test_a_worker_writes_the_entry_a_bucket_writes(workers: PageWorkers, tmp_path: Path) -> None:
    kept = {"date": "Sun, 29 Nov 2026 09:53:10 GMT", "etag": '"x"'}
    target = tmp_path / "simple-v2" / "entry"
    plain, checksum, failure, left = workers.parse(
        PageRequest(BODY, JSON, URL, "demo", INDEX, str(target), 7.25, kept)
    )
    assert failure is None and left == {}  # two versions: all sent
    data = target.read_bytes()
    assert data == b"".join(envelope.encode_entry((plain, 7.25, kept)))
    stored = envelope.stored_checksum(data)
    assert stored is not None and checksum == stored.hex()  # not a sha256: see below
    ours = cache.Cache(tmp_path / "ours").bucket("simple-v2")
    ours.put("entry", (pageform.plain_from_body(BODY, JSON, URL, "demo", INDEX), 7.25, kept))
    assert (tmp_path / "ours" / "simple-v2" / "entry").read_bytes() == data
    assert not [p for p in target.parent.iterdir() if p.name != "entry"]  # no temp file left


def test_an_entry_that_cannot_be_written_is_reported(workers: PageWorkers, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / "entry"  # its directory is a file
    plain, checksum, failure, _ = workers.parse(
        PageRequest(BODY, JSON, URL, "demo", INDEX, str(target), 1.0, {})
    )
    assert packed(plain) == packed(pageform.plain_from_body(BODY, JSON, URL, "demo", INDEX))
    assert checksum is None and failure


@pytest.mark.parametrize(
    "body",
    [
        b'{"meta": {"api-version": "1.0"}, "files": [',  # cut short
        page(wheel("1.0"), api="2.0"),
        page(wheel("1.0", hashes={"sha256": 1})),
        b"[]",
    ],
)
def test_a_page_that_does_not_parse_gives_the_same_error(workers: PageWorkers, body: bytes) -> None:
    with pytest.raises(ValueError) as here:
        pageform.plain_from_body(body, JSON, URL, "demo", INDEX)
    with pytest.raises(ValueError) as there:
        workers.parse(PageRequest(body, JSON, URL, "demo", INDEX, None, 1.0, None))
    assert str(there.value) == str(here.value)
    # ...and the worker answers the next page.
    assert workers.parse(PageRequest(BODY, JSON, URL, "demo", INDEX, None, 1.0, None))[0]


def test_a_dead_worker_answers_gone_and_the_other_goes_on(workers: PageWorkers) -> None:
    first, second = workers._workers
    second._proc.kill()
    second._proc.wait()
    with pytest.raises(Gone):  # the last one given back goes first: the dead one
        workers.parse(PageRequest(BODY, JSON, URL, "demo", INDEX, None, 1.0, None))
    for _ in range(3):  # from now on the living one
        assert workers.parse(PageRequest(BODY, JSON, URL, "demo", INDEX, None, 1.0, None))[0]
    assert workers.alive
    first._proc.kill()
    first._proc.wait()
    for _ in range(3):
        with pytest.raises(Gone):
            workers.parse(PageRequest(BODY, JSON, URL, "demo", INDEX, None, 1.0, None))
    assert not workers.alive


def test_the_page_the_solver_waits_for_goes_first() -> None:
    pool = PageWorkers(1)
    assert pool.wait_started(60)
    order: list[str] = []
    gate = threading.Event()
    try:
        taken = pool._take(None)  # the worker busy: the threads below queue for it
        urgent = {"now": ""}

        def parse(name: str) -> None:
            pool.parse(
                PageRequest(BODY, JSON, URL, name, INDEX, None, 1.0, None),
                lambda: urgent["now"] == name,
            )
            order.append(name)

        threads = [threading.Thread(target=parse, args=(n,)) for n in ("a", "b", "c")]
        for thread in threads:
            thread.start()
            while len(pool._waiting) < threads.index(thread) + 1:
                gate.wait(0.01)
        urgent["now"] = "c"  # the solver starts waiting for c's page
        pool._give_back(taken)
        for thread in threads:
            thread.join(30)
        assert order == ["c", "a", "b"]
    finally:
        pool._workers[0]._proc.kill()


def test_a_worker_that_answers_garbage_is_dropped(workers: PageWorkers) -> None:
    worker = workers._workers[0]
    worker._from = open(os.devnull, "rb")  # noqa: SIM115  (an answer cut short: EOF)
    with pytest.raises(Gone):
        worker.parse(PageRequest(BODY, JSON, URL, "demo", INDEX, None, 1.0, None))
    assert not worker.alive and workers.alive


def test_no_workers_unless_enabled_on_two_cpus_and_not_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pageworker, "_workers", None)
    monkeypatch.setattr(pageworker, "_enabled", [False])
    monkeypatch.setattr(pageworker, "_cpus", lambda: 2)
    monkeypatch.delenv(pageworker.ENV_WORKERS, raising=False)
    pageworker.start()  # not enabled: a library caller, xv-sync
    assert pageworker.running() is None
    monkeypatch.setattr(pageworker, "_cpus", lambda: 1)
    pageworker.enable()
    pageworker.start()
    assert pageworker.running() is None
    monkeypatch.setattr(pageworker, "_cpus", lambda: 2)
    monkeypatch.setenv(pageworker.ENV_WORKERS, "0")
    pageworker.enable()
    pageworker.start()
    assert pageworker.running() is None


def test_an_idle_worker_ends_and_its_page_is_parsed_here() -> None:
    pool = PageWorkers(1, idle=0.05)
    try:
        assert pool.wait_started(60)
        time.sleep(0.2)  # before its first page, a worker waits however long it takes
        assert pool.parse(PageRequest(BODY, JSON, URL, "demo", INDEX, None, 1.0, None))[0]
        pool._workers[0]._proc.wait(timeout=30)  # no page for 50 ms: it ended by itself
        assert pool._workers[0]._proc.returncode == 0
        with pytest.raises(Gone):
            pool.parse(PageRequest(BODY, JSON, URL, "demo", INDEX, None, 1.0, None))
        assert not pool.alive
    finally:
        pool._workers[0]._proc.kill()


def entry_plain(bucket: cache.Bucket) -> object:
    value = bucket.get("entry")
    assert value is not None
    return value[0]


def file_list(found: ProjectPage) -> pageform.FileList:
    assert isinstance(found.files, pageform.FileList)
    return found.files


MANY = page(*(wheel(f"1.{minor}") for minor in range(15)), wheel("2.0rc1"))


def many(workers: PageWorkers, tmp_path: Path) -> tuple[Any, dict[str, bytes]]:
    """MANY parsed, its entry written to tmp_path's simple-v2/entry: (plain, left)."""
    target = tmp_path / "simple-v2" / "entry"
    plain, checksum, failure, left = workers.parse(
        PageRequest(MANY, JSON, URL, "demo", INDEX, str(target), 1.0, {})
    )
    assert checksum and failure is None
    return plain, left


def test_a_big_page_comes_back_with_its_newest_versions_only(
    workers: PageWorkers, tmp_path: Path
) -> None:
    plain, left = many(workers, tmp_path)
    whole = pageform.plain_from_body(MANY, JSON, URL, "demo", INDEX)
    sent = {key for key, _, _, blob in plain[4] if blob}
    # The five newest final releases: 2.0rc1, newer than all of them, is left out too.
    assert pageworker.KEEP_VERSIONS == 5
    assert sent == {f"1.{minor}" for minor in range(10, 15)}
    assert set(left) == {"1", "2rc1", *(f"1.{minor}" for minor in range(1, 10))}  # "1": 1.0's
    bucket = cache.Cache(tmp_path).bucket("simple-v2")
    reads = []

    def load() -> object:
        reads.append(1)
        return entry_plain(bucket)

    files = pageform.page_from_plain(plain, pageform.Elsewhere("demo", load, left)).files
    assert isinstance(files, pageform.FileList)
    assert [f.filename for f in files.of_version("1.14")] == ["demo-1.14-py3-none-any.whl"]
    assert reads == []  # a version sent: the entry is not read
    expected = pageform.page_from_plain(whole).files
    assert isinstance(expected, pageform.FileList)
    assert files.of_version("1.2") == expected.of_version("1.2")
    assert files == expected and reads == [1]  # read once for all the versions left out


def test_pre_releases_are_sent_only_where_final_releases_are_too_few() -> None:
    body = page(*(wheel(v) for v in ("1.0", "2.0a1", "2.0b1", "2.0rc1", "2.0rc2", "1.1")))
    plain = pageform.plain_from_body(body, JSON, URL, "demo", INDEX)
    sent, left = pageform.newest_only(plain, 5)
    assert {key for key, _, _, blob in sent[4] if blob} == {"1", "1.1", "2b1", "2rc1", "2rc2"}
    assert set(left) == {"2a1"}


def test_a_version_left_out_that_changed_in_the_entry_is_an_error(
    workers: PageWorkers, tmp_path: Path
) -> None:
    plain, left = many(workers, tmp_path)
    # Another process wrote the page since, with 1.3 yanked meanwhile.
    changed = page(*(wheel(f"1.{minor}", yanked=minor == 3) for minor in range(15)))
    other = pageform.plain_from_body(changed, JSON, URL, "demo", INDEX)
    bucket = cache.Cache(tmp_path).bucket("simple-v2")
    bucket.put("entry", (other, 2.0, {}))
    loaded = pageform.page_from_plain(
        plain,
        pageform.Elsewhere("demo", lambda: entry_plain(bucket), left),
    )
    with pytest.raises(XvError, match="cached index page of demo changed"):
        file_list(loaded).of_version("1.0")
    gone = pageform.page_from_plain(plain, pageform.Elsewhere("demo", lambda: None, left))
    with pytest.raises(XvError, match="run again"):
        file_list(gone).of_version("1.0")


def test_no_page_waits_for_a_worker_to_start() -> None:
    pool = PageWorkers(1)
    try:
        with pytest.raises(NotYet):  # just started: the page is parsed by the command
            pool.parse(PageRequest(BODY, JSON, URL, "demo", INDEX, None, 1.0, None))
        assert pool.alive
        assert pool.wait_started(60)
        assert pool.parse(PageRequest(BODY, JSON, URL, "demo", INDEX, None, 1.0, None))[0]
    finally:
        pool._workers[0]._proc.kill()


def test_where_a_start_cannot_be_waited_for_its_byte_is_read_with_the_first_reply(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    pool = PageWorkers(1)
    try:
        assert pool._workers[0].is_ready()  # at once: no select() on a Windows pipe
        assert pool.parse(PageRequest(BODY, JSON, URL, "demo", INDEX, None, 1.0, None))[0]
        assert pool.parse(PageRequest(BODY, JSON, URL, "demo", INDEX, None, 1.0, None))[0]
    finally:
        pool._workers[0]._proc.kill()


def test_a_page_whose_entry_path_msgpack_cannot_carry_is_parsed_here(workers: PageWorkers) -> None:
    target = "/tmp/not-utf-8-\udcff/entry"  # a file name of undecodable bytes
    with pytest.raises(Gone):
        workers.parse(PageRequest(BODY, JSON, URL, "demo", INDEX, target, 1.0, {}))
    assert workers.parse(PageRequest(BODY, JSON, URL, "demo", INDEX, None, 1.0, None))[0]


def test_big_pages_are_parsed_one_at_a_time(
    workers: PageWorkers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pageworker, "BIG_PAGE", len(BODY))  # BODY is big, SMALL is not
    small = json.dumps({"meta": {"api-version": "1.0"}, "files": []}).encode()
    now = {"big": 0, "all": 0}
    most = {"big": 0, "all": 0}
    parse = pageworker.PageWorker.parse

    def counted(self: pageworker.PageWorker, request: PageRequest) -> Any:
        kinds = ("big", "all") if request.body is BODY else ("all",)
        for kind in kinds:
            now[kind] += 1
            most[kind] = max(most[kind], now[kind])
        try:
            time.sleep(0.1)
            return parse(self, request)
        finally:
            for kind in kinds:
                now[kind] -= 1

    monkeypatch.setattr(pageworker.PageWorker, "parse", counted)
    threads = [
        threading.Thread(
            target=workers.parse, args=(PageRequest(b, JSON, URL, "d", INDEX, None, 1.0, None),)
        )
        for b in (BODY, BODY, BODY, small, small, small)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most == {"big": 1, "all": 2}  # both workers busy, never with two big pages


def test_a_worker_imports_what_a_page_needs_and_not_the_cache_nor_the_records() -> None:
    """Each module a worker imports is resident in every worker, counted in a compile's
    memory: not xv.cache (logging, enum), nor xv.index.simple's records (dataclasses,
    inspect, ast), nor the fast path. The worker starts as the command starts it, reads
    no page (its input closed), and tells what it imported."""
    code = (
        "import sys; sys.path[:] = sys.argv[1:]; from xv.index.pageworker import serve; "
        "serve(); sys.stderr.write(' '.join(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", code, *sys.path],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout == "R"  # started
    modules = set(done.stderr.split())
    assert {"xv.index.pageform", "xv.index.jsonpage", "xv.envelope", "xv.atomic"} <= modules
    unwanted = {"dataclasses", "logging", "inspect", "xv.cache", "xv.index.simple", "xv.fast"}
    assert not modules & unwanted


def test_a_worker_loads_no_openssl(workers: PageWorkers, tmp_path: Path) -> None:
    """The entry's witness (a sha256 of its bytes) is the command's to take: OpenSSL's
    sha256 would be ~4 MB more in each worker. A worker that has written a big entry has
    not imported hashlib (its standard error, where a stray print would go, says so)."""
    code = (
        "import sys; sys.path[:] = sys.argv[1:]; from xv.index.pageworker import serve; "
        "serve(); sys.stderr.write(' '.join(sorted(sys.modules)))"
    )
    big = page(*(wheel(f"1.{minor}", size=minor) for minor in range(3000)))
    assert len(big) > digests.BULK  # the size from which the command hashes with OpenSSL
    head = msgpack.packb([JSON, URL, "demo", INDEX, str(tmp_path / "e"), 1.0, {}, len(big)])
    frame = len(head).to_bytes(4, "little") + head + big
    done = subprocess.run(
        [sys.executable, "-S", "-c", code, *sys.path],
        input=frame,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert (tmp_path / "e").stat().st_size > digests.BULK  # the entry was written
    modules = set(done.stderr.decode().split())
    assert "xv.index.pageform" in modules
    assert not modules & {"hashlib", "_hashlib"}


def test_an_entry_a_worker_wrote_is_witnessed_by_its_bytes_once_they_are_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xv.fast import trace
    from xv.index import client

    seen: list[tuple[str, str | None]] = []
    monkeypatch.setattr(trace, "wrote_elsewhere", lambda t, d: seen.append((t, d)))
    target = tmp_path / "entry"
    target.write_bytes(b"".join(envelope.encode_entry(("page", b"x" * 3_000_000, {}))))
    checksum = envelope.stored_checksum(target.read_bytes())  # read back a MB at a time
    assert checksum is not None
    client._witness_entry(str(target), checksum.hex())
    assert seen == [(str(target), hashlib.sha256(target.read_bytes()).hexdigest())]
    # Another process replaced the entry meanwhile, or it is gone: the run is not recorded.
    target.write_bytes(b"".join(envelope.encode_entry(("other page", 2.0, {}))))
    client._witness_entry(str(target), checksum.hex())
    target.unlink()
    client._witness_entry(str(target), checksum.hex())
    assert seen[1:] == [(str(target), None), (str(target), None)]
