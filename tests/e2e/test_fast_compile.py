"""The fast path for a normal ``xv-compile`` (xv.fast): a run that wrote its output, with
or without the network, is replayed by the next identical invocation (the output written
again, byte for byte, the same text printed) while every page it used is fresh and nothing
it read or wrote in the cache has changed; any doubt gives the normal run."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import MakeIndex
from tests.e2e.test_fast_path import PKGS, Run, records, run, without_elapsed
from tests.support.localindex import LocalIndex

OUT = Path("requirements.txt")


@pytest.fixture
def idx(make_index: MakeIndex, xv_home: Path) -> LocalIndex:
    Path("requirements.in").write_text("alpha\n")
    return make_index(PKGS)


def compile_(idx: LocalIndex, tmp_path: Path, *extra: str, **env: str) -> Run:
    args = ["requirements.in", "-o", str(OUT), "-i", idx.url, *extra]
    return run(tmp_path, "xv-compile", *args, env=env)


def cold_then_fast(idx: LocalIndex, tmp_path: Path, *extra: str) -> tuple[Run, Run]:
    """The network run, its output removed (as the benchmark's warm run), the replay."""
    cold = compile_(idx, tmp_path, *extra)
    assert cold.code == 0 and not cold.fast, cold.stderr
    assert len(records(tmp_path)) == 1
    OUT.unlink()
    fast = compile_(idx, tmp_path, *extra)
    assert fast.code == 0, fast.stderr
    return cold, fast


def test_a_network_run_is_replayed_byte_for_byte(idx: LocalIndex, tmp_path: Path) -> None:
    cold, fast = cold_then_fast(idx, tmp_path)
    assert fast.fast
    replayed = OUT.read_bytes()
    assert (fast.stdout, without_elapsed(fast.stderr)) == (
        cold.stdout,
        without_elapsed(cold.stderr),
    )
    OUT.unlink()
    slow = compile_(idx, tmp_path, XV_NO_FAST="1")
    assert not slow.fast and slow.code == 0
    assert OUT.read_bytes() == replayed
    assert (slow.stdout, without_elapsed(slow.stderr)) == (
        fast.stdout,
        without_elapsed(fast.stderr),
    )


def test_the_record_holds_the_moment_its_pages_stop_being_fresh(
    idx: LocalIndex, tmp_path: Path
) -> None:
    compile_(idx, tmp_path)
    (record,) = records(tmp_path)
    doc = json.loads(record.read_bytes())
    # No Cache-Control from this index: fresh for the default 600 s from its Date.
    assert 590 < doc["until"] - os.stat(record).st_mtime <= 601
    record.write_text(json.dumps({**doc, "until": doc["until"] - 600}))
    OUT.unlink()
    late = compile_(idx, tmp_path)
    assert late.code == 0 and not late.fast


def test_an_expired_page_is_asked_again(make_index: MakeIndex, xv_home: Path) -> None:
    Path("requirements.in").write_text("alpha\n")
    idx = make_index(PKGS, cache_headers="max-age=1")
    compile_(idx, xv_home)
    OUT.unlink()
    time.sleep(2.1)  # the page's max-age passes (not a timed assertion: a wait)
    asked = len(idx.log.snapshot())
    late = compile_(idx, xv_home)
    assert late.code == 0 and not late.fast
    assert len(idx.log.snapshot()) > asked  # the page revalidated with the index


@pytest.mark.parametrize("cache_control", ["no-store", "no-cache"])
def test_a_page_not_kept_fresh_is_not_recorded(
    make_index: MakeIndex, xv_home: Path, cache_control: str
) -> None:
    Path("requirements.in").write_text("alpha\n")
    idx = make_index(PKGS, cache_headers=cache_control)
    assert compile_(idx, xv_home).code == 0
    OUT.unlink()
    again = compile_(idx, xv_home)
    assert again.code == 0 and not again.fast


def _edit_input() -> None:
    Path("requirements.in").write_text("alpha\ngamma\n")


def _keep_output() -> None:
    OUT.write_bytes(COLD_OUTPUT[0])  # the output present (the record saw none)


def _other_output() -> None:
    OUT.write_text("alpha==1.0\n")  # a lock with other pins: a preference for the run


COLD_OUTPUT: list[bytes] = []


def _replace_cache_entry() -> None:
    (entry,) = [p for p in Path("cache").glob("simple-v2/*") if "alpha" in p.name]
    data = entry.read_bytes()
    entry.unlink()
    entry.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))


def _corrupt_cache_entry_in_place() -> None:
    (entry,) = [p for p in Path("cache").glob("simple-v2/*") if "alpha" in p.name]
    with open(entry, "r+b") as handle:
        handle.write(b"\0")


def _corrupt_record() -> None:
    (record,) = records(Path.cwd())
    record.write_text('{"format": 1, "code": 0, "out": [], "witness": [')


def _delete_check_record() -> None:
    for entry in Path("cache/check-v1").rglob("*"):
        if entry.is_file():
            entry.unlink()


