"""Benchmark: ``xv-compile --check`` on a fresh ~120-package lock, beside warm compiles.

Compiles a large real stack (jupyter, pandas, boto3, matplotlib, scikit-learn,
requests[socks]) from the default index into a lock, then times, each as the median of
``--runs`` runs of the real command (a new process each time):

* ``xv-compile --check`` answered by the record of a confirmed answer (the usual case in a
  pre-commit hook, after ``xv-compile`` wrote the lock);
* ``xv-compile --check`` answered from the cached pins (the record removed before each run,
  as when the lock arrived with ``git pull``);
* a warm ``xv-compile`` (existing lock as preferences), a warm ``uv pip compile`` (uv has no
  ``--check``) and a warm ``pip-compile``, for comparison.

Run: ``python benchmarks/bench_check.py [--runs N] [--uv PATH] [--pip-compile PATH]``.
Tools not found are skipped. Every tool gets its own cache under a temporary directory, and
neither uv nor pip read any configuration.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

STACK = ["jupyter", "pandas", "boto3", "matplotlib", "scikit-learn", "requests[socks]"]
PYTHON = "3.11"


def timed(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def median_of(
    runs: int,
    cmd: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    before: Callable[[], None] | None = None,
) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        times.append(timed(cmd, cwd, env))
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--slow-runs", type=int, default=3, help="runs of the warm compiles")
    parser.add_argument("--uv", default=shutil.which("uv"))
    parser.add_argument("--pip-compile", default=shutil.which("pip-compile"))
    args = parser.parse_args(argv)
    xv = str(Path(sys.executable).with_name("xv-compile"))
    with tempfile.TemporaryDirectory(prefix="xv-bench-check-") as tmp:
        work = Path(tmp)
        (work / "requirements.in").write_text("".join(f"{r}\n" for r in STACK))
        env = {**os.environ, "XV_CACHE_DIR": str(work / "xv-cache"), "UV_NO_CONFIG": "1",
               "UV_CACHE_DIR": str(work / "uv-cache"), "PIP_CONFIG_FILE": os.devnull,
               "PIP_CACHE_DIR": str(work / "pip-cache")}  # fmt: skip
        env = {k: v for k, v in env.items() if not k.startswith("XV_") or k == "XV_CACHE_DIR"}
        lock = ["requirements.in", "-o", "requirements.txt", "--python-version", PYTHON]
        cold = timed([xv, *lock], work, env)
        pins = sum(1 for line in (work / "requirements.txt").read_text().splitlines()
                   if "==" in line and not line.startswith("#"))  # fmt: skip
        print(f"lock: {pins} packages, compiled cold by xv-compile in {cold:.2f}s")
        check = [xv, *lock, "--check"]
        record = median_of(args.runs, check, work, env)
        print(f"xv-compile --check (record)        median {record * 1000:7.0f} ms")

        def forget() -> None:
            shutil.rmtree(work / "xv-cache" / "check-v1", ignore_errors=True)

        pinned = median_of(args.runs, check, work, env, before=forget)
        print(f"xv-compile --check (cached pins)   median {pinned * 1000:7.0f} ms")
        warm = median_of(args.slow_runs, [xv, *lock], work, env)
        print(f"xv-compile warm                    median {warm * 1000:7.0f} ms")
        if args.uv:
            uv = [args.uv, "pip", "compile", "requirements.in", "-o", "uv.txt",
                  "--python-version", PYTHON, "-q"]  # fmt: skip
            timed(uv, work, env)
            print(f"uv pip compile warm                median "
                  f"{median_of(args.runs, uv, work, env) * 1000:7.0f} ms")  # fmt: skip
        if args.pip_compile:
            pt = [args.pip_compile, "requirements.in", "-o", "pt.txt", "-q",
                  "--cache-dir", str(work / "pip-tools-cache")]  # fmt: skip
            timed(pt, work, env)
            print(f"pip-compile warm                   median "
                  f"{median_of(args.slow_runs, pt, work, env) * 1000:7.0f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
