"""The worker pool: plain top-level jobs on processes, threads, or inline.

A :class:`WorkerPool` starts nothing until the first non-empty :meth:`WorkerPool.map`,
so a run that the cache answers completely never pays for a process. Jobs are
top-level functions taking and returning plain, picklable data; an exception in a
job becomes a failed :class:`JobResult` for that item only.

Start method. On Linux, ``fork`` is the cheapest but copies whatever the parent
holds at that moment, including locks held by other threads (the HTTP
connection pool, logging, a progress thread), which can deadlock the child; it is
deprecated for threaded parents since Python 3.12 and no longer the default in
3.14. ``spawn`` is safe but re-imports everything in every worker. We use
``forkserver`` where available (Linux, macOS): a clean single-threaded server
process is started once, imports the job's module once (we add it to the
preload list before the server starts), and forks each worker from there.
``spawn`` is the fallback (Windows). ``XV_START_METHOD`` overrides.

Dead workers. If a worker process dies (``os._exit``, a segfault, the OOM
killer), :class:`concurrent.futures.ProcessPoolExecutor` fails every job in
flight with ``BrokenProcessPool`` and becomes unusable. The pool then throws the
executor away and re-runs those jobs one at a time on a fresh one, so the job
that kills its worker is pinned down: it fails with a clear error, the others
succeed, and later calls use a new executor. Nothing waits forever on a dead
process.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from xv.errors import UsageError
from xv.records import slotted_record

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future
    from concurrent.futures.process import BrokenProcessPool

# concurrent.futures (15 modules, ~0.9 MB resident) is imported where a pool first runs
# jobs: a cold compile imports this module (thread_map, cpu_count) but makes no pool.

PoolKind = Literal["process", "thread", "serial"]
WorkKind = Literal["io", "cpu"]

ENV_WORKERS = "XV_WORKERS"
ENV_POOL_KIND = "XV_POOL"
ENV_START_METHOD = "XV_START_METHOD"
_KINDS: tuple[PoolKind, ...] = ("process", "thread", "serial")
_DIED = (
    "BrokenProcessPool: the worker process running this job died "
    "(killed, crashed, or exited without returning)"
)


@slotted_record
class JobResult:
    """The outcome of one job: ``value`` when ``ok``, else ``error`` as one line.

    ``exception`` is the exception object the job raised, when it survived the
    trip back from the worker, so callers may re-raise typed errors.
    """

    ok: bool
    value: Any = None
    error: str | None = None
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @classmethod
    def success(cls, value: Any) -> JobResult:
        return cls(True, value)

    @classmethod
    def failure(cls, exc: BaseException) -> JobResult:
        message = str(exc)
        text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        return cls(False, None, text, exc)


def cpu_count() -> int:
    """CPUs this process may run on (affinity-aware where the OS says)."""
    process_cpu_count = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if process_cpu_count is not None:
        count: int | None = process_cpu_count()
    elif hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    else:
        count = os.cpu_count()
    return max(1, count or 1)


def default_workers(work: WorkKind = "io") -> int:
    """How many workers suit a kind of work on this machine.

    ``"cpu"`` (unpacking, building): one per CPU, more only adds contention.
    ``"io"`` (metadata fetches, downloads): jobs mostly wait on the network, so
    twice the CPUs, at least 4 so a small machine still overlaps latency, and at
    most 16 because each worker process costs tens of MB and its own connections.

    >>> 1 <= default_workers("cpu") <= default_workers("io") <= 16
    True
    """
    cpus = cpu_count()
    if work == "cpu":
        return cpus
    return min(16, max(4, 2 * cpus))


def workers_from_env() -> int | None:
    """``XV_WORKERS`` as a positive int, None when unset; UsageError when malformed."""
    raw = os.environ.get(ENV_WORKERS, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"{ENV_WORKERS} must be a positive integer, not {raw!r}")
    return int(raw)


def kind_from_env() -> PoolKind:
    """``XV_POOL`` (default ``process``); UsageError when it names no pool kind."""
    raw = os.environ.get(ENV_POOL_KIND, "").strip() or "process"
    for kind in _KINDS:
        if raw == kind:
            return kind
    raise UsageError(f"{ENV_POOL_KIND} must be one of {', '.join(_KINDS)}, not {raw!r}")


T = TypeVar("T")
R = TypeVar("R")


def thread_map(fn: Callable[[T], R], items: Sequence[T], threads: int) -> list[R]:
    """``[fn(x) for x in items]`` on up to ``threads`` threads; like ``executor.map``, the
    first failing item in order raises its exception once every item has run.

    Unlike ``with ThreadPoolExecutor()``, Ctrl-C here returns at once: the items not started
    are dropped, and the threads are daemons, so a request still in flight does not hold
    the process's exit until it times out (its result is not wanted; files are written
    atomically, so one cut short leaves nothing half written).
    """
    results: list[Any] = [None] * len(items)
    failures: dict[int, BaseException] = {}
    pending = iter(range(len(items)))
    lock = threading.Lock()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            with lock:
                index = next(pending, None)
            if index is None:
                return
            try:
                results[index] = fn(items[index])
            except BaseException as exc:  # handed to the caller below
                failures[index] = exc

    workers = [
        threading.Thread(target=work, name="xv-thread-map", daemon=True)
        for _ in range(max(1, min(threads, len(items))))
    ]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            worker.join()
    except BaseException:
        stop.set()
        raise
    if failures:
        raise failures[min(failures)]
    return results


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C reaches every process of the terminal's process group;
    only the parent acts on it (and stops the workers), so a worker never prints a
    traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# What a process learnt that its workers should not learn again (the keyring's passwords):
# a module registers a top-level ``restore`` function with the values to hand on, and every
# job sent to a worker process carries them, in memory through the pool's pipe, never a file.
_HANDED_ON: dict[Callable[[Any], None], Callable[[], Any]] = {}


def hand_on(restore: Callable[[Any], None], snapshot: Callable[[], Any]) -> None:
    """Before each job in a worker process, call ``restore(snapshot())`` (``snapshot`` is
    taken in this process when the job is sent; a falsy one is not sent)."""
    _HANDED_ON[restore] = snapshot


def _handed_on() -> list[tuple[Callable[[Any], None], Any]]:
    return [(restore, value) for restore, snapshot in _HANDED_ON.items() if (value := snapshot())]


def _restored_call(
    handed: list[tuple[Callable[[Any], None], Any]], fn: Callable[..., Any], *args: Any
) -> Any:
    """Worker side of :func:`hand_on`: restore what the parent knew, then run the job."""
    for restore, value in handed:
        restore(value)
    return fn(*args)


def _call(fn: Callable[..., Any], args: Sequence[Any]) -> JobResult:
    try:
        return JobResult.success(fn(*args))
    except Exception as exc:
        return JobResult.failure(exc)


Report = Callable[[int, JobResult], None]


class WorkerPool:
    """Run a top-level function over many argument tuples, in order, on workers.

    ``workers`` defaults to ``XV_WORKERS``, else :func:`default_workers` of
    ``work``; ``kind`` defaults to ``XV_POOL``, else ``"process"``. Not thread-safe:
    use a pool from one thread. Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        kind: PoolKind | None = None,
        work: WorkKind = "io",
        start_method: str | None = None,
        preload: Sequence[str] = (),
        preload_main: bool = True,
    ) -> None:
        if workers is None:
            workers = workers_from_env() or default_workers(work)
        if workers < 1:
            raise UsageError(f"the number of workers must be at least 1, not {workers}")
        self.workers = workers
        self.kind: PoolKind = kind or kind_from_env()
        if self.kind not in _KINDS:
            raise UsageError(f"unknown pool kind {self.kind!r}")
        # multiprocessing loads with the first process started, not with every pool (a warm
        # compile starts none): the start method is settled then too.
        self._start_method = start_method or os.environ.get(ENV_START_METHOD)
        self.preload = tuple(preload)
        # Whether the forkserver imports ``__main__`` (for xv's commands: all of xv and
        # click, tens of MB in every worker) besides ``preload`` and the job's module.
        self.preload_main = preload_main
        self.started = False  # whether any worker (process or thread) was ever started
        self._executor: Executor | None = None
        self._making = threading.Lock()  # one executor, when warm() races a first submit

    @property
    def start_method(self) -> str:
        if self._start_method is None:
            self._start_method = _best_method()
        return self._start_method

    def map(
        self,
        fn: Callable[..., Any],
        args: Iterable[Sequence[Any]],
        *,
        on_result: Report | None = None,
    ) -> list[JobResult]:
        """``fn(*a)`` for each ``a`` in ``args``; results in the order of ``args``.

        ``on_result(index, result)`` is called in this thread as each job
        finishes (in completion order), e.g. to report progress.
        """
        jobs = [tuple(a) for a in args]
        results: list[JobResult] = [JobResult(False, None, "not run")] * len(jobs)

        def report(index: int, result: JobResult) -> None:
            results[index] = result
            if on_result is not None:
                on_result(index, result)

        if not jobs:
            return []
        if self.kind == "serial":
            for index, job in enumerate(jobs):
                report(index, _call(fn, job))
            return results
        broken = self._run_batch(fn, list(enumerate(jobs)), report)
        for index in broken:  # one at a time, so only the culprit fails
            if self._run_batch(fn, [(index, jobs[index])], report):
                report(index, JobResult(False, None, _DIED, _broken()(_DIED)))
        return results

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Start ``fn(*args)`` now and return its future, for a pipeline that feeds jobs as
        they appear (``map`` needs them all at once). Collect with :meth:`outcomes`, which
        runs again the jobs whose worker died. A serial pool runs the job here."""
        from concurrent.futures import Future

        future: Future[Any]
        if self.kind == "serial":
            future = Future()
            try:
                future.set_result(fn(*args))
            except Exception as exc:
                future.set_exception(exc)
            return future
        executor = self._ensure_executor(fn)
        handed = _handed_on() if self.kind == "process" else []
        if handed:
            fn, args = _restored_call, (handed, fn, *args)
        broken_type = _broken() if self.kind == "process" else _NeverRaised
        try:
            return executor.submit(fn, *args)
        except broken_type as exc:
            future = Future()
            future.set_exception(exc)
            return future

    def outcomes(
        self, fn: Callable[..., Any], submitted: Sequence[tuple[Future[Any], Sequence[Any]]]
    ) -> list[JobResult]:
        """The results of jobs :meth:`submit` started (``(future, args)`` pairs), in order,
        once all are done; those whose worker died run again as :meth:`map` runs them."""
        broken_type = _broken() if self.kind == "process" else _NeverRaised
        results: list[JobResult] = []
        broken: list[int] = []
        for index, (future, _) in enumerate(submitted):
            exc = future.exception()
            if isinstance(exc, broken_type):
                broken.append(index)
            results.append(JobResult.failure(exc) if exc else JobResult.success(future.result()))
        if broken:
            self._discard_executor()
            again = self.map(fn, [submitted[i][1] for i in broken])
            for index, result in zip(broken, again, strict=True):
                results[index] = result
        return results

    def _run_batch(
        self, fn: Callable[..., Any], jobs: list[tuple[int, tuple[Any, ...]]], report: Report
    ) -> list[int]:
        """Run ``jobs``; report each outcome except broken-pool ones, whose indexes it returns."""
        from concurrent.futures import as_completed

        executor = self._ensure_executor(fn)
        # Only a process executor breaks; a thread one leaves multiprocessing unloaded.
        broken_type = _broken() if self.kind == "process" else _NeverRaised
        futures: dict[Future[Any], int] = {}
        broken: list[int] = []
        handed = _handed_on() if self.kind == "process" else []
        if handed:  # threads share this process's memory already
            fn, jobs = _restored_call, [(i, (handed, fn, *job)) for i, job in jobs]
        try:
            for index, job in jobs:
                try:
                    futures[executor.submit(fn, *job)] = index
                except broken_type:
                    broken.append(index)
            for future in as_completed(futures):
                index = futures[future]
                exc = future.exception()
                if isinstance(exc, broken_type):
                    broken.append(index)
                elif exc is not None:
                    report(index, JobResult.failure(exc))
                else:
                    report(index, JobResult.success(future.result()))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        if broken:
            self._discard_executor()
        return sorted(broken)

    def warm(self, fn: Callable[..., Any]) -> None:
        """Start the worker processes that ``fn``'s jobs will run on, before the first job:
        a process pool spawns its workers at its first submits, each through the fork
        server, which first starts and imports ``fn``'s module (~0.3 s from a cold sync's
        first downloaded wheel to its first unpack). For a caller that knows jobs are
        coming, on a thread of its own while it gets the first one ready. Threads start
        fast: a thread pool does nothing here."""
        if self.kind != "process":
            return
        executor = self._ensure_executor(fn)
        broken_type = _broken()
        for _ in range(self.workers):
            try:
                executor.submit(int)  # a job with nothing to import: int() is 0
            except (broken_type, RuntimeError):  # broken, or shut down meanwhile: submit says
                return

    def start_server(self, fn: Callable[..., Any]) -> None:
        """Start a process pool's fork server now (without waiting for it), with SIGINT
        ignored: the server, and every worker it forks, then ignores it from its first
        instruction on (a terminal's Ctrl-C reaches the whole process group, and the
        server printed a traceback when it came while the server was still importing).
        From the main thread only, where handlers are set; elsewhere a no-op, as for a
        thread pool or another start method."""
        if self.kind != "process" or self.start_method != "forkserver":
            return
        if threading.current_thread() is not threading.main_thread():
            return
        self._ensure_executor(fn)  # sets what the server imports first
        from multiprocessing import forkserver

        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited through exec
        try:
            forkserver.ensure_running()
        finally:
            signal.signal(signal.SIGINT, previous)

    def _ensure_executor(self, fn: Callable[..., Any]) -> Executor:
        if self._executor is not None:
            return self._executor
        with self._making:
            return self._make_executor(fn)

    def _make_executor(self, fn: Callable[..., Any]) -> Executor:
        if self._executor is None:
            if self.kind == "thread":
                from concurrent.futures import ThreadPoolExecutor

                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="xv-worker")
            else:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                context = multiprocessing.get_context(self.start_method)
                if self.start_method == "forkserver":
                    # Only effective before the (process-wide) server starts.
                    main = ["__main__"] if self.preload_main else []
                    modules = {*main, *self.preload, getattr(fn, "__module__", "__main__")}
                    context.set_forkserver_preload(sorted(modules))
                self._executor = ProcessPoolExecutor(
                    self.workers, mp_context=context, initializer=_ignore_sigint
                )
            self.started = True
        return self._executor

    def _discard_executor(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _stop_now(self) -> None:
        """After Ctrl-C: drop the queued jobs and end the worker processes (they ignore
        SIGINT, see :func:`_ignore_sigint`) instead of letting them finish their requests."""
        executor = self._executor
        self._discard_executor()
        if executor is not None and self.kind != "thread":
            import multiprocessing

            terminate = getattr(executor, "terminate_workers", None)  # Python 3.14+
            if terminate is not None:
                terminate()
            else:
                for child in multiprocessing.active_children():
                    child.terminate()

    def close(self) -> None:
        """Stop the workers (waiting for running jobs). A later :meth:`map` starts new ones."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        elif issubclass(exc_type, KeyboardInterrupt):
            self._stop_now()
        else:  # failing: the results are not wanted, so do not wait for them
            self._discard_executor()

    def __repr__(self) -> str:
        return f"WorkerPool(workers={self.workers}, kind={self.kind!r}, started={self.started})"


def _broken() -> type[BrokenProcessPool]:
    from concurrent.futures.process import BrokenProcessPool

    return BrokenProcessPool


class _NeverRaised(Exception):
    """What a thread executor's failures are checked against instead of a broken pool."""


def _best_method() -> str:
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"
