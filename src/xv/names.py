"""Project names normalised (PEP 503) by packaging's own function, loaded on first use.

``packaging.utils`` imports ``packaging.tags`` (and with it subprocess, logging, sysconfig
and platform): tens of milliseconds that a no-op ``xv-sync`` or an ``xv-compile --check``
answered from its record would spend for nothing. Modules on those paths take the name
from here (after the first call, the import below is a dictionary lookup).

>>> canonicalize_name("Foo.Bar__baz")
'foo-bar-baz'
"""

from __future__ import annotations


def canonicalize_name(name: str) -> str:
    """``packaging.utils.canonicalize_name(name)``."""
    from packaging.utils import canonicalize_name as canonical

    return canonical(name)
