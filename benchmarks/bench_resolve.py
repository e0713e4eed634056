"""Benchmark: xv-compile against ``uv pip compile`` and pip-compile on real inputs.

Each input is compiled by each tool twice, for the running Python: cold (an empty
cache directory of its own) and warm (the same directory again, without the
previous output file, whose pins every tool would otherwise prefer). Times are wall-clock seconds of the
whole command; ratios are xv's time over the other tool's. The pinned versions of
the tools are compared too, since a fast wrong answer is no answer.

Run: ``python benchmarks/bench_resolve.py [--uv PATH] [--pip-compile PATH] [--only NAME]
[--timeout SECONDS]``. A command that fails or times out shows as ``inf``.
uv and pip-compile default to the ones on PATH (e.g. a venv made with
``pip install uv pip-tools``); a tool that is missing is left out. pip-compile
and uv are run without any pip configuration file, like xv, which reads none.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INPUTS: dict[str, list[str]] = {
    "boto3-old-urllib3": ["boto3", "urllib3<1.25.4"],
    "django-celery": ["django>=4.2", "celery[redis]"],
    "pandas": ["pandas"],
    "jupyter": ["jupyter"],
    "airflow": ["apache-airflow"],
}
PY = f"{sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]}"
TIMEOUT = 300.0  # seconds per command by default
LIMIT = [TIMEOUT]  # what --timeout asked for


def command(tool: str, exe: str, src: Path, out: Path, cache: Path) -> list[str]:
    if tool == "xv":
        return [exe, str(src), "-o", str(out), "--cache-dir", str(cache), "-q"]
    if tool == "uv":
        args = ["pip", "compile", str(src), "-o", str(out), "--cache-dir", str(cache)]
        return [exe, *args, "--python", sys.executable, "-q"]
    return [exe, str(src), "-o", str(out), "--cache-dir", str(cache), "-q", "--no-header"]


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            out[name.split("[")[0].strip().lower().replace("_", "-")] = version.strip()
    return out


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, bool]:
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=LIMIT[0])
    except subprocess.TimeoutExpired:
        return float("inf"), False
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(f"  {' '.join(cmd[:2])} failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
    return seconds, done.returncode == 0


def bench(tools: dict[str, str], name: str, reqs: list[str], work: Path) -> dict[str, object]:
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}
    src = work / f"{name}.in"
    src.write_text("\n".join(reqs) + "\n")
    row: dict[str, object] = {}
    for tool, exe in tools.items():
        cache = work / f"cache-{tool}-{name}"
        out = work / f"{name}-{tool}.txt"
        cold, ok = run(command(tool, exe, src, out, cache), env)
        # Each tool prefers the pins of an existing output file: drop it, so the
        # warm run resolves again instead of checking the previous answer.
        cold_pins = pins(out) if ok and out.exists() else None
        out.unlink(missing_ok=True)
        warm, ok2 = run(command(tool, exe, src, out, cache), env) if ok else (float("inf"), False)
        warm_pins = pins(out) if ok2 and out.exists() else None
        row[tool] = (cold, warm, cold_pins if cold_pins == warm_pins else None)
    return row


def report(rows: dict[str, dict[str, object]], tools: list[str]) -> None:
    head = f"{'input':<20}" + "".join(f"{t + ' cold':>18}{t + ' warm':>18}" for t in tools)
    print(head)
    for name, row in rows.items():
        cells = ""
        for t in tools:
            cold, warm, _ = row[t]  # type: ignore[misc]
            cells += f"{cold:>18.2f}{warm:>18.2f}"
        print(f"{name:<20}{cells}")
    print("\nratios (xv / other; below 1 means xv is faster)")
    for name, row in rows.items():
        xv_cold, xv_warm, xv_pins = row["xv"]  # type: ignore[misc]
        for t in tools:
            if t == "xv":
                continue
            cold, warm, other = row[t]  # type: ignore[misc]
            same = "same pins" if xv_pins == other else f"DIFFERENT pins: {diff(xv_pins, other)}"
            print(
                f"  {name:<20} vs {t:<12} cold {ratio(xv_cold, cold)}  warm {ratio(xv_warm, warm)}"
                f"  {same}"
            )


def ratio(mine: float, other: float) -> str:
    if other == float("inf"):
        return "   n/a"  # the other tool failed or timed out
    return f"{mine / other:6.2f}"


def diff(a: object, b: object) -> str:
    if not isinstance(a, dict) or not isinstance(b, dict):
        return "one side failed"
    keys = sorted(set(a) | set(b))
    return ", ".join(f"{k}: {a.get(k)} vs {b.get(k)}" for k in keys if a.get(k) != b.get(k))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xv", default=shutil.which("xv-compile"))
    parser.add_argument("--uv", default=shutil.which("uv"))
    parser.add_argument("--pip-compile", default=shutil.which("pip-compile"))
    parser.add_argument("--only", action="append", choices=sorted(INPUTS))
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per command")
    args = parser.parse_args()
    LIMIT[0] = args.timeout
    if not args.xv:
        sys.exit("xv-compile not found (install xv, or pass --xv)")
    found = {"xv": args.xv, "uv": args.uv, "pip-compile": args.pip_compile}
    tools = {name: exe for name, exe in found.items() if exe and shutil.which(exe)}
    if "xv" not in tools:
        sys.exit(f"xv-compile not found at {args.xv}")
    print(f"Python {PY}; tools: {tools}")
    rows: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="xv-bench-resolve-") as tmp:
        for name in args.only or INPUTS:
            print(f"- {name} ...", file=sys.stderr, flush=True)
            rows[name] = bench(tools, name, INPUTS[name], Path(tmp))
    report(rows, list(tools))


if __name__ == "__main__":
    main()
