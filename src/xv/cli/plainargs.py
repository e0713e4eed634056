"""A plain command line read without click, as click reads it.

Importing click and building the command's ~40 options costs ~25 ms of every start, about a
tenth of a sync into a fresh environment whose wheels are cached. Most invocations are plain:
files, and options spelled in full (``-p PATH``, ``--cache-dir=DIR``, ``-q``). :func:`parse`
reads exactly those, from the same registry the click options come from
(:mod:`xv.settings`), and gives click's parameters. It is a hand-written parser, so it
answers only where its reading provably equals click's, and gives ``None`` for everything
else, which then goes to click unchanged: help and version, ``--``, a token that is not an
option of the command, an option without its value or with a value that starts with ``-``,
``=`` on a flag, a choice or number click would refuse, a directory option or file naming
something that exists (click checks those), and grouped short options (``-qv``).
tests/unit/test_plainargs.py compares the two over generated command lines.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from xv.settings import Command, Entry, command_entries

# What a flag means: (entry, the value it sets) for on/off flags and counts, else (entry, None).
_Flags = dict[str, tuple[Entry, bool | None]]


def parse(command: Command, argv: list[str]) -> dict[str, Any] | None:
    """The parameters click would pass for ``argv`` (every option of ``command`` by name,
    defaults included, and ``src_files``), or ``None`` when only click may read it."""
    flags = _flags(command)
    values: dict[str, Any] = {}
    files: list[str] = []
    args = iter(argv)
    for token in args:
        if not token.startswith("-") or token == "-":
            if not _plain_path(token, must_be_dir=False):
                return None
            files.append(token)
            continue
        name, eq, inline = token.partition("=") if token.startswith("--") else (token, "", "")
        found = flags.get(name)
        if found is None:
            return None
        entry, meaning = found
        if meaning is not None or entry.spec.count:
            if eq:
                return None
            values[entry.name] = values.get(entry.name, 0) + 1 if entry.spec.count else meaning
            continue
        value = inline if eq else next(args, None)
        if value is None or value.startswith("-") or not _fits(entry, value):
            return None
        if entry.kind == "list":
            values[entry.name] = (*values.get(entry.name, ()), value)
        else:
            values[entry.name] = int(value) if entry.kind == "int" else value
    params = {e.name: values.get(e.name, _default(e)) for e in command_entries(command)}
    params["src_files"] = tuple(files)
    return params


def _flags(command: Command) -> _Flags:
    """Each spelling of each option of ``command``: ``--no-header/--header`` is two."""
    flags: _Flags = {}
    for entry in command_entries(command):
        for spelling in entry.flags_for(command):
            on, _, off = spelling.partition("/")
            if entry.kind != "bool":
                flags[on] = (entry, None)
                continue
            flags[on] = (entry, True)
            if off:
                flags[off] = (entry, False)
    return flags


def _default(entry: Entry) -> Any:
    """Click's value for an option not given: ``()`` for a repeatable one, 0 for a count."""
    if entry.kind == "list":
        return ()
    if entry.spec.count:
        return 0
    return entry.default


def _fits(entry: Entry, value: str) -> bool:
    """Whether click takes ``value`` as it is (else it refuses it, or converts it)."""
    if entry.kind == "choice":
        return value in entry.choices
    if entry.kind == "int":
        return value.isascii() and value.isdigit()
    return _plain_path(value, must_be_dir=True) if entry.spec.directory else True


def _plain_path(value: str, must_be_dir: bool) -> bool:
    """Whether click's ``Path`` type passes ``value`` as it is without refusing it: it
    refuses a path that exists but is not readable, and a file for a directory option."""
    try:
        st = os.stat(value)
    except (OSError, ValueError):  # absent: click passes it (ValueError: a NUL byte)
        return "\0" not in value
    if must_be_dir and stat.S_ISREG(st.st_mode):
        return False
    return os.access(value, os.R_OK)
