"""The worker pool: order, failures, dying workers, lazy start, configuration."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xv.errors import UsageError
from xv.pool import JobResult, WorkerPool, default_workers, workers_from_env

KINDS = ["process", "thread", "serial"]


# Jobs are top-level functions so that worker processes can import them.
def square(x: int) -> int:
    time.sleep(0.001 * (x % 3))  # finish out of order
    return x * x


def fail_on_odd(x: int) -> int:
    if x % 2:
        raise ValueError(f"odd {x}")
    return x


def die_on(x: int, victim: int) -> int:
    if x == victim:
        os._exit(3)
    time.sleep(0.02)
    return x


def pid_of(_: int) -> int:
    return os.getpid()


def add(a: int, b: int, c: int = 0) -> int:
    return a + b + c


def raise_bare() -> None:
    raise KeyError


@pytest.mark.parametrize("kind", KINDS)
def test_map_preserves_order(kind: str) -> None:
    with WorkerPool(2, kind=kind) as pool:  # type: ignore[arg-type]
        results = pool.map(square, [(i,) for i in range(20)])
    assert results == [JobResult(True, i * i) for i in range(20)]


@pytest.mark.parametrize("kind", KINDS)
def test_exceptions_fail_only_their_item(kind: str) -> None:
    with WorkerPool(2, kind=kind) as pool:  # type: ignore[arg-type]
        results = pool.map(fail_on_odd, [(i,) for i in range(6)])
    assert [r.ok for r in results] == [True, False] * 3
    assert results[1].error == "ValueError: odd 1"
    assert isinstance(results[3].exception, ValueError)
    assert results[4].value == 4


def test_exception_without_message() -> None:
    with WorkerPool(1, kind="serial") as pool:
        assert pool.map(raise_bare, [()])[0].error == "KeyError"


@pytest.mark.parametrize("kind", KINDS)
def test_on_result_sees_every_item_once(kind: str) -> None:
    seen: list[tuple[int, object]] = []
    with WorkerPool(3, kind=kind) as pool:  # type: ignore[arg-type]
        pool.map(add, [(i, 1) for i in range(10)], on_result=lambda i, r: seen.append((i, r.value)))
    assert sorted(seen) == [(i, i + 1) for i in range(10)]


def test_a_dying_worker_fails_only_its_job_and_the_pool_recovers() -> None:
    with WorkerPool(2, kind="process") as pool:
        results = pool.map(die_on, [(i, 3) for i in range(8)])
        assert [r.ok for r in results] == [True, True, True, False, True, True, True, True]
        assert results[3].error is not None and "BrokenProcessPool" in results[3].error
        assert [r.value for r in results if r.ok] == [0, 1, 2, 4, 5, 6, 7]
        # The pool works again for the next call.
        assert pool.map(square, [(2,), (3,)]) == [JobResult(True, 4), JobResult(True, 9)]


@pytest.mark.parametrize("kind", KINDS)
def test_submitted_jobs_come_back_in_order_with_their_failures(kind: str) -> None:
    with WorkerPool(2, kind=kind) as pool:  # type: ignore[arg-type]
        submitted = [(pool.submit(fail_on_odd, i), (i,)) for i in range(6)]
        results = pool.outcomes(fail_on_odd, submitted)
    assert [r.value for r in results] == [0, None, 2, None, 4, None]
    assert results[1].error == "ValueError: odd 1"


def test_a_submitted_job_that_kills_its_worker_fails_alone() -> None:
    with WorkerPool(2, kind="process") as pool:
        submitted = [(pool.submit(die_on, i, 3), (i, 3)) for i in range(6)]
        results = pool.outcomes(die_on, submitted)
        assert [r.ok for r in results] == [True, True, True, False, True, True]
        assert results[3].error is not None and "BrokenProcessPool" in results[3].error
        assert pool.submit(square, 3).result() == 9  # a fresh executor for what follows


def test_lazy_start() -> None:
    pool = WorkerPool(2, kind="process")
    assert pool.started is False
    assert pool.map(square, []) == []
    assert pool.started is False
    pool.close()  # closing an unstarted pool is fine
    with pool:
        assert pool.map(square, [(3,)]) == [JobResult(True, 9)]
        assert pool.started is True


def test_warm_starts_a_process_pools_workers_before_any_job() -> None:
    """warm() spawns the worker processes (no job of the caller's runs); the jobs that
    follow run on those same processes. A thread pool starts nothing."""
    import multiprocessing

    with WorkerPool(2, kind="process") as pool:
        before = {p.pid for p in multiprocessing.active_children()}
        pool.warm(pid_of)
        deadline = time.monotonic() + 10
        while True:
            started = {p.pid for p in multiprocessing.active_children()} - before
            if len(started) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert len(started) == 2 and pool.started
        pids = {r.value for r in pool.map(pid_of, [(i,) for i in range(6)])}
        assert pids <= started
    with WorkerPool(2, kind="thread") as threads:
        threads.warm(pid_of)
        assert threads.started is False


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_the_fork_server_started_early_ignores_ctrl_c_from_its_start() -> None:
    """start_server() spawns the fork server with SIGINT ignored, inherited through exec:
    a Ctrl-C to the process group while it still imports is not its traceback (in a
    process of its own: the server is process-wide)."""
    code = (
        "import multiprocessing.forkserver as fs\n"
        "from xv.pool import WorkerPool\n"
        "pool = WorkerPool(2, kind='process', start_method='forkserver')\n"
        "pool.start_server(int)\n"
        "status = open(f'/proc/{fs._forkserver._forkserver_pid}/status').read()\n"
        "ignored = [line for line in status.splitlines() if line.startswith('SigIgn:')][0]\n"
        "print(int(ignored.split()[1], 16) >> (2 - 1) & 1)\n"  # SIGINT is signal 2
        "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "True"]  # the server ignores it; this process does not


def test_serial_never_starts_anything() -> None:
    with WorkerPool(4, kind="serial") as pool:
        assert pool.map(pid_of, [(0,)])[0].value == os.getpid()
        assert pool.started is False


def test_process_jobs_run_in_other_processes() -> None:
    with WorkerPool(2, kind="process") as pool:
        pids = {r.value for r in pool.map(pid_of, [(i,) for i in range(4)])}
    assert os.getpid() not in pids


def test_unpicklable_argument_fails_its_item() -> None:
    with WorkerPool(1, kind="process") as pool:
        results = pool.map(add, [(1, 2), (lambda: 0, 1)])
    assert results[0] == JobResult(True, 3)
    assert not results[1].ok and results[1].error is not None


def test_workers_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XV_WORKERS", raising=False)
    assert workers_from_env() is None
    assert WorkerPool(kind="serial").workers == default_workers("io")
    assert WorkerPool(kind="serial", work="cpu").workers == default_workers("cpu")
    monkeypatch.setenv("XV_WORKERS", "3")
    assert WorkerPool(kind="serial").workers == 3
    assert WorkerPool(5, kind="serial").workers == 5  # an explicit argument wins
    for bad in ["0", "-1", "many", "2.5"]:
        monkeypatch.setenv("XV_WORKERS", bad)
        with pytest.raises(UsageError, match="XV_WORKERS"):
            WorkerPool(kind="serial")


def test_pool_kind_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XV_POOL", "thread")
    assert WorkerPool(1).kind == "thread"
    monkeypatch.setenv("XV_POOL", "fibers")
    with pytest.raises(UsageError, match="XV_POOL"):
        WorkerPool(1)


def test_default_workers_bounds() -> None:
    assert 4 <= default_workers("io") <= 16
    assert 1 <= default_workers("cpu") <= (os.cpu_count() or 1)


def test_invalid_worker_count() -> None:
    with pytest.raises(UsageError):
        WorkerPool(0, kind="serial")


def test_thread_map_keeps_order_and_raises_the_first_failure_in_order() -> None:
    from xv.pool import thread_map

    assert thread_map(lambda x: x * 2, list(range(20)), 4) == [x * 2 for x in range(20)]
    assert thread_map(lambda x: x, [], 4) == []

    def fail_on_odd(x: int) -> int:
        if x % 2:
            raise ValueError(x)
        return x

    with pytest.raises(ValueError, match="^1$"):
        thread_map(fail_on_odd, list(range(10)), 3)


def test_importing_it_leaves_concurrent_futures_unloaded() -> None:
    # A cold compile imports xv.pool (and xv.index.client) but makes no pool.
    probe = "import sys, xv.pool, xv.index.client; print('concurrent.futures' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
