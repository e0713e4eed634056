"""xv.fast's key and witnesses: what makes two invocations the same one."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xv import dirs, fast, urls
from xv.cache import default_root


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def key(argv: list[str] | None = None) -> str | None:
    return fast.record_path("xv-compile", argv or ["--check"])


def test_the_key_changes_with_each_part_of_the_invocation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XV_CACHE_DIR", str(tmp_path / "cache"))
    base = key()
    assert key() == base
    assert key(["--check", "-q"]) != base
    assert fast.record_path("xv-sync", ["--check"]) != base
    monkeypatch.setenv("ANY_VARIABLE", "1")
    with_variable = key()
    assert with_variable != base
    monkeypatch.setenv("OLDPWD", "/elsewhere")  # the shell's bookkeeping is not an input
    assert key() == with_variable
    monkeypatch.setattr(sys, "stderr", _Terminal())  # progress and colour follow a terminal
    on_terminal = key()
    assert on_terminal != with_variable
    monkeypatch.setattr(sys, "executable", "/another/python")  # another interpreter
    assert key() != on_terminal
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert key() not in (base, with_variable, on_terminal)


def test_a_password_is_not_part_of_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XV_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("XV_INDEX_URL", "https://me:old@host/simple")
    one = key(["--check", "-i", "https://me:old@host/simple"])
    monkeypatch.setenv("XV_INDEX_URL", "https://me:new@host/simple")
    assert key(["--check", "-i", "https://me:new@host/simple"]) == one
    assert key(["--check", "-i", "https://you:new@host/simple"]) != one


@given(st.text(alphabet="ab:/@ .\n\t-", max_size=30))
def test_redact_is_xv_urls_redact(text: str) -> None:
    assert fast.redact(text) == urls.redact(text)


@pytest.mark.parametrize(
    "text", ["https://u:p@h/x", "http://t@h:1/y and https://u:p:q@h2/z", "//@", "a//:@b", "//x"]
)
def test_redact_examples(text: str) -> None:
    assert fast.redact(text) == urls.redact(text)


def test_the_cache_root_is_the_cache_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XV_CACHE_DIR", raising=False)
    for xdg in ("", "/somewhere/cache", "   "):
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
        assert fast.cache_root() == str(default_root())
    monkeypatch.setenv("XV_CACHE_DIR", "~/xv-here")
    assert fast.cache_root() == str(default_root())


def test_the_user_cache_dir_is_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spelled out (platformdirs costs start-up), it names the same directory."""
    import platformdirs

    for xdg in ("", "/somewhere/cache", "   ", "relative/cache"):
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
        assert dirs.user_cache_dir() == platformdirs.user_cache_dir("xv")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert dirs.user_cache_dir() == platformdirs.user_cache_dir("xv")


def test_witness_states(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("a")
    first = fast.state(str(path), "bytes")
    assert fast.state(str(path), "bytes") == first
    path.write_text("b")  # same size, maybe the same mtime: the bytes decide
    assert fast.state(str(path), "bytes") != first
    assert fast.state(str(tmp_path / "absent"), "stat")[0] == "!"
    assert fast.state(str(tmp_path), "stat") == ["D"]
    os.utime(tmp_path, (1, 1))  # timestamps are coarse: an entry added now moves it surely
    listed = fast.state(str(tmp_path), "list")
    (tmp_path / "new").write_text("")
    assert fast.state(str(tmp_path), "list") != listed
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert fast.state(str(fifo), "bytes") == ["?"]  # never read, never recorded


def test_a_pause_in_one_thread_hides_nothing_another_reads(tmp_path: Path) -> None:
    import threading

    from xv.fast import trace

    recorder = trace._Recorder()
    recorder.active = True
    paused, done = threading.Event(), threading.Event()

    def elsewhere() -> None:
        with recorder.pause():
            paused.set()
            done.wait(10)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    paused.wait(10)
    (tmp_path / "input").write_text("x")
    recorder.hook("open", (str(tmp_path / "input"), "r", 0))
    with recorder.pause():
        recorder.hook("open", (str(tmp_path / "unseen"), "r", 0))
    done.set()
    thread.join()
    assert list(recorder.seen) == [(str(tmp_path / "input"), "bytes")]
    assert recorder.pauses == {}


def test_a_run_no_record_answers_stops_being_witnessed(tmp_path: Path) -> None:
    """trace.stop: what the run reads afterwards is not witnessed (os.stat is the real one
    again), and the run is not recorded even if it says later that a record answered."""
    from xv.fast import trace

    (tmp_path / "before").write_text("a")
    (tmp_path / "after").write_text("b")
    seen: list[str] = []

    def command() -> None:
        (tmp_path / "before").read_text()
        assert os.stat is not trace._real_stat
        trace.stop()
        assert (os.stat, os.lstat) == (trace._real_stat, trace._real_lstat)
        (tmp_path / "after").read_text()
        trace.note("sync", head={}, key="k")
        assert trace._recorder is not None
        seen.extend(path for path, _ in trace._recorder.seen)

    trace.run_recording(lambda: command, str(tmp_path / "record.json"))
    assert str(tmp_path / "before") in seen and str(tmp_path / "after") not in seen
    assert not (tmp_path / "record.json").exists()
    assert (os.stat, os.lstat) == (trace._real_stat, trace._real_lstat)


@pytest.mark.parametrize("done", [True, False])
def test_a_compile_run_is_recorded_only_once_its_cache_writes_are_done(
    tmp_path: Path, done: bool
) -> None:
    """trace.owed: a cache write the run handed out and never finished (a warm run would
    not find what it fetched) leaves the run unrecorded."""
    from xv.fast import trace

    def command() -> None:
        write = trace.owed(lambda: None)
        if done:
            write()

    trace.run_recording(lambda: command, str(tmp_path / "record.json"), network=True)
    assert (tmp_path / "record.json").exists() == done


def test_a_compile_run_that_removes_a_file_is_not_recorded(tmp_path: Path) -> None:
    from xv.fast import trace

    (tmp_path / "gone").write_text("a")
    trace.run_recording(
        lambda: (tmp_path / "gone").unlink, str(tmp_path / "record.json"), network=True
    )
    assert not (tmp_path / "record.json").exists()


def test_a_compile_run_that_writes_outside_a_rename_is_not_recorded(tmp_path: Path) -> None:
    from xv.fast import trace

    command = lambda: (tmp_path / "x").write_text("a")  # noqa: E731
    trace.run_recording(lambda: command, str(tmp_path / "record.json"), network=True)
    assert not (tmp_path / "record.json").exists()


@pytest.mark.parametrize(
    "extra",
    [{}, {"cache-control": "max-age=120"}, {"expires": "Thu, 01 Jan 2026 00:00:50 GMT"}],
)
def test_fresh_until_is_where_is_fresh_turns(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, str]
) -> None:
    """The record's deadline is exactly when the cache's own freshness test turns."""
    from xv.index import httpcache

    rules = httpcache.PageRules(600)
    headers = {"date": "Thu, 01 Jan 2026 00:00:00 GMT", **extra}
    until = rules.fresh_until(headers, 0.0)
    assert until is not None
    for moment, fresh in ((until - 1, True), (until - 0.001, True), (until, False)):
        monkeypatch.setattr("xv.index.httpcache.time.time", lambda m=moment: m)
        assert rules.is_fresh("u", headers, 0.0) is fresh


