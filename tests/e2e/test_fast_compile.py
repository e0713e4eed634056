"""The fast path for a normal ``xv-compile`` (xv.fast): a run that wrote its output, with
or without the network, is replayed by the next identical invocation (the output written
again, byte for byte, the same text printed) while every page it used is fresh and nothing
it read or wrote in the cache has changed; any doubt gives the normal run."""

from __future__ import annotations

import json
import os
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
    assert (fast.stdout, without_elapsed(fast.stderr)) == (cold.stdout, without_elapsed(cold.stderr))
    OUT.unlink()
    slow = compile_(idx, tmp_path, XV_NO_FAST="1")
    assert not slow.fast and slow.code == 0
    assert OUT.read_bytes() == replayed
    assert (slow.stdout, without_elapsed(slow.stderr)) == (fast.stdout, without_elapsed(fast.stderr))

