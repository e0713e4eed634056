"""Where xv keeps its files by default (a leaf: the standard library only, so the
pre-click fast path and the cache share it)."""

from __future__ import annotations

import os
import sys


def user_cache_dir() -> str:
    """``platformdirs.user_cache_dir("xv")``, spelled out for Linux: importing platformdirs
    (and the tempfile, shutil and random it loads) costs every command ~20 ms at start-up.
    An ``XDG_CACHE_HOME`` that is not absolute is ignored (the XDG spec; platformdirs 4)."""
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):
            base = os.path.expanduser("~/.cache")
        return os.path.join(base, "xv")
    import platformdirs

    return str(platformdirs.user_cache_dir("xv"))
