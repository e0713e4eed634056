"""Project names normalised as PEP 503 says, without importing ``packaging.utils``.

``packaging.utils`` imports ``packaging.tags`` (and with it subprocess, logging, sysconfig
and platform): ~15 ms that a sync into a fresh environment, a no-op ``xv-sync`` or an
``xv-compile --check`` would spend for nothing. PEP 503's rule is one line
(``re.sub(r"[-_.]+", "-", name).lower()``); it is written here with the same string
operations as ``packaging.utils.canonicalize_name`` (which validates nothing either, by
default), and tests/unit/test_names.py checks that both agree on any text.

>>> canonicalize_name("Foo.Bar__baz")
'foo-bar-baz'
"""

from __future__ import annotations


def canonicalize_name(name: str) -> str:
    """``packaging.utils.canonicalize_name(name)``."""
    value = name.lower().replace("_", "-").replace(".", "-")
    while "--" in value:
        value = value.replace("--", "-")
    return value
