"""glibc's mmap threshold, fixed once a run makes requests: big freed blocks leave the process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from xv import allocator

glibc_only = pytest.mark.skipif(not allocator._is_glibc(), reason="mallopt is glibc's")

# Frees 20 MB of 400 kB blocks, each followed by a block that stays: with glibc's moving
# threshold (raised to 8 MB by the first free) they are carved from the heap and the holes
# stay in the process; with the threshold fixed each is a mapping of its own, unmapped.
_PROBE = """
import sys
from xv.allocator import fix_mmap_threshold
def rss_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
if sys.argv[1] == "fixed":
    assert fix_mmap_threshold()
big = bytearray(8 << 20)
del big
blocks, kept = [], []
for _ in range(50):
    blocks.append(bytearray(400_000))
    kept.append(bytearray(2000))
before = rss_kb()
del blocks
print(before - rss_kb())
"""


def _freed_kb(mode: str) -> int:
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(run.stdout)


@glibc_only
def test_big_blocks_go_back_to_the_system_when_freed() -> None:
    assert _freed_kb("fixed") > 15_000
    assert _freed_kb("moving") < 5_000  # what the fix is for (glibc's default)


def test_it_is_set_once_and_says_whether_it_is() -> None:
    first = allocator.fix_mmap_threshold()
    assert allocator.fix_mmap_threshold() is first
    assert first is allocator._is_glibc()


# Six threads allocate at once (each a block glibc serves from an arena) while the main
# thread prints glibc's per-arena statistics: one arena per thread unless capped.
_ARENAS = """
import ctypes, sys, threading
from xv.allocator import fix_mmap_threshold
if sys.argv[1] == "fixed":
    assert fix_mmap_threshold()
barrier, kept = threading.Barrier(7), []
def work():
    kept.append(bytearray(100_000))
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
for thread in threads:
    thread.start()
barrier.wait()
ctypes.CDLL(None).malloc_stats()
for thread in threads:
    thread.join()
"""


def _arenas(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}  # glibc's own
    run = subprocess.run(
        [sys.executable, "-c", _ARENAS, mode], capture_output=True, text=True, check=True, env=env
    )
    return sum(line.startswith("Arena ") for line in run.stderr.splitlines())


@glibc_only
def test_threads_share_a_few_arenas() -> None:
    assert _arenas("fixed") == allocator.ARENA_MAX
    assert _arenas("moving") == 7  # glibc's default: the main one and one per thread
