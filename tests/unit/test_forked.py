"""xv.forked: jobs on forked workers, in an order, with failures and dead workers."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from xv import forked
from xv.errors import InstallError

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork")


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever threads the test runner keeps, these tests fork (their jobs touch no lock)."""
    monkeypatch.setattr(threading, "active_count", lambda: 1)


def test_start_map_answers_in_order_from_other_processes() -> None:
    found = forked.start_map(lambda n: (n * n, os.getpid()), list(range(20)), 3).results()
    assert [square for square, _ in found] == [n * n for n in range(20)]
    assert os.getpid() not in {pid for _, pid in found}
    assert len({pid for _, pid in found}) > 1  # shared out, not one worker's


def test_one_worker_or_a_second_thread_runs_the_jobs_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert {pid for pid in forked.start_map(lambda _: os.getpid(), [1, 2], 1).results()} == {
        os.getpid()
    }
    monkeypatch.setattr(threading, "active_count", lambda: 2)  # a lock might be held
    assert {pid for pid in forked.start_map(lambda _: os.getpid(), [1, 2, 3], 4).results()} == {
        os.getpid()
    }


def test_each_job_starts_after_those_it_follows(tmp_path: Path) -> None:
    """Job i follows i-1 and i-2 (odd ones) or nothing (even ones): each job records which
    jobs had finished when it started; the slow early jobs make a wrong order show."""
    after = {i: ([i - 1, i - 2] if i % 2 and i > 1 else []) for i in range(12)}

    def job(i: int) -> list[int]:
        seen = sorted(int(p.name) for p in tmp_path.iterdir())
        time.sleep(0.02 if i < 4 else 0)
        (tmp_path / str(i)).touch()
        return seen

    finished: list[int] = []
    seen_by: dict[int, list[int]] = {}

    def done(i: int, seen: list[int]) -> None:
        finished.append(i)
        seen_by[i] = seen

    forked.run_ordered(12, after.__getitem__, job, done, 3)
    assert sorted(finished) == list(range(12))
    for i, before in after.items():
        assert set(before) <= set(seen_by[i]), (i, seen_by[i])


def test_a_failure_stops_the_dispatch_and_is_raised_after_the_jobs_running(
    tmp_path: Path,
) -> None:
    def job(i: int) -> int:
        if i in (3, 5):
            raise InstallError(f"job {i} failed", f"pkg{i}")
        time.sleep(0.01)
        (tmp_path / str(i)).touch()
        return i

    done: list[int] = []
    with pytest.raises(InstallError, match="job 3 failed") as raised:
        forked.run_ordered(40, lambda i: (), job, lambda i, _: done.append(i), 2)
    assert raised.value.args[0] == "job 3 failed"  # the exception itself, unpickled
    assert len(done) < 38  # no job started after the failure was seen
    assert {int(p.name) for p in tmp_path.iterdir()} == set(done)


def test_a_worker_that_dies_fails_its_job_with_a_clear_error() -> None:
    def job(i: int) -> int:
        if i == 2:
            os._exit(9)  # as a SIGKILL or the OOM killer would
        return i

    with pytest.raises(InstallError, match="a worker process died"):
        forked.run_ordered(6, lambda i: (), job, lambda i, _: None, 2)


def test_an_answer_that_does_not_pickle_becomes_an_install_error() -> None:
    class Local(Exception):  # defined in a function: pickle cannot find it again
        pass

    def job(i: int) -> int:
        raise Local("no way back")

    with pytest.raises(InstallError, match="Local: no way back"):
        forked.run_ordered(2, lambda i: (), job, lambda i, _: None, 2)
    with pytest.raises(AttributeError, match="pickle"):  # a result: the pickling error
        forked.start_map(lambda _: lambda: None, [1, 2], 2).results()


def test_an_order_that_points_forward_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot come after"):
        forked.run_ordered(3, lambda i: [2] if i == 1 else [], lambda i: i, lambda i, _: None, 2)
