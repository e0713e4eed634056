"""A deterministic crash for tests: ``XV_TEST_KILL_AFTER=N`` makes the process
SIGKILL itself at the N+1-th file operation of an install or removal.

The installer calls :func:`tick` before each step that changes the environment
(a link, a write, a rename, an unlink, a directory removal), so a test can stop
a sync at every such point and check that the next run repairs the environment.
Unset (always, outside tests), :func:`tick` costs one comparison.
"""

from __future__ import annotations

import os
import signal

ENV_KILL_AFTER = "XV_TEST_KILL_AFTER"
_left: list[int] = []


def _load() -> None:
    value = os.environ.get(ENV_KILL_AFTER, "")
    if value.isdigit():
        _left.append(int(value))


def tick() -> None:
    """One file operation; the process dies here once the budget is spent."""
    if not _left:
        return
    _left[0] -= 1
    if _left[0] < 0:
        os.kill(os.getpid(), signal.SIGKILL)


_load()


def arm(budget: int | None) -> None:
    """Set (or with None, clear) the budget in this process, e.g. in a forked test child."""
    _left.clear()
    if budget is not None:
        _left.append(budget)


def remaining() -> int | None:
    """The budget left (None when unarmed): a test arms a large one to count operations."""
    return _left[0] if _left else None
