"""Work split over forked copies of this process: verifying cached trees and installing
wheels, where each job is thousands of small system calls with a little Python
around each.

Why processes, and why forked. Threads hold the interpreter lock through the Python
part of every file: two threads stat-ing the 43,000 files of a 325-pin lock took
longer than one (measured on 2 CPUs). Forked workers inherit what the parent has
computed (layouts, placements, the interpreter's paths) without pickling any of it,
and start in ~3 ms; a started (spawned) worker would import xv again and be sent
all of it.

Fork is used only where it is safe: POSIX ``os.fork``, and this process running one
thread (a lock another thread held at the fork would stay held in the child). Else,
and for work too small to pay for a fork, the jobs run here, in order, and nothing
else differs.

A worker runs the jobs the parent sends it (an index), one at a time, answering each
with its result or its exception (pickled); it ignores SIGINT (the parent decides,
and the job in hand is finished), leaves by ``os._exit`` (no handler or buffer of
the parent's runs twice), and ends when its command pipe closes. A worker that dies
in a job fails that job.
"""

from __future__ import annotations

import heapq
import os
import pickle
import signal
import struct
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from xv.errors import InstallError

T = TypeVar("T")
R = TypeVar("R")

_HEADER = struct.Struct("<Q")

#: Set (to anything) in tests: fork for any amount of work (and while a test counts file
#: operations, see :mod:`xv.install.killpoint`), so small syncs take the forked path.
ENV_TEST_FORK = "XV_TEST_FORK"


def usable(workers: int) -> bool:
    """Whether jobs may go to ``workers`` forked workers from here."""
    return workers > 1 and hasattr(os, "fork") and threading.active_count() == 1


def workers_for(big: bool) -> int:
    """How many workers for work that is ``big`` enough to fork for: one per CPU (1: no
    fork). A test's :data:`ENV_TEST_FORK` makes every work big, on at least 2."""
    from xv.pool import cpu_count

    if os.environ.get(ENV_TEST_FORK):
        return max(2, cpu_count())
    return cpu_count() if big else 1


class Pending(Generic[R]):
    """The answers of :func:`start_map`'s calls, collected by :meth:`results`: the
    caller works meanwhile."""

    def __init__(self, answer: Callable[[], list[R]], forked: bool) -> None:
        self._answer: Callable[[], list[R]] | None = answer
        self._results: list[R] = []
        self.forked = forked  # the calls run elsewhere (else: when the results are asked)

    def results(self) -> list[R]:
        """Every call's result, in item order; the first exception (in item order) raised."""
        if self._answer is not None:
            answer, self._answer = self._answer, None
            self._results = answer()
        return self._results


def start_map(fn: Callable[[T], R], items: Sequence[T], workers: int) -> Pending[R]:
    """``[fn(item) for item in items]``, the calls shared among forked workers when
    :func:`usable`: the items are dealt out at once (every ``workers``-th to each), which
    run while this process goes on; :meth:`Pending.results` raises the first exception (in
    item order), after every job ended. Without forking, the calls run when the results are
    asked for."""
    workers = min(workers, len(items))
    if not usable(workers):
        return Pending(lambda: [fn(item) for item in items], forked=False)
    started: list[tuple[int, int]] = []  # (pid, the pipe its answers come on)
    try:
        for first in range(workers):
            read, write = os.pipe()
            part = items[first::workers]
            closing = [read, *(earlier for _, earlier in started)]
            # The child runs the call before the loop goes on: nothing late-binds.
            pid = _fork(lambda: _write(write, _answers(fn, part)), closing)  # noqa: B023
            os.close(write)
            started.append((pid, read))
    except BaseException:  # a fork failed: those started end with their pipes' close
        for pid, read in started:
            os.close(read)
            os.waitpid(pid, 0)
        raise
    return Pending(lambda: _collect(started, len(items), workers), forked=True)


def _answers(fn: Callable[[T], R], items: Sequence[T]) -> bytes:  # pragma: no cover
    """A worker's answer: each call's ``(True, result)`` or ``(False, exception)``."""
    outcomes: list[tuple[bool, Any]] = []
    for item in items:
        try:
            outcomes.append((True, fn(item)))
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent
            outcomes.append(pickle.loads(_failure(exc)))
    try:
        return pickle.dumps(outcomes)
    except Exception as exc:  # a result that does not pickle: the error, for every call
        return pickle.dumps([pickle.loads(_failure(exc))] * len(items))


def _collect(started: list[tuple[int, int]], count: int, workers: int) -> list[Any]:
    """The workers' answers merged back into item order; every worker reaped."""
    results: list[Any] = [None] * count
    failures: list[tuple[int, BaseException]] = []
    for first, (pid, read) in enumerate(started):
        try:
            data = _read(read)
        finally:
            os.close(read)
            os.waitpid(pid, 0)
        if data is None:
            died = InstallError(f"a worker process died (jobs {first}::{workers})")
            failures.append((first, died))
            continue
        for offset, (ok, value) in enumerate(pickle.loads(data)):
            index = first + offset * workers
            if ok:
                results[index] = value
            else:
                failures.append((index, value))
    if failures:
        raise min(failures, key=lambda failure: failure[0])[1]
    return results


