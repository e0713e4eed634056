"""Byte-compile installed files with the target interpreter (``--compile-bytecode``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from xv.env.interpreter import Interpreter
from xv.errors import InstallError

# Runs inside the target (Python 3.8+). A file that fails to compile (a syntax
# error in a template, say) is reported, not fatal, as with pip.
_COMPILE = """
import compileall, json, sys
paths = json.load(sys.stdin)
failed = [p for p in paths if not compileall.compile_file(p, quiet=2)]
sys.stdout.write(json.dumps(failed))
"""


def compile_bytecode(paths: Iterable[Path], interp: Interpreter) -> list[Path]:
    """Compile the ``.py`` files among ``paths``; return those that failed to compile.

    The ``.pyc`` files are new files in ``__pycache__``: the (possibly hardlinked)
    sources are only read.
    """
    sources = sorted({str(p) for p in paths if p.suffix == ".py"})
    if not sources:
        return []
    import subprocess  # here: a sync without --compile-bytecode starts no process (~5 ms)

    try:
        proc = subprocess.run(
            [str(interp.executable), "-I", "-c", _COMPILE],
            input=json.dumps(sources),
            capture_output=True,
            text=True,
        )
    except OSError as exc:
        raise InstallError(f"Cannot run {interp.executable} to compile bytecode: {exc}") from exc
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise InstallError(f"Compiling bytecode failed: {detail}")
    return [Path(p) for p in json.loads(proc.stdout)]
