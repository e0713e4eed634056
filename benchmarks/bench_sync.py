"""Benchmark: sync a 25+ package lock into a fresh venv with xv-sync, uv pip sync, pip-sync.

Each tool runs cold (an empty cache directory of its own) and then warm (the same
cache, a new venv). Venv creation is not timed. pip-sync drives the target's own
pip, so its venvs get pip; the others get ``--without-pip`` venvs. Run:

    python benchmarks/bench_sync.py [--lock FILE] [--uv PATH] [--pip-sync PATH] [--runs N]

uv and pip-sync default to the ones on PATH (or in /tmp/ref/bin); a missing tool is
skipped. An untimed priming run first lets the index's mirror fill its own cache.
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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LOCK = ROOT / "fixtures" / "sync" / "requirements.txt"
Command = Callable[[Path, Path, Path], list[str]]  # (lock, venv, cache) -> argv


def find_tool(name: str, given: str | None) -> str | None:
    if given:
        return given
    for candidate in (Path(sys.executable).parent / name, Path("/tmp/ref/bin") / name):
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


def make_venv(path: Path, with_pip: bool) -> None:
    args = [sys.executable, "-m", "venv", str(path)]
    subprocess.run(args if with_pip else [*args, "--without-pip"], check=True)


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def measure(
    name: str, command: Command, lock: Path, work: Path, with_pip: bool, runs: int
) -> tuple[float, float]:
    """Median cold and warm times over ``runs`` rounds."""
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("VIRTUAL_ENV", None)
    cold, warm = [], []
    for round_ in range(runs):
        cache = work / f"{name}-cache-{round_}"
        env["PIP_CACHE_DIR"] = str(cache)
        for label, times in (("cold", cold), ("warm", warm)):
            venv = work / f"{name}-{label}-{round_}"
            make_venv(venv, with_pip)
            times.append(timed(command(lock, venv, cache), env))
            shutil.rmtree(venv)
        shutil.rmtree(cache, ignore_errors=True)
    return statistics.median(cold), statistics.median(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=DEFAULT_LOCK)
    parser.add_argument("--uv")
    parser.add_argument("--pip-sync")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-prime", action="store_true")
    args = parser.parse_args()
    xv = find_tool("xv-sync", None)
    uv = find_tool("uv", args.uv)
    pip_sync = find_tool("pip-sync", args.pip_sync)
    tools: list[tuple[str, Command, bool]] = []
    if xv:
        tools.append(("xv-sync", lambda lock, venv, cache: [xv, str(lock), "-p", str(venv), "--cache-dir", str(cache), "-q"], False))  # fmt: skip
    if uv:
        tools.append(("uv pip sync", lambda lock, venv, cache: [uv, "pip", "sync", str(lock), "--python", str(venv / "bin" / "python"), "--cache-dir", str(cache), "-q"], False))  # fmt: skip
    if pip_sync:
        tools.append(("pip-sync", lambda lock, venv, cache: [pip_sync, "--python-executable", str(venv / "bin" / "python"), "-q", str(lock)], True))  # fmt: skip
    packages = sum(1 for line in args.lock.read_text().splitlines() if "==" in line)
    with tempfile.TemporaryDirectory(prefix="xv-bench-sync-") as tmp:
        work = Path(tmp)
        if not args.no_prime and xv:
            measure("prime", tools[0][1], args.lock, work, False, 1)
        results = {name: measure(name.replace(" ", "-"), cmd, args.lock, work, pip, args.runs) for name, cmd, pip in tools}  # fmt: skip
    base_cold, base_warm = results.get("xv-sync", (None, None))
    print(f"{packages} packages from {args.lock.name}, {args.runs} run(s), median seconds")
    print(f"{'tool':<14}{'cold':>8}{'warm':>8}{'cold/xv':>10}{'warm/xv':>10}")
    for name, (cold, warm) in results.items():
        cold_ratio = f"{cold / base_cold:.2f}x" if base_cold else "-"
        warm_ratio = f"{warm / base_warm:.2f}x" if base_warm else "-"
        print(f"{name:<14}{cold:>8.2f}{warm:>8.2f}{cold_ratio:>10}{warm_ratio:>10}")


if __name__ == "__main__":
    main()
