"""Large downloads kept moving while index pages are parsed (the "convoy effect").

Reading a TLS response gives up the interpreter lock for each record it receives (16 kB
at most) and must then wait for it again. A thread parsing an index page does not give
it up by itself: it is asked to after the switch interval (5 ms), so beside one such
thread a download gets one record per 5 ms. A 6.9 MB page (pydantic-core's, 423 records)
then took 2.9 s instead of 54 ms (``benchmarks/bench_convoy.py``), and in a cold compile of
apache-airflow the solver waited up to 0.6 s for pages downloaded early but received late.

So a body of :data:`LARGE` bytes or more is read inside :func:`downloading`, and a page
parse calls :func:`let_through` every so often (:mod:`xv.index.jsonpage`, between files):
while a large download is in flight it gives up the lock for a moment, so the download's
waiting thread takes the next record then. Nothing yields when nothing large is being read.
A shorter switch interval for the whole process had the same effect on the downloads but
cost every thread its switches: a cold compile used more CPU, not less time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

LARGE = 256 * 1024  # bytes: a body of at least this many records is worth letting through

_lock = threading.Lock()
_active = [0]  # large downloads in flight; read without the lock (a stale answer only waits)


@contextmanager
def downloading() -> Iterator[None]:
    """A block reading a large body: parses let it through meanwhile."""
    with _lock:
        _active[0] += 1
    try:
        yield
    finally:
        with _lock:
            _active[0] -= 1


def in_flight() -> int:
    """How many large downloads are being read now."""
    return _active[0]


def let_through() -> None:
    """Give up the interpreter lock for a moment if a large download is waiting for it."""
    if _active[0]:
        time.sleep(0)
