"""The target environment: interpreter facts (paths, tags, markers) and installed dists."""

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
