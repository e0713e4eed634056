"""One sync at a time per environment: a lock file inside the environment itself.

The lock is ``<prefix>/.lock`` (as uv places it), found through the resolved
prefix, so every path that reaches the environment (a symlink, another
``TMPDIR``, another cache) meets the same lock. A lock that cannot be taken
(an unwritable or missing environment directory) is a clear
:class:`TargetEnvironmentError`, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from xv.cache import lock_file
from xv.errors import TargetEnvironmentError

LOCK_NAME = ".lock"


def lock_path(prefix: Path) -> Path:
    """Where the lock of the environment at ``prefix`` lives (symlinks resolved)."""
    return Path(os.path.realpath(prefix)) / LOCK_NAME


@contextlib.contextmanager
def environment_lock(prefix: Path) -> Iterator[None]:
    """Hold the environment's lock (another sync waits for it)."""
    path = lock_path(prefix)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(lock_file(path))
        except OSError as exc:
            raise TargetEnvironmentError(
                f"cannot lock the environment at {prefix} ({path}: {exc.strerror or exc})"
            ) from None
        yield
