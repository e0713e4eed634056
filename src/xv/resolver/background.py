"""Fetch jobs that run ahead of the solver on threads, the one it waits for first.

The solver is CPU work on one thread; fetching pages and metadata is waiting on the
network. So guesses of what the solver will ask next are queued here and fetched on
threads while it works, in the order given (lower priority first: the levels of the
dependency tree as met). When the solver needs an item it waits on that item alone,
and if the item is still queued it jumps the queue. Each wait that finds its item
not finished yet is a round trip on the critical path, counted in ``stalls``.

Jobs run in lanes, each with its own threads: fetches in the default lane, and work
bounded by something else (sdist builds, one per CPU) in a lane of its own, so it
neither starves the fetches nor runs more at once than its lane allows. All lanes
share one list of finished jobs and one wait.

Results and errors are kept as data; what an error means (a guess that failed is
retried when needed) is the caller's business.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

URGENT = -(1 << 30)
IDLE_SECONDS = 2.0  # a thread with nothing to do for this long exits


@dataclass(slots=True)
class _Job:
    """One queued call and, once run, its outcome.

    No event of its own: waiters wait on the fetcher's one condition, which every
    finished job notifies (an event, ~1.2 kB, was most of a job's memory, and a compile
    of 2,000 packages queues ~8,000 jobs)."""

    fn: Callable[[], Any] | None  # None once run: what the call held (a write's entry) is let go
    lane: str = ""
    state: str = "queued"  # queued -> running -> done, set under the fetcher's lock
    value: Any = None
    error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self.state == "done"


@dataclass
class _Lane:
    """A group of worker threads and the jobs waiting for them."""

    threads: int
    cond: threading.Condition  # its workers wait here for jobs
    started: int = 0
    heap: list[tuple[int, int, Hashable]] = field(default_factory=list)


class Fetcher:
    """Priority queues of keyed jobs, each lane served by up to its number of daemon
    threads (the default lane ``""`` by ``threads``).

    Daemon threads: a guess still in flight when the solver has finished must not
    keep the process alive; the jobs only read the index and write whole cache entries.
    """

    def __init__(self, threads: int) -> None:
        self._jobs: dict[Hashable, _Job] = {}
        self._seq = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)  # the default lane's workers
        self._lanes = {"": _Lane(threads, self._cond)}
        self._progress = threading.Condition(self._lock)  # waiters wait here for finished jobs
        self._finished: list[Hashable] = []
        self._closed = False
        self._done = 0  # jobs finished so far
        self.stalls = 0  # waits that found their job unfinished
        self.stall_seconds = 0.0  # time spent in those waits
        self.stalled: list[tuple[Hashable, float]] = []  # what was waited for, how long
        self.submitted = 0
        self.awaited: Hashable | None = None  # the key a wait() waits for now

    def add_lane(self, lane: str, threads: int) -> None:
        """A lane of its own for jobs submitted with ``lane=``, served by ``threads``."""
        with self._lock:
            self._lanes.setdefault(lane, _Lane(threads, threading.Condition(self._lock)))

    def submit(
        self, key: Hashable, fn: Callable[[], Any], priority: int = 0, lane: str = ""
    ) -> None:
        """Queue ``fn`` under ``key`` unless that key is known already."""
        with self._cond:
            if key in self._jobs or self._closed:
                return
            self._jobs[key] = _Job(fn, lane)
            self.submitted += 1
            self._push(priority, key, lane)

    def put(self, key: Hashable, value: Any) -> None:
        """Record ``value`` as the finished job of ``key`` (known at once, e.g. cached)."""
        with self._cond:
            if key in self._jobs:
                return
            self._jobs[key] = _Job(None, state="done", value=value)
            self._finished.append(key)
            self._done += 1

    def known(self, key: Hashable) -> bool:
        return key in self._jobs

    def wait(
        self, key: Hashable, idle: Callable[[], None] | None = None, counted: bool = True
    ) -> _Job:
        """The finished job of ``key`` (queued or running), moved to the front if queued.

        ``idle`` is called first, for jobs that finished since the waiter last looked,
        then whenever another job finishes meanwhile: the waiter can queue what follows
        from them instead of leaving the threads without work (without the first call, a
        job finished just before the wait would be seen only after the next one).
        ``counted``: a wait that finds its job unfinished counts as a stall.
        """
        job = self._jobs[key]
        if job.done:
            return job
        self.hurry(key)
        self.stalls += counted
        started = time.perf_counter()
        seen = self._done  # read before idle(): what finishes from here on wakes us
        self.awaited = key
        try:
            if idle is not None:
                idle()
            while not job.done:
                with self._cond:
                    while self._done == seen and not job.done:
                        self._progress.wait()
                    seen = self._done
                if idle is not None and not job.done:
                    idle()
        finally:
            self.awaited = None
        if counted:
            waited = time.perf_counter() - started
            self.stall_seconds += waited
            self.stalled.append((key, waited))
        return job

    def hurry(self, key: Hashable) -> None:
        """Move a queued job to the front (of its lane)."""
        with self._cond:
            job = self._jobs.get(key)
            if job is not None and job.state == "queued":
                self._push(URGENT, key, job.lane)

    def forget(self, key: Hashable) -> None:
        """Drop a finished job (its key may be submitted again)."""
        with self._cond:
            self._jobs.pop(key, None)

    def job(self, key: Hashable) -> _Job | None:
        """The job of ``key``, if it is known (not forgotten)."""
        return self._jobs.get(key)

    def settle(self, lane: str) -> None:
        """Drop the jobs still queued in ``lane`` (their keys may be submitted again) and
        wait for its running ones: nothing of that lane outlives this call."""
        with self._cond:
            if lane in self._lanes:
                self._lanes[lane].heap.clear()
            for key in [k for k, j in self._jobs.items() if j.lane == lane and j.state == "queued"]:
                del self._jobs[key]
            running = [j for j in self._jobs.values() if j.lane == lane and j.state == "running"]
            while not all(job.done for job in running):
                self._progress.wait()

    def take_finished(self) -> list[Hashable]:
        """Keys finished since the last call."""
        with self._cond:
            done, self._finished = self._finished, []
        return done

    def close(self) -> None:
        """Drop what is still queued; running jobs finish on their own."""
        with self._cond:
            self._closed = True
            for lane in self._lanes.values():
                lane.heap.clear()
                lane.cond.notify_all()

    def _push(self, priority: int, key: Hashable, lane_name: str) -> None:
        lane = self._lanes[lane_name]
        self._seq += 1
        heapq.heappush(lane.heap, (priority, self._seq, key))
        if lane.started < lane.threads:
            lane.started += 1
            name = f"xv-fetch{lane_name and '-' + lane_name}"
            threading.Thread(target=self._serve, args=(lane,), name=name, daemon=True).start()
        lane.cond.notify()

    def _next(self, lane: _Lane) -> tuple[Hashable, _Job] | None:
        with self._cond:
            while True:
                while lane.heap:
                    _, _, key = heapq.heappop(lane.heap)
                    job = self._jobs.get(key)
                    if job is not None and job.state == "queued":
                        job.state = "running"
                        return key, job
                if self._closed or not lane.cond.wait(IDLE_SECONDS) and not lane.heap:
                    lane.started -= 1
                    return None

    def _serve(self, lane: _Lane) -> None:
        while (item := self._next(lane)) is not None:
            key, job = item
            fn, job.fn = job.fn, None
            assert fn is not None, "a queued job has its call"
            try:
                job.value = fn()
            except BaseException as exc:  # kept as data: the waiter decides
                job.error = exc
            del fn  # before the waiter can see the job done
            with self._cond:  # finished and listed at once, as take_finished sees it
                job.state = "done"
                self._finished.append(key)
                self._done += 1
                self._progress.notify_all()
