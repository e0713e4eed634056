"""xv.atomic.replace_entry: a cache entry replaced whole, in four system calls."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xv import atomic


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_the_entry_is_the_chunks_joined(tmp_path: Path) -> None:
    chunks = [b"", b"head", b"x" * 300_000, b""] + [bytes([i % 256]) for i in range(1500)]
    target = tmp_path / "bucket" / "entry"  # its directory made on the way
    atomic.replace_entry(target, chunks)
    assert target.read_bytes() == b"".join(chunks)  # 1,500 buffers: more than one writev
    atomic.replace_entry(target, [b"again"])
    assert target.read_bytes() == b"again"
    assert _leftovers(target.parent) == []


def test_short_writes_are_continued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.writev

    def at_most_7(fd: int, buffers: list[memoryview]) -> int:
        first = bytes(buffers[0])[:7]  # a short write that stops inside the first buffer
        return real(fd, [first])

    monkeypatch.setattr(os, "writev", at_most_7)
    chunks = [b"abcdefghij", b"", b"klmnopqrstuvwxyz" * 3]
    atomic.replace_entry(tmp_path / "entry", chunks)
    assert (tmp_path / "entry").read_bytes() == b"".join(chunks)


def test_a_failed_write_leaves_the_old_entry_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "entry"
    atomic.replace_entry(target, [b"old"])

    def disk_full(fd: int, buffers: list[memoryview]) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "writev", disk_full)
    with pytest.raises(OSError):
        atomic.replace_entry(target, [b"new"])
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_a_directory_removed_since_it_was_made_is_made_again(tmp_path: Path) -> None:
    bucket = tmp_path / "bucket"
    atomic.replace_entry(bucket / "a", [b"1"])
    (bucket / "a").unlink()
    bucket.rmdir()  # xv cache clean, say, between two runs of a long-lived process
    atomic.replace_entry(bucket / "b", [b"2"])
    assert (bucket / "b").read_bytes() == b"2"


def test_a_symlink_in_the_entrys_place_is_replaced_not_followed(tmp_path: Path) -> None:
    """A link planted in the cache must not redirect the write elsewhere."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"untouched")
    (tmp_path / "bucket").mkdir()
    entry = tmp_path / "bucket" / "entry"
    entry.symlink_to(elsewhere)
    atomic.replace_entry(entry, [b"entry"])
    assert not entry.is_symlink() and entry.read_bytes() == b"entry"
    assert elsewhere.read_bytes() == b"untouched"


def test_a_temporary_name_left_behind_gives_way(tmp_path: Path) -> None:
    """A process that died with this process's id left its temporary files: not in the way."""
    serial = next(atomic._SERIAL) + 1
    for n in range(serial, serial + 3):
        (tmp_path / f".entry.{os.getpid()}.{n}.tmp").write_bytes(b"left behind")
    atomic.replace_entry(tmp_path / "entry", [b"new"])
    assert (tmp_path / "entry").read_bytes() == b"new"
    assert len(_leftovers(tmp_path)) == 3  # theirs, untouched
