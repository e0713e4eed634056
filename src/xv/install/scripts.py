"""Console and GUI script launchers, and ``#!python`` shebang rewriting (POSIX).

A launcher is a small Python file whose shebang names the target interpreter.
When that path has spaces or is too long for the kernel's shebang limit, the
launcher starts as a ``/bin/sh`` script that re-executes itself with Python (the
trick pip and distlib use).
"""

from __future__ import annotations

import re

from xv.errors import InstallError
from xv.records import slotted_record

_MAX_SHEBANG = 127
_PYTHON_SHEBANG = re.compile(rb"#!pythonw?(\s.*)?$")
_ENTRY = re.compile(r"^(?P<module>[\w.]+)\s*(?::\s*(?P<attr>[\w.]+))?\s*(?:\[[^\]]*\])?\s*$")


@slotted_record
class EntryPoint:
    """A ``console_scripts`` or ``gui_scripts`` entry: ``name = module:attr.sub``."""

    name: str
    module: str
    attr: str
    gui: bool = False


def parse_entry_points(text: str, package: str | None = None) -> list[EntryPoint]:
    """The script entry points of an ``entry_points.txt``."""
    import configparser  # here: most wheels have no entry_points.txt

    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        where = f"{package}: " if package else ""
        raise InstallError(f"{where}invalid entry_points.txt: {exc}", package) from exc
    out = []
    for section, gui in (("console_scripts", False), ("gui_scripts", True)):
        if not parser.has_section(section):
            continue
        for name, value in parser.items(section):
            match = _ENTRY.match(value.strip())
            where = f"{package}: " if package else ""
            if match is None or not match.group("attr"):
                raise InstallError(f"{where}invalid entry point {name} = {value}", package)
            if "/" in name or "\\" in name or name in ("", ".", ".."):
                raise InstallError(f"{where}invalid script name {name!r}", package)
            out.append(EntryPoint(name, match.group("module"), match.group("attr"), gui))
    return out


def shebang(executable: str) -> bytes:
    """The first line(s) that run a script with ``executable``."""
    if " " not in executable and len(executable) + 2 <= _MAX_SHEBANG:
        return f"#!{executable}\n".encode()
    # /bin/sh runs the quoted exec; Python sees a docstring and ignores it.
    return f"#!/bin/sh\n'''exec' \"{executable}\" \"$0\" \"$@\"\n' '''\n".encode()


def launcher(entry: EntryPoint, executable: str) -> bytes:
    """The contents of the launcher script for ``entry``."""
    head = entry.attr.split(".", 1)[0]
    body = (
        "# -*- coding: utf-8 -*-\n"
        "import re\n"
        "import sys\n"
        f"from {entry.module} import {head}\n"
        'if __name__ == "__main__":\n'
        "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
        f"    sys.exit({entry.attr}())\n"
    )
    return shebang(executable) + body.encode("utf-8")


def rewrite_python_shebang(content: bytes, executable: str) -> bytes | None:
    """``content`` with its ``#!python``/``#!pythonw`` first line pointed at ``executable``.

    Returns None when the file has no such line (it is installed unchanged).
    Arguments after the interpreter (``#!python -u``) are kept.
    """
    first, _, rest = content.partition(b"\n")
    match = _PYTHON_SHEBANG.match(first.rstrip(b"\r"))
    if match is None:
        return None
    line = shebang(executable)
    args = match.group(1) or b""
    if args and line.count(b"\n") == 1:
        line = line[:-1] + args + b"\n"
    return line + rest
