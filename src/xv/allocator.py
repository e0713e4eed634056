"""Ask glibc's malloc to hand big blocks back to the system as soon as they are freed.

glibc serves a block of at least its *mmap threshold* (128 KiB at start) with a mapping
of its own, returned to the system when freed; but it raises that threshold to the size
of each such block freed (up to 32 MiB). After the first multi-MB index page is freed,
every later response body, decoded page and cache blob up to that size is carved from
the heap arenas (one per thread that allocates), and the holes they leave behind stay in
the process: a cold compile of apache-airflow peaked at 175 MB of RSS, 53 MB of it free
blocks inside the arenas (``malloc_info``). Fixing the threshold keeps big blocks mapped
on their own; the same compile then peaks at about 140 MB. Small objects are Python's
own allocator's business and do not change.

The number of arenas is capped too (:data:`ARENA_MAX`): glibc gives each thread that
allocates while another holds an arena one of its own (up to 8 per CPU), and each keeps its
own free blocks; a cold compile's sixteen fetch threads then hold several MB of holes
between them. Python's own lock already lets one thread at a time run Python code, so they
seldom allocate at once. Set before any thread starts (``MALLOC_ARENA_MAX=2``), the
data-science compile peaked at 77–80 MB instead of 79–85 MB; set here, at the first request,
when the first fetch threads already have arenas of their own, 79–80 MB instead of 81–83 MB
(3 runs each; the time the same within the noise).

Only glibc has ``mallopt``; elsewhere this does nothing. ``ctypes`` loads here, on the
first request (a run the cache answers never gets here).
"""

from __future__ import annotations

import os
import sys
import threading

MMAP_THRESHOLD = 256 * 1024  # bytes; glibc caps it at 32 MiB on 64-bit
ARENA_MAX = 2
_M_MMAP_THRESHOLD = -3  # <malloc.h>
_M_ARENA_MAX = -8
_done: list[bool] = []
_lock = threading.Lock()


def fix_mmap_threshold() -> bool:
    """Set glibc's mmap threshold to :data:`MMAP_THRESHOLD` once per process; whether it
    is set (False where the C library is not glibc or refuses)."""
    with _lock:
        if not _done:
            _done.append(_set_threshold())
        return _done[0]


def _set_threshold() -> bool:
    if not sys.platform.startswith("linux") or not _is_glibc():
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        if "MALLOC_ARENA_MAX" not in os.environ:  # the user's own setting stands
            libc.mallopt(_M_ARENA_MAX, ARENA_MAX)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):  # no such symbol: not the C library we checked for
        return False


def _is_glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):
        return False
