"""Where ``xv-compile -o`` writes (issue 10, defect 1): through symlinks to their target,
in place into what is not a regular file (a FIFO, a device, /dev/stdout), to stdout for
``-o -``, into a directory it creates; and an existing lock survives any failure.

The resolver is the fake of test_cli_compile. No test here points ``-o`` at a real device:
a FIFO stands for every non-regular file, so a regression cannot replace /dev/null.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.unit import test_cli_compile as base
from tests.unit.test_cli_compile import EXPECTED, FakeCompile, invoke
from xv import atomic

fake = base.fake  # the fixture: xv-compile with a fake resolver, in a temporary directory

pytestmark = pytest.mark.skipif(os.name != "posix", reason="symlinks and FIFOs")


def _leftovers(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


def test_a_symlinked_lock_is_written_through_to_its_target(fake: FakeCompile) -> None:
    Path("locks").mkdir()
    Path("locks/real.txt").write_text("flask==1.0\n")
    Path("locks/real.txt").chmod(0o640)
    os.symlink("locks/real.txt", "r.txt")
    result = invoke("r.in", "-o", "r.txt")
    assert result.exit_code == 0, result.output
    assert os.path.islink("r.txt") and os.readlink("r.txt") == "locks/real.txt"
    assert Path("locks/real.txt").read_text() == EXPECTED
    assert stat.S_IMODE(os.stat("locks/real.txt").st_mode) == 0o640
    assert fake.opts.resolver.preferences["flask"].version is not None  # the target was read
    assert _leftovers(Path(".")) == [] and _leftovers(Path("locks")) == []


def test_a_dangling_symlink_creates_its_target(fake: FakeCompile) -> None:
    os.symlink("made.txt", "r.txt")
    assert invoke("r.in", "-o", "r.txt").exit_code == 0
    assert os.path.islink("r.txt") and Path("made.txt").read_text() == EXPECTED


def test_a_fifo_is_written_in_place_not_replaced(fake: FakeCompile) -> None:
    os.mkfifo("out.fifo")
    # Opened for reading first (without blocking), so the writer's open() returns at once
    # and the text waits in the pipe's buffer.
    reader = os.open("out.fifo", os.O_RDONLY | os.O_NONBLOCK)
    try:
        result = invoke("r.in", "-o", "out.fifo")
        assert result.exit_code == 0, result.output
        assert stat.S_ISFIFO(os.stat("out.fifo").st_mode)
        try:
            received = os.read(reader, 1 << 16).decode()
        except BlockingIOError:
            received = ""
        assert received == EXPECTED.replace("-o r.txt", "-o out.fifo")
    finally:
        os.close(reader)
    assert _leftovers(Path(".")) == []


def test_dash_writes_to_stdout(fake: FakeCompile) -> None:
    result = invoke("r.in", "-o", "-")
    assert result.exit_code == 0, result.output
    assert result.stdout == EXPECTED.replace("-o r.txt", "-o -")
    assert not Path("-").exists()


def test_a_missing_directory_is_created(fake: FakeCompile) -> None:
    result = invoke("r.in", "-o", "locks/py3/r.txt")
    assert result.exit_code == 0, result.output
    assert Path("locks/py3/r.txt").read_text() == EXPECTED.replace("r.txt", "locks/py3/r.txt")


def test_a_failed_flush_to_disk_keeps_the_lock_and_exits_2(
    fake: FakeCompile, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("r.txt").write_text("flask==1.0\n")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    result = invoke("r.in", "-o", "r.txt")
    assert result.exit_code == 2
    assert (
        base.without_summary(result.stderr)
        == "error: cannot write r.txt: No space left on device\n"
    )
    assert Path("r.txt").read_text() == "flask==1.0\n"
    assert sorted(os.listdir()) == ["cache", "r.in", "r.txt"]  # the cache: held in use


# --- the helper behind every whole-file write -----------------------------------------------


def test_write_atomic_keeps_the_mode_and_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")
    target.chmod(0o600)
    atomic.write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["f.txt"]


def test_write_atomic_new_file_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic.write_atomic(tmp_path / "n.txt", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "n.txt").stat().st_mode) == 0o640


def test_a_failure_inside_the_writer_removes_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic.atomic_writer(target) as out:
        out.write(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


@pytest.mark.parametrize("alias", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_file_descriptor_aliases_are_written_in_place(alias: str) -> None:
    assert atomic.writes_in_place(Path(alias))


def test_a_regular_file_is_not_written_in_place(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    os.symlink(tmp_path / "f", tmp_path / "link")
    assert not atomic.writes_in_place(tmp_path / "f")
    assert not atomic.writes_in_place(tmp_path / "link")
    assert not atomic.writes_in_place(tmp_path / "missing")
