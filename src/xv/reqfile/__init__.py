"""Parse pip requirements files (``requirements.in``, ``requirements.txt``, constraints files).

Supports comments, backslash continuations, ``${VAR}`` expansion, ``-r``/``-c`` includes (local
and http(s)), ``-e`` editables, PEP 508 requirements, bare paths and URLs, ``--hash`` and pip's
global options. Every item remembers the ``file:line`` it came from; every malformed line raises
:class:`xv.errors.RequirementFileError` naming it.

>>> from xv.reqfile import parse_text
>>> result = parse_text("-i https://example.org/simple\\nrequests[socks]>=2 ; python_version>'3'\\n",
...                     "requirements.in")
>>> result.options.index_url, result.requirements[0].name, str(result.requirements[0].origin)
('https://example.org/simple', 'requests', 'requirements.in:2')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xv.reqfile.model import (
    FileOptions,
    Origin,
    ParsedRequirement,
    RequirementsFile,
    merge_file_options,
)

if TYPE_CHECKING:
    from xv.reqfile.parser import Fetch, fetch_url, parse_file, parse_text

_PARSER_NAMES = frozenset({"Fetch", "fetch_url", "parse_file", "parse_text"})


def __getattr__(name: str) -> Any:
    """The parser (and with it packaging's requirement parser) loads on first use (PEP 562):
    the value types above are all that a sync answered from its record needs."""
    if name in _PARSER_NAMES:
        from xv.reqfile import parser

        return getattr(parser, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Fetch",
    "FileOptions",
    "Origin",
    "ParsedRequirement",
    "RequirementsFile",
    "fetch_url",
    "merge_file_options",
    "parse_file",
    "parse_text",
]
