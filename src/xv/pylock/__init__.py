"""PEP 751 lock files (``pylock.toml``): :mod:`.write` renders one from a resolution for
``xv-compile --format pylock.toml``, :mod:`.read` reads one into pins for ``xv-sync``."""

from __future__ import annotations

import os
import re

# PEP 751: ``pylock.toml``, or ``pylock.<name>.toml`` for a named lock.
_NAME_RE = re.compile(r"^pylock\.([^.]+\.)?toml$")


def is_pylock(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is named as PEP 751 names lock files.

    >>> is_pylock("pylock.toml"), is_pylock("dir/pylock.dev.toml"), is_pylock("pylock.a.b.toml")
    (True, True, False)
    """
    return bool(_NAME_RE.match(os.path.basename(os.fspath(path))))