def run_ordered(
    count: int,
    after: Callable[[int], Iterable[int]],
    job: Callable[[int], R],
    done: Callable[[int, R], None],
    workers: int,
) -> None:
    """Run ``job(i)`` for every ``i < count``, each once the jobs ``after(i)`` names (all
    below ``i``) have finished, on forked workers when :func:`usable` (else here, in index
    order, which keeps every such constraint). ``done(i, result)`` runs here as each
    finishes. At the first failure no more jobs start; it is raised once those running
    have finished (the earliest failed index's, when several failed)."""
    workers = min(workers, count)
    if not usable(workers):
        for index in range(count):
            done(index, job(index))
        return
    waiting = [0] * count
    unblocks: list[list[int]] = [[] for _ in range(count)]
    for index in range(count):
        for before in set(after(index)):
            if not 0 <= before < index:
                raise ValueError(f"job {index} cannot come after job {before}")
            waiting[index] += 1
            unblocks[before].append(index)
    ready = [index for index in range(count) if not waiting[index]]
    pool: list[_Worker] = []
    failures: list[tuple[int, BaseException]] = []
    try:
        for _ in range(workers):
            pool.append(_Worker.start(job, pool))
        finished = 0
        while finished < count:
            for worker in pool:
                if worker.job is None and ready and not failures:
                    worker.send(heapq.heappop(ready))
            busy = [worker for worker in pool if worker.job is not None]
            if not busy:
                break  # a failure stopped the dispatch, and nothing is running
            for worker in _wait(busy):
                index, ok, value = worker.receive()
                finished += 1
                if not ok:
                    failures.append((index, value))
                    continue
                done(index, value)
                for later in unblocks[index]:
                    waiting[later] -= 1
                    if not waiting[later]:
                        heapq.heappush(ready, later)
    finally:
        for worker in pool:
            worker.stop()
    if failures:
        raise min(failures, key=lambda failure: failure[0])[1]


def _wait(busy: Sequence[_Worker]) -> list[_Worker]:
    import select

    readable, _, _ = select.select([worker.results for worker in busy], [], [])
    return [worker for worker in busy if worker.results in readable]


class _Worker:
    """One forked worker, as the parent sees it: its pid, its pipes, the job in hand."""

    def __init__(self, pid: int, commands: int, results: int) -> None:
        self.pid, self.commands, self.results = pid, commands, results
        self.job: int | None = None

    @classmethod
    def start(cls, job: Callable[[int], Any], siblings: list[_Worker]) -> _Worker:
        """Fork a worker; ``siblings``: those started before (the child closes their pipes)."""
        command_read, command_write = os.pipe()
        result_read, result_write = os.pipe()
        closing = [command_write, result_read]
        closing += [fd for sibling in siblings for fd in (sibling.commands, sibling.results)]
        pid = _fork(lambda: _serve(job, command_read, result_write), closing)
        os.close(command_read)
        os.close(result_write)
        return cls(pid, command_write, result_read)

    def send(self, index: int) -> None:
        self.job = index
        _write(self.commands, pickle.dumps(index))

    def receive(self) -> tuple[int, bool, Any]:
        index, self.job = self.job, None
        assert index is not None
        data = _read(self.results)
        if data is None:
            return index, False, InstallError(f"a worker process died (job {index})")
        try:
            ok, value = pickle.loads(data)
        except Exception as exc:  # a result or an exception that does not unpickle
            return index, False, InstallError(f"a worker's answer was unreadable: {exc}")
        return index, ok, value

    def stop(self) -> None:
        """Close the command pipe (the worker ends after its job) and reap the process."""
        for fd in (self.commands, self.results):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _fork(body: Callable[[], None], closing: Iterable[int]) -> int:
    """Fork a worker that runs ``body`` and leaves by ``os._exit`` (status 1 if it
    raised); it first ignores SIGINT and closes ``closing``: the parent's ends of its own
    pipes and of the workers started before it (else those never see their pipes close).
    The worker's pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child (its coverage is not collected)
        status = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            for fd in closing:
                os.close(fd)
            body()
            status = 0
        finally:
            os._exit(status)
    return pid


def _serve(job: Callable[[int], Any], commands: int, results: int) -> None:  # pragma: no cover
    while (data := _read(commands)) is not None:
        index = pickle.loads(data)
        try:
            answer = pickle.dumps((True, job(index)))
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent
            answer = _failure(exc)
        _write(results, answer)


def _failure(exc: BaseException) -> bytes:  # pragma: no cover - in the child
    """The pickled failure: the exception itself when it survives the trip back (an
    InstallError keeps its type and exit code), else an InstallError naming it."""
    try:
        answer = pickle.dumps((False, exc))
        pickle.loads(answer)
        return answer
    except Exception:
        return pickle.dumps((False, InstallError(f"{type(exc).__name__}: {exc}")))


def _write(fd: int, payload: bytes) -> None:
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def _read(fd: int) -> bytes | None:
    """One message, or None at the end of the pipe (a clean close, or a dead writer)."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    return _read_exactly(fd, _HEADER.unpack(header)[0])


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)
