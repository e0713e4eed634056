"""A generic PubGrub version solver (stdlib only; knows nothing of Python packaging).

Packages are any hashable values and versions any totally ordered values. See
:func:`resolve` and :class:`DependencyProvider`.
"""

from xv.resolver.pubgrub.ranges import Range, Segment
from xv.resolver.pubgrub.solver import DependencyProvider, NoSolutionError, Unavailable, resolve
from xv.resolver.pubgrub.term import Term
from xv.resolver.pubgrub.tree import (
    DerivationTree,
    Derived,
    External,
    FromDependencyOf,
    NotRoot,
    NoVersions,
    UnavailableVersions,
    collapse_no_versions,
    externals,
)

__all__ = [
    "DependencyProvider",
    "DerivationTree",
    "Derived",
    "External",
    "FromDependencyOf",
    "NoSolutionError",
    "NoVersions",
    "NotRoot",
    "Range",
    "Segment",
    "Term",
    "Unavailable",
    "UnavailableVersions",
    "collapse_no_versions",
    "externals",
    "resolve",
]
