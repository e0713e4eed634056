"""The target environment: interpreter facts (paths, tags, markers) and installed dists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xv.env.discover import find_target, venv_python
    from xv.env.installed import InstalledDist, installed_distributions
    from xv.env.interpreter import Interpreter, query_interpreter

__all__ = [
    "InstalledDist",
    "Interpreter",
    "find_target",
    "installed_distributions",
    "query_interpreter",
    "venv_python",
]
_HOMES = {
    "find_target": "discover",
    "venv_python": "discover",
    "InstalledDist": "installed",
    "installed_distributions": "installed",
    "Interpreter": "interpreter",
    "query_interpreter": "interpreter",
}


def __getattr__(name: str) -> Any:
    """Names load on first use (PEP 562): finding the target must not import the
    site-packages reader (email, packaging), which a sync answered from its record skips."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"xv.env.{home}"), name)
