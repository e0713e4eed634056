"""xv's own environment: what a sync must leave in place so that xv keeps working.

pip-sync never removes pip-tools or what it needs; xv-sync does the same for the
environment it runs from. What xv needs is read from that environment, as
installed: xv's distribution and its ``Requires-Dist``, transitively, markers
evaluated for the running interpreter (and the extras a requirement asks for).
"""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from xv.env.interpreter import Interpreter


def runs_from(interp: Interpreter) -> bool:
    """Whether ``interp``'s environment is the one this process runs from."""
    return _resolved(interp.prefix) == _resolved(Path(sys.prefix))


def runtime_tree(root: str = "xv") -> frozenset[str]:
    """Canonical names of ``root`` and of every distribution it needs at runtime,
    found in the running environment (a requirement not installed ends its branch).

    >>> {"xv", "click", "packaging"} <= runtime_tree()
    True
    """
    from importlib import metadata  # 30ms to import: only on the path that needs it

    environment = {key: str(value) for key, value in default_environment().items()}
    extras_seen: dict[str, set[str]] = {}
    found: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        seen = extras_seen.get(key)
        wanted = {""} | {canonicalize_name(e) for e in extras}
        if seen is not None and wanted <= seen:
            continue
        extras_seen[key] = (seen or set()) | wanted
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        found.add(key)
        for req in _parsed(requires):
            marker = req.marker
            if marker is None or any(
                marker.evaluate({**environment, "extra": extra}) for extra in wanted
            ):
                todo.append((req.name, frozenset(req.extras)))
    return frozenset(found)


def _parsed(lines: list[str]) -> list[Requirement]:
    out = []
    for line in lines:
        try:
            out.append(Requirement(line))
        except InvalidRequirement:
            continue  # an installed distribution's bad line: nothing to keep for it
    return out


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()
