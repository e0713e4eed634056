"""A local package index for tests: declarative packages, real artifacts, an HTTP server.

>>> from tests.support.localindex import LocalIndex, Pkg
>>> idx = LocalIndex([Pkg("demo", "1.0", deps=["dep>=2"]), Pkg("dep", "2.0")])  # doctest: +SKIP
>>> idx.url  # doctest: +SKIP
'http://127.0.0.1:40123/simple'

Everything is built offline and deterministically (fixed timestamps), so two
builds of the same :class:`Pkg` are byte-identical. See ``server.LocalIndex``
for the switches and fault injection, ``pkg.Pkg`` for what a release can hold.
"""

from __future__ import annotations

from .build import build_artifacts, build_sdist, build_wheel
from .faults import Fault, RequestRecord
from .pages import HTML_TYPE, JSON_TYPE, FileEntry
from .pkg import Pkg, escape, normalize
from .server import LocalIndex

__all__ = [
    "HTML_TYPE",
    "JSON_TYPE",
    "Fault",
    "FileEntry",
    "LocalIndex",
    "Pkg",
    "RequestRecord",
    "build_artifacts",
    "build_sdist",
    "build_wheel",
    "escape",
    "normalize",
]