@pytest.mark.parametrize(
    "change",
    [
        _edit_input, _keep_output, _other_output, _replace_cache_entry,
        _corrupt_cache_entry_in_place, _corrupt_record, _delete_check_record,
    ],
    ids=lambda f: f.__name__,
)  # fmt: skip
def test_a_change_gives_the_normal_run(idx: LocalIndex, tmp_path: Path, change: object) -> None:
    compile_(idx, tmp_path)
    COLD_OUTPUT[:] = [OUT.read_bytes()]
    OUT.unlink()
    assert callable(change)
    change()
    before = OUT.read_bytes() if OUT.exists() else None
    normal = compile_(idx, tmp_path)
    assert normal.code == 0 and not normal.fast, normal.stderr
    written = OUT.read_bytes()
    OUT.unlink()
    if before is not None:
        OUT.write_bytes(before)
    slow = compile_(idx, tmp_path, XV_NO_FAST="1")
    assert slow.code == 0 and OUT.read_bytes() == written


@pytest.mark.parametrize("env", [{"XV_NO_FAST": "1"}, {"SOME_VARIABLE": "1"}])
def test_another_environment_is_not_replayed(
    idx: LocalIndex, tmp_path: Path, env: dict[str, str]
) -> None:
    compile_(idx, tmp_path)
    OUT.unlink()
    other = compile_(idx, tmp_path, **env)
    assert other.code == 0 and not other.fast


def test_another_directory_is_not_replayed(idx: LocalIndex, tmp_path: Path) -> None:
    compile_(idx, tmp_path)
    OUT.unlink()
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    os.chdir(elsewhere)
    Path("requirements.in").write_text("alpha\n")
    other = compile_(idx, tmp_path)
    assert other.code == 0 and not other.fast


def test_refresh_is_never_replayed(idx: LocalIndex, tmp_path: Path) -> None:
    compile_(idx, tmp_path, "--refresh")
    OUT.unlink()
    again = compile_(idx, tmp_path, "--refresh")
    assert again.code == 0 and not again.fast
    assert not records(tmp_path)


@pytest.mark.parametrize("extra", [("-U",), ("-P", "beta")])
def test_upgrade_is_replayed_only_without_refresh(
    idx: LocalIndex, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    """``-U`` implies ``--refresh`` (as in uv): every page asked again, so never replayed;
    ``-P`` answers from fresh pages like any run."""
    compile_(idx, tmp_path, *extra)
    OUT.unlink()
    again = compile_(idx, tmp_path, *extra)
    assert again.code == 0
    assert again.fast == (extra[0] == "-P")


def test_a_failed_run_is_not_recorded(idx: LocalIndex, tmp_path: Path) -> None:
    Path("requirements.in").write_text("alpha==3.0\n")
    failed = compile_(idx, tmp_path)
    assert failed.code == 1 and not records(tmp_path)
    again = compile_(idx, tmp_path)
    assert again.code == 1 and not again.fast


def test_an_output_written_back_unchanged_is_replayed(idx: LocalIndex, tmp_path: Path) -> None:
    """A run with the output present that writes the same bytes back: the next run finds
    what it found (witnessed by bytes, not by the old inode), so it is replayed; an edit to
    the output, or the output made a symlink, gives the normal run."""
    _, fast = cold_then_fast(idx, tmp_path)
    assert fast.fast
    present = compile_(idx, tmp_path)  # the record saw no output: a normal run
    assert present.code == 0 and not present.fast
    written = OUT.read_bytes()
    replayed = compile_(idx, tmp_path)
    assert replayed.code == 0 and replayed.fast
    assert OUT.read_bytes() == written
    assert compile_(idx, tmp_path).fast  # and again: the replay wrote the same bytes
    OUT.write_bytes(written.replace(b"beta==1.0", b"beta==1.0 "))
    edited = compile_(idx, tmp_path)
    assert edited.code == 0 and not edited.fast
    Path("real.txt").write_bytes(OUT.read_bytes())
    OUT.unlink()
    OUT.symlink_to("real.txt")
    linked = compile_(idx, tmp_path)
    assert linked.code == 0 and not linked.fast and OUT.is_symlink()


def test_a_cache_dir_option_is_the_cache_witnessed(idx: LocalIndex, tmp_path: Path) -> None:
    """``--cache-dir`` (the benchmark's way): its entries are witnesses, not outputs."""
    _, fast = cold_then_fast(idx, tmp_path, "--cache-dir", "other-cache")
    assert fast.fast
    (record,) = records(tmp_path)
    doc = json.loads(record.read_bytes())
    assert [os.path.basename(w[0]) for w in doc["writes"]] == ["requirements.txt"]
    assert any("other-cache" in w[0] and w[1] == "bytes" for w in doc["witness"])
    OUT.unlink()
    (entry,) = [p for p in Path("other-cache").glob("simple-v2/*") if "alpha" in p.name]
    entry.write_bytes(entry.read_bytes() + b"\0")
    assert not compile_(idx, tmp_path, "--cache-dir", "other-cache").fast


def test_a_run_without_a_cache_is_not_recorded(idx: LocalIndex, tmp_path: Path) -> None:
    """``--no-cache``: nothing the run fetched is kept, so a warm run would fetch again."""
    assert compile_(idx, tmp_path, "--no-cache").code == 0
    assert not records(tmp_path)
