"""Which modules a command imports: run it in a fresh interpreter under ``-X importtime``."""

from __future__ import annotations

import subprocess
import sys


def run_importing(
    module: str, prog: str, argv: list[str], function: str = "main"
) -> tuple[str, set[str]]:
    """Run ``module``'s click ``main`` (or ``function``, e.g. a console script's) as ``prog``
    with ``argv`` (it must exit 0); its output (without the import lines) and the names of
    every module it imported."""
    code = f"import sys; from {module} import {function}; sys.argv[0] = {prog!r}; {function}()"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *argv], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    imports = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    modules = {line.rsplit("|", 1)[1].strip() for line in imports if "|" in line}
    rest = [line for line in proc.stderr.splitlines() if not line.startswith("import time:")]
    return proc.stdout + "\n".join(rest), modules
