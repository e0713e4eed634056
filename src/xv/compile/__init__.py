"""The ``xv-compile`` use case: options (:mod:`.options`), inputs, the index and pinned
sources (:mod:`.sources`), the resolution itself (:mod:`.run`), ``--universal``
(:mod:`.universal`) and ``--check`` without the network (:mod:`.check`).

``xv.compile.compile(opts)`` is the entry point for a library user; it is imported on first
use, so that reading options (``xv.compile.options``) does not pull in the resolver and the
HTTP stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xv.compile.run import compile

__all__ = ["compile"]


def __getattr__(name: str) -> Any:
    if name == "compile":
        from xv.compile.run import compile

        return compile
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
