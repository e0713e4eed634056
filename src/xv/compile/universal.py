"""``xv-compile --universal``: one lock for every platform and every Python from a floor.

The floor is ``--python-version``, else the running (or ``-p``) interpreter's minor
version, as uv 0.13 takes it (its ``pip compile`` does not read ``requires-python`` of a
``pyproject.toml`` input for this). Markers are carried, not evaluated (see :mod:`xv.resolver.forks`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from packaging.version import InvalidVersion, Version

from xv import lockfile
from xv.build.builder import Builder
from xv.build.source import BuildingSource
from xv.compile.options import CompileOptions
from xv.env.target import build_target
from xv.errors import UsageError
from xv.index.client import IndexClient
from xv.pool import WorkerPool
from xv.resolver import provider as prov
from xv.resolver.forks import resolve_universal
from xv.resolver.index_source import IndexSource
from xv.resolver.result import Resolution


def python_floor(opts: CompileOptions) -> tuple[int, ...]:
    """The lowest Python the lock is for, as release numbers (``(3, 9)``)."""
    s = opts.resolver
    if s.python_version is not None:
        try:
            release = Version(s.python_version).release
        except InvalidVersion:
            raise UsageError(f"invalid --python-version {s.python_version!r}") from None
        return _trim(release)
    target = build_target(s.python, None, None)
    return _trim(Version(target.markers["python_version"]).release)


def _trim(release: tuple[int, ...]) -> tuple[int, ...]:
    out = list(release)
    while len(out) > 1 and out[-1] == 0:
        out.pop()
    return tuple(out)


def lock_pins(opts: CompileOptions) -> dict[str, list[tuple[Version, str | None]]]:
    """Every version the existing output file pins, with its marker, for the packages whose
    pins are kept (``-U``/``-P`` already left out of ``opts.resolver.preferences``)."""
    keep = opts.resolver.preferences
    path = opts.output.output_file
    if not keep or path is None or not os.path.isfile(path):
        return {}
    out: dict[str, list[tuple[Version, str | None]]] = {}
    for pin in lockfile.pins_in(Path(path), strict=False):
        if pin.name in keep and pin.version is not None:
            out.setdefault(pin.name, []).append((pin.version, pin.marker))
    return out


def compile_universal(
    opts: CompileOptions,
    client: IndexClient,
    inputs: prov.ResolverInputs,
    settings: prov.ResolverSettings,
    progress: Callable[[int], None] | None = None,
    builder: Callable[[], Builder] | None = None,
) -> Resolution:
    """``builder`` answers sdists' metadata by building (without it they cannot be used)."""
    floor = python_floor(opts)
    with WorkerPool() as pool:
        source = (
            IndexSource(client, pool) if builder is None else BuildingSource(client, pool, builder)
        )
        return resolve_universal(inputs, settings, source, floor, lock_pins(opts), progress)
