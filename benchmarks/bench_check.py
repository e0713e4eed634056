"""Benchmark: the instant paths, ``xv-compile --check`` of a fresh lock and a no-op
``xv-sync``, beside uv and warm compiles.

Compiles ``--input`` (default ``fixtures/sync/noop180.in``: 181 pins) from the default index
into a lock, then times, each as the median of ``--runs`` runs of the real command (a new
process each time), the cases of one group interleaved, each going first in turn (A B C,
B C A, ...):

* ``xv-compile --check`` answered by the console script's fast record (:mod:`xv.fast`), the
  same with ``XV_NO_FAST=1`` (answered by the check record through click: the path before
  the fast record), ``uv pip compile --offline`` (uv has no ``--check``; its offline
  recompile is the nearest), ``xv-compile --version`` and ``python -c pass``;
* ``xv-compile --check`` answered from the cached pins (the record removed before each run,
  as when the lock arrived with ``git pull``);
* with ``--sync`` (default when uv is found): the lock synced into a new venv, then a no-op
  ``xv-sync`` (fast record), the same with ``XV_NO_FAST=1`` (the sync record through click)
  and a no-op ``uv pip sync``;
* a warm ``xv-compile`` (existing lock as preferences), a warm ``uv pip compile`` and a warm
  ``pip-compile``, for comparison.

Each line gives the median wall time and the median CPU time (user + system) of the
process tree. The load average is printed before and after.

Run: ``python benchmarks/bench_check.py [--runs N] [--input FILE] [--uv PATH]
[--pip-compile PATH] [--no-sync] [--instant-only]``. Tools not found are skipped. Every
tool gets its own cache under a temporary directory, and neither uv nor pip read any
configuration. Python byte-code caching is on (PYTHONDONTWRITEBYTECODE is dropped), as for
users.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = ROOT / "fixtures" / "sync" / "noop180.in"
PYTHON = "3.11"


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def line(self, label: str) -> str:
        wall, cpu = statistics.median(self.wall) * 1000, statistics.median(self.cpu) * 1000
        return f"{label:<44} median {wall:6.0f} ms wall {cpu:6.0f} ms CPU"


def timed(cmd: Sequence[str], cwd: Path, env: dict[str, str], into: Timing | None = None) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    if into is not None:
        into.wall.append(elapsed)
        into.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return elapsed


Case = tuple[Sequence[str], dict[str, str]]


def interleaved(runs: int, cases: dict[str, Case], cwd: Path) -> dict[str, Timing]:
    """Each case once, in turn, ``runs`` times (after one untimed run of each), each case
    going first in turn (as in bench_resolve: always first, a tool measured slower)."""
    for cmd, env in cases.values():
        timed(cmd, cwd, env)
    timings = {name: Timing() for name in cases}
    names = list(cases)
    for n in range(runs):
        start = n % len(names)
        for name in names[start:] + names[:start]:
            cmd, env = cases[name]
            timed(cmd, cwd, env, timings[name])
    return timings


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def pins_in(path: Path) -> int:
    return sum(
        1 for line in path.read_text().splitlines() if "==" in line and not line.startswith("#")
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--slow-runs", type=int, default=3, help="runs of the warm compiles")
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--uv", default=shutil.which("uv") or _ref("uv"))
    parser.add_argument("--pip-compile", default=shutil.which("pip-compile"))
    parser.add_argument("--no-sync", action="store_true", help="skip the no-op sync figures")
    parser.add_argument(
        "--instant-only", action="store_true", help="skip the cached-pins and warm figures"
    )
    args = parser.parse_args(argv)
    bin_dir = Path(sys.executable).parent
    xv, xv_sync = str(bin_dir / "xv-compile"), str(bin_dir / "xv-sync")
    print(f"load average before: {load()}")
    with tempfile.TemporaryDirectory(prefix="xv-bench-check-") as tmp:
        work = Path(tmp)
        shutil.copy(args.input, work / "requirements.in")
        env = {**os.environ, "XV_CACHE_DIR": str(work / "xv-cache"), "UV_NO_CONFIG": "1",
               "UV_CACHE_DIR": str(work / "uv-cache"), "PIP_CONFIG_FILE": os.devnull,
               "PIP_CACHE_DIR": str(work / "pip-cache")}  # fmt: skip
        env = {k: v for k, v in env.items() if not k.startswith("XV_") or k == "XV_CACHE_DIR"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("VIRTUAL_ENV", None)
        slow_env = {**env, "XV_NO_FAST": "1"}
        lock = ["requirements.in", "-o", "requirements.txt", "--python-version", PYTHON]
        cold = timed([xv, *lock], work, env)
        pins = pins_in(work / "requirements.txt")
        print(f"lock: {pins} packages, compiled cold by xv-compile in {cold:.2f}s")
        check = [xv, *lock, "--check"]
        cases: dict[str, Case] = {
            "xv-compile --check (fast record)": (check, env),
            "xv-compile --check (XV_NO_FAST=1: check record)": (check, slow_env),
        }
        if args.uv:
            uv = [args.uv, "pip", "compile", "requirements.in", "-o", "uv.txt",
                  "--python-version", PYTHON, "-q"]  # fmt: skip
            timed(uv, work, env)  # fills uv's cache
            cases["uv pip compile --offline (warm)"] = ([*uv, "--offline"], env)
        cases["xv-compile --version"] = ([xv, "--version"], env)
        cases["python -c pass"] = ([sys.executable, "-c", "pass"], env)
        # What every console script imports first (pip's and uv's script templates).
        cases["python -c 'import re'"] = ([sys.executable, "-c", "import re"], env)
        for name, timing in interleaved(args.runs, cases, work).items():
            print(timing.line(name))
        if args.uv and not args.no_sync:
            noop_sync(args.runs, work, env, xv_sync, args.uv)
        if not args.instant_only:
            slower(args, work, env, check, lock)
    print(f"load average after: {load()}")
    return 0


def slower(
    args: argparse.Namespace, work: Path, env: dict[str, str], check: list[str], lock: list[str]
) -> None:
    """--check from the cached pins, and warm compiles by xv, uv and pip-compile."""
    pinned = Timing()
    for _ in range(args.runs):
        shutil.rmtree(work / "xv-cache" / "check-v1", ignore_errors=True)
        timed(check, work, env, pinned)
    print(pinned.line("xv-compile --check (cached pins)"))
    warm = Timing()
    for _ in range(args.slow_runs):
        timed([check[0], *lock], work, env, warm)
    print(warm.line("xv-compile warm"))
    if args.uv:
        uv = [args.uv, "pip", "compile", "requirements.in", "-o", "uv.txt",
              "--python-version", PYTHON, "-q"]  # fmt: skip
        uv_warm = Timing()
        for _ in range(args.slow_runs):
            timed(uv, work, env, uv_warm)
        print(uv_warm.line("uv pip compile warm"))
    if args.pip_compile:
        pt = [args.pip_compile, "requirements.in", "-o", "pt.txt", "-q",
              "--cache-dir", str(work / "pip-tools-cache")]  # fmt: skip
        timed(pt, work, env)
        pt_warm = Timing()
        for _ in range(args.slow_runs):
            timed(pt, work, env, pt_warm)
        print(pt_warm.line("pip-compile warm"))


def noop_sync(runs: int, work: Path, env: dict[str, str], xv_sync: str, uv: str) -> None:
    """The lock synced into a new venv by xv, then no-op syncs by xv and uv, interleaved."""
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    sync = [xv_sync, "requirements.txt", "-p", str(venv)]
    seconds = timed(sync, work, env)
    print(
        f"venv: {pins_in(work / 'requirements.txt')} packages synced by xv-sync in {seconds:.2f}s"
    )
    uv_sync = [uv, "pip", "sync", "requirements.txt", "--python", str(venv / "bin" / "python")]
    cases: dict[str, Case] = {
        "xv-sync no-op (fast record)": (sync, env),
        "xv-sync no-op (XV_NO_FAST=1: sync record)": (sync, {**env, "XV_NO_FAST": "1"}),
        "uv pip sync no-op": (uv_sync, env),
    }
    for name, timing in interleaved(runs, cases, work).items():
        print(timing.line(name))


def _ref(name: str) -> str | None:
    path = Path("/tmp/ref/bin") / name
    return str(path) if path.exists() else None


if __name__ == "__main__":
    raise SystemExit(main())
