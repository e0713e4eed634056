"""Benchmark: ``xv-compile --universal`` against ``uv pip compile --universal``.

For each input of fixtures/compile (web, data-science, fastapi, and the non-forking basic
one), each tool compiles ``--universal --python-version 3.9 --exclude-newer 2025-10-01``
cold (an empty cache directory of its own, ``--repeat`` times, the median kept; rounds are
interleaved uv, xv universal, xv plain, so a machine loaded by others weighs on all alike) and
then warm (the last round's cache, without the previous output file, whose pins it would
otherwise prefer) ``--repeat`` times, keeping the fastest warm run. xv's plain (non-universal) compile of the same input, cold and warm, shows
what carrying markers costs (``univ/plain`` is warm over warm), and how much of the cold time
is xv's cold path in general. Times are wall-clock seconds of the whole
command; ratios are xv's time over uv's. The output files are compared too (their two header
lines aside): a fast wrong answer is no answer.

Run: ``python benchmarks/bench_universal.py [--uv PATH] [--xv PATH] [--only NAME]
[--repeat N]``; uv and xv-compile default to the ones on PATH.
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
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "compile"
INPUTS = ("web", "data", "fastapi", "basic")
PINNED = ["--python-version", "3.9", "--exclude-newer", "2025-10-01"]


def command(tool: str, exe: str, src: Path, out: Path, cache: Path, universal: bool) -> list[str]:
    flags = [*(["--universal"] if universal else []), *PINNED]
    args = [str(src), *flags, "-o", str(out), "--cache-dir", str(cache), "-q"]
    return [exe, *args] if tool == "xv" else [exe, "pip", "compile", *args]


def run(cmd: list[str]) -> float:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "PIP_CONFIG_FILE": os.devnull}
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(f"  {' '.join(cmd[:3])} failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return float("inf")
    return seconds


def body(path: Path) -> list[str]:
    return path.read_text().splitlines()[2:] if path.exists() else []


def cold_run(
    tool: str, exe: str, name: str, work: Path, round_: int, universal: bool = True
) -> tuple[float, list[str]]:
    """One cold compile into a cache directory of its own; the time and the output's body."""
    src = work / f"{name}.in"
    cache = work / f"cache-{tool}-{name}-{universal}-{round_}"
    out = work / f"{name}-{tool}-{universal}.txt"
    out.unlink(missing_ok=True)
    seconds = run(command(tool, exe, src, out, cache, universal))
    return seconds, body(out)


def warm_run(
    tool: str, exe: str, name: str, work: Path, round_: int, repeat: int, universal: bool = True
) -> float:
    """The fastest of ``repeat`` compiles with round ``round_``'s cache and no previous output."""
    src = work / f"{name}.in"
    cache = work / f"cache-{tool}-{name}-{universal}-{round_}"
    out = work / f"{name}-{tool}-{universal}.txt"
    warm = float("inf")
    for _ in range(repeat):
        out.unlink(missing_ok=True)
        warm = min(warm, run(command(tool, exe, src, out, cache, universal)))
    return warm


def measure(name: str, work: Path, uv: str, xv: str, repeat: int) -> str:
    """One row of the table: median cold times over interleaved rounds, then warm times."""
    colds: dict[str, list[float]] = {"uv": [], "xv": [], "plain": []}
    outs: dict[str, list[str]] = {}
    for round_ in range(repeat):
        colds["uv"].append((got := cold_run("uv", uv, name, work, round_))[0])
        outs["uv"] = got[1]
        colds["xv"].append((got := cold_run("xv", xv, name, work, round_))[0])
        outs["xv"] = got[1]
        colds["plain"].append(cold_run("xv", xv, name, work, round_, universal=False)[0])
    last = repeat - 1
    uv_warm = warm_run("uv", uv, name, work, last, repeat)
    xv_warm = warm_run("xv", xv, name, work, last, repeat)
    plain_warm = warm_run("xv", xv, name, work, last, repeat, universal=False)
    uv_cold, xv_cold, plain_cold = (statistics.median(colds[k]) for k in ("uv", "xv", "plain"))
    same = "same as uv" if outs["xv"] == outs["uv"] and outs["xv"] else "DIFFERENT from uv"
    return (
        f"{name:<10}{uv_cold:>9.2f}{xv_cold:>9.2f}{xv_cold / uv_cold:>7.2f}"
        f"{uv_warm:>9.2f}{xv_warm:>9.2f}{xv_warm / uv_warm:>7.2f}"
        f"{plain_cold:>11.2f}{plain_warm:>11.2f}{xv_warm / plain_warm:>11.2f}  {same}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xv", default=shutil.which("xv-compile"))
    parser.add_argument("--uv", default=shutil.which("uv"))
    parser.add_argument("--only", action="append", choices=INPUTS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.xv or not args.uv:
        sys.exit("needs xv-compile and uv (on PATH or --xv/--uv)")
    print(f"{'input':<10}{'uv cold':>9}{'xv cold':>9}{'ratio':>7}{'uv warm':>9}{'xv warm':>9}"
          f"{'ratio':>7}{'plain cold':>11}{'plain warm':>11}{'univ/plain':>11}  output")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.only or INPUTS:
            shutil.copy(FIXTURES / f"{name}.in", work / f"{name}.in")
            print(measure(name, work, args.uv, args.xv, max(1, args.repeat)), flush=True)


if __name__ == "__main__":
    main()
