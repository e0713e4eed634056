"""Fetching ahead of the solver: the queue's order, errors as data, guesses level by level."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import MakeIndex
from tests.support.localindex import Pkg
from xv.cache import Cache
from xv.env.target import make_target
from xv.index.client import IndexClient, IndexSettings
from xv.index.metadata import CoreMetadata
from xv.index.simple import DistFile, ProjectPage
from xv.pool import WorkerPool
from xv.resolver import provider as prov
from xv.resolver.background import Fetcher
from xv.resolver.candidates import Candidate
from xv.resolver.index_source import IndexSource
from xv.resolver.pubgrub import Unavailable
from xv.resolver.resolve import run
from xv.resolver.result import Parent


def test_a_job_waited_for_jumps_the_queue() -> None:
    fetcher = Fetcher(threads=1)
    gate = threading.Event()
    order: list[str] = []
    fetcher.submit("first", gate.wait)  # holds the only thread
    for key in ("a", "b", "c"):
        fetcher.submit(key, partial(order.append, key))
    fetcher.hurry("c")
    gate.set()
    for key in ("a", "b"):
        fetcher.wait(key)
    assert order == ["c", "a", "b"]
    fetcher.close()


def test_lower_priority_first_and_errors_are_data() -> None:
    fetcher = Fetcher(threads=1)
    gate = threading.Event()
    order: list[str] = []
    fetcher.submit("first", gate.wait)

    ran = threading.Event()

    def fail() -> None:
        order.append("deep")
        ran.set()
        raise OSError("reset")

    fetcher.submit("deep", fail, priority=2)
    fetcher.submit("near", lambda: order.append("near"), priority=0)
    gate.set()
    ran.wait()  # not fetcher.wait("deep"), which would move it to the front
    assert isinstance(fetcher.wait("deep").error, OSError)
    assert order == ["near", "deep"]
    assert set(fetcher.take_finished()) == {"first", "near", "deep"}
    fetcher.forget("deep")  # a failed guess may be queued again
    fetcher.submit("deep", lambda: "ok")
    assert fetcher.wait("deep").value == "ok"
    fetcher.close()


def test_a_wait_first_takes_in_what_finished_before_it() -> None:
    # A job that finished after the waiter last looked, but before its wait began, is
    # taken in at once: the wait does not sleep until some later job finishes.
    fetcher = Fetcher(threads=2)
    fetcher.submit("early", lambda: "page")
    fetcher.wait("early", counted=False)  # finished, not taken
    gate = threading.Event()
    taken: list[object] = []

    def idle() -> None:
        taken.extend(fetcher.take_finished())
        if "early" in taken:
            gate.set()  # what the waiter queues from it lets the awaited job finish

    fetcher.submit("late", lambda: gate.wait(10))
    assert fetcher.wait("late", idle).value is True
    fetcher.close()


class ChainSource(prov.MetadataSource):
    """a -> b -> c -> d in memory; guesses "arrive" at once; records what was asked unguessed."""

    REQS = {"a": ("b",), "b": ("c>=1",), "c": ("d",), "d": ()}

    def __init__(self) -> None:
        self.guessed: set[str] = set()
        self.arrived: tuple[list[str], list[str]] = ([], [])
        self.unguessed: list[str] = []

    def pages(self, names: Iterable[str]) -> dict[str, ProjectPage | None]:
        out: dict[str, ProjectPage | None] = {}
        for name in names:
            self._asked(name)
            url = f"https://x/{name}-1.0-py3-none-any.whl"
            files = (DistFile(f"{name}-1.0-py3-none-any.whl", url),)
            out[name] = ProjectPage(name, files, "https://x/")
        return out

    def metadata(self, cands: Sequence[Candidate]) -> dict[str, CoreMetadata | Unavailable]:
        out: dict[str, CoreMetadata | Unavailable] = {}
        for c in cands:
            assert c.metadata_file is not None
            self._asked(c.metadata_file.url)
            name = c.metadata_file.filename.split("-")[0]
            out[c.metadata_file.url] = CoreMetadata(name, "1.0", self.REQS[name], None, ())
        return out

    def prefetch_pages(self, names: Iterable[str], priority: int = 0) -> None:
        for name in names:
            self.guessed.add(name)
            self.arrived[0].append(name)

    def prefetch_metadata(self, cands: Iterable[Candidate], priority: int = 0) -> None:
        for c in cands:
            assert c.metadata_file is not None
            self.guessed.add(c.metadata_file.url)
            self.arrived[1].append(c.metadata_file.url)

    def finished(self) -> tuple[list[str], list[str]]:
        done, self.arrived = self.arrived, ([], [])
        return done

    def _asked(self, key: str) -> None:
        if key not in self.guessed:
            self.unguessed.append(key)


def test_every_page_and_metadata_the_solver_needs_was_guessed_first() -> None:
    source = ChainSource()
    inputs = prov.ResolverInputs(
        [prov.InputRequirement(Requirement("a"), Parent("requirement", "-"))]
    )
    provider = prov.PythonProvider(inputs, prov.ResolverSettings(), make_target(), source)
    assert {d.name for d in run(provider).dists} == {"a", "b", "c", "d"}
    assert source.unguessed == []
    assert {g for g in source.guessed if "/" not in g} == {"a", "b", "c", "d"}


def _resolve_through_index(idx_url: str, cache_dir: Path, reqs: list[str]) -> IndexSource:
    client = IndexClient(IndexSettings(index_url=idx_url, timeout=5.0), Cache(cache_dir))
    source = IndexSource(client, WorkerPool(kind="serial"))
    inputs = prov.ResolverInputs(
        [prov.InputRequirement(Requirement(r), Parent("requirement", "-")) for r in reqs]
    )
    provider = prov.PythonProvider(inputs, prov.ResolverSettings(), make_target(), source)
    assert {d.name for d in run(provider).dists} == {"a", "b", "c"}
    return source


def test_a_warm_cache_is_read_directly_without_threads(
    make_index: MakeIndex, tmp_path: Path
) -> None:
    idx = make_index([Pkg("a", "1.0", deps=["b"]), Pkg("b", "1.0", deps=["c"]), Pkg("c", "1.0")])
    cold = _resolve_through_index(idx.url, tmp_path, ["a"])
    assert cold.fetcher.submitted > 0  # pages and metadata fetched ahead on threads
    asked = len(idx.requests)
    warm = _resolve_through_index(idx.url, tmp_path, ["a"])
    assert warm.fetcher.submitted == 0 and warm.sync_fetches == 0  # nothing queued
    assert len(idx.requests) == asked


def test_metadata_nobody_guessed_is_fetched_on_threads_not_workers(
    make_index: MakeIndex, tmp_path: Path
) -> None:
    idx = make_index([Pkg("a", "1.0")])
    client = IndexClient(IndexSettings(index_url=idx.url, timeout=5.0), Cache(tmp_path))
    pool = WorkerPool(kind="process")
    source = IndexSource(client, pool)
    page = source.pages(["a"])["a"]
    assert page is not None
    wheel = next(f for f in page.files if f.is_wheel)
    cand = Candidate(Version("1.0"), (wheel,), wheel, False, None)
    meta = source.metadata([cand])[wheel.url]
    assert isinstance(meta, CoreMetadata) and meta.name == "a"
    assert source.sync_fetches == 2 and not pool.started


def test_a_flush_while_a_fetch_thread_defers_a_write_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fetch thread defers a cache write while the solver flushes: flush must not see the
    # write's key before its job is queued (it raised KeyError), and the write is done.
    client = IndexClient(IndexSettings(index_url="http://127.0.0.1:9/simple"), Cache(tmp_path))
    source = IndexSource(client, WorkerPool(kind="serial"))
    submit = source.fetcher.submit
    queuing = threading.Event()

    def slow_submit(*args: Any, **kwargs: Any) -> None:
        queuing.set()
        time.sleep(0.05)  # the flush below runs meanwhile
        submit(*args, **kwargs)

    monkeypatch.setattr(source.fetcher, "submit", slow_submit)
    written = threading.Event()
    thread = threading.Thread(target=source._write_later, args=(written.set,))
    thread.start()
    queuing.wait(5)
    source.flush()
    thread.join()
    source.flush()
    assert written.is_set()
    source.fetcher.close()


def test_a_queued_job_costs_a_few_hundred_bytes() -> None:
    # A compile of 2,000 packages queues ~8,000 jobs (pages, metadata, cache writes); a
    # lock or event of each job's own would add kilobytes per job to the peak memory.
    import tracemalloc

    fetcher = Fetcher(threads=1)
    gate = threading.Event()
    fetcher.submit("first", gate.wait)  # holds the only thread: the rest stay queued
    jobs = [partial(int, str(n)) for n in range(2000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n, job in enumerate(jobs):
            fetcher.submit(("meta", n), job)
        per_job = (tracemalloc.get_traced_memory()[0] - before) / len(jobs)
    finally:
        tracemalloc.stop()
        gate.set()
        fetcher.close()
    assert per_job < 400, per_job


def test_a_finished_job_lets_go_of_what_its_call_held() -> None:
    # A deferred cache write holds the entry it writes; kept until the solve ends, every
    # page and metadata entry written would stay in memory twice.
    import weakref

    class Entry:
        pass

    def write(entry: Entry) -> None:
        pass

    fetcher = Fetcher(threads=1)
    entry = Entry()
    held = weakref.ref(entry)
    fetcher.submit(("write", 1), partial(write, entry))
    del entry
    fetcher.wait(("write", 1))
    fetcher.put(("page", "a"), "value")
    assert held() is None
    assert fetcher.wait(("page", "a")).value == "value"
    fetcher.close()