def test_a_page_never_fresh_has_no_deadline() -> None:
    from xv.index.httpcache import PageRules

    headers = {"date": "Thu, 01 Jan 2026 00:00:00 GMT", "cache-control": "no-cache"}
    assert PageRules(600).fresh_until(headers, 0.0) is None


def test_a_compile_run_that_writes_byte_code_is_not_recorded(tmp_path: Path) -> None:
    """The import system's .pyc writes are renames too: never taken for the output."""
    from xv.fast import trace

    (tmp_path / "m.pyc.tmp").write_bytes(b"x")

    def command() -> None:
        os.replace(tmp_path / "m.pyc.tmp", tmp_path / "m.pyc")

    trace.run_recording(lambda: command, str(tmp_path / "record.json"), network=True)
    assert not (tmp_path / "record.json").exists()


def test_an_interrupted_compile_run_is_not_recorded(tmp_path: Path) -> None:
    from xv.fast import trace

    def command() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trace.run_recording(lambda: command, str(tmp_path / "record.json"), network=True)
    assert not (tmp_path / "record.json").exists()


def test_a_compile_run_that_renames_its_output_is_recorded_with_its_bytes(tmp_path: Path) -> None:
    import json

    from xv import atomic
    from xv.fast import trace

    out = tmp_path / "out.txt"
    record = tmp_path / "fast-v1" / "r.json"  # not beside the output: that taints
    trace.run_recording(
        lambda: lambda: atomic.write_atomic(out, b"a==1\n"), str(record), network=True
    )
    doc = json.loads(record.read_bytes())
    assert doc["writes"] == [[str(out), "YT09MQo="]]
    assert [str(out), "stat", ["!", 2]] in doc["witness"]


def _cache_witnesses(record: Path, root: Path) -> dict[str, list[object]]:
    import json

    doc = json.loads(record.read_bytes())
    return {p: s for p, kind, s in doc["witness"] if kind == "bytes" and p.startswith(str(root))}


def test_a_cache_entry_is_witnessed_by_the_bytes_the_run_wrote(tmp_path: Path) -> None:
    """Its sha256 is taken as it is written (not by reading every entry back at the end),
    and it is the sha256 a replay computes from the file."""
    from xv.cache import Cache
    from xv.fast import trace

    root, record = tmp_path / "cache", tmp_path / "fast-v1" / "r.json"

    def command() -> None:
        bucket = Cache(root).bucket("simple-v2")
        bucket.put("big", {"blob": b"x" * 300_000})  # OpenSSL's sha256, in pieces
        bucket.put("small", ["a", 1])

    trace.run_recording(lambda: command, str(record), network=True)
    found = _cache_witnesses(record, root)
    assert sorted(found) == sorted(str(p) for p in (root / "simple-v2").iterdir())
    for path, witness in found.items():
        assert witness == fast.state(path, "bytes")


def test_an_entry_replaced_after_the_run_wrote_it_keeps_the_bytes_it_used(
    tmp_path: Path,
) -> None:
    """Another process replacing an entry meanwhile: the record still names the bytes this
    run used, so a replay against the other bytes misses (never answers from them)."""
    from xv.cache import Cache
    from xv.fast import trace

    root, record = tmp_path / "cache", tmp_path / "fast-v1" / "r.json"
    entry = root / "simple-v2" / "page"

    def command() -> None:
        Cache(root).bucket("simple-v2").put("page", ["ours"])
        with trace.paused():  # the other process's write: not this run's
            used = fast.state(str(entry), "bytes")
            entry.write_bytes(b"theirs")  # in place: no rename this run would see
        assert used[0] == "B"
        command.used = used  # type: ignore[attr-defined]

    trace.run_recording(lambda: command, str(record), network=True)
    witness = _cache_witnesses(record, root)[str(entry)]
    assert witness == command.used  # type: ignore[attr-defined]
    assert witness != fast.state(str(entry), "bytes")
