"""Benchmark: how cold compile grows with the number of packages, and what a missing name costs.

A synthetic index on 127.0.0.1 (``tests/support/localindex``): projects ``s0000``...,
each with three wheel-only releases and one or two dependencies on earlier projects
(a DAG, so every input resolves), no PEP 658 files (metadata is read by range
requests, as from the mirror this project is measured against). For each size N the
input requires all N projects; each tool compiles it cold (a cache directory of its
own), and the wall-clock time, the peak resident memory of the command and all its
children, and the requests the index saw are printed, with time and memory per
package (a flat column means linear growth). ``--unknown K`` also compiles K names
the index does not have: each must cost one request.

``--sync`` measures ``xv-sync`` against ``uv pip sync`` instead: for each size N a hashed
lock pins ``s0000==2.0``... (N pins, ``--hash`` from the index), and each tool syncs it
cold (an empty cache of its own) into a fresh venv. The ratio column is xv over uv.

``--xv-base`` (``--xv-sync-base`` with ``--sync``) adds another xv (e.g. an older commit) as
tool ``xv-base``, run interleaved with the others; its ratio column is over uv too.

Run: ``python benchmarks/bench_scale.py [--sizes 100,300,1000,2000] [--unknown 20000]
[--sync] [--uv PATH] [--xv PATH] [--xv-base PATH] [--repeat N]`` from the repository root
(it imports the test support).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_resolve import LIMIT, PEAK_MB, pins, run  # noqa: E402
from tests.support.localindex import LocalIndex, Pkg  # noqa: E402


def packages(n: int) -> list[Pkg]:
    out = []
    for i in range(n):
        deps = [f"s{(i * 7919 + 13) % i:04d}>=1.0"] if i else []
        if i > 2:
            deps.append(f"s{i // 3:04d}")
        for version in ("1.0", "1.1", "2.0"):
            out.append(Pkg(f"s{i:04d}", version, deps=deps, sdist=False))
    return out


def command(tool: str, exe: str, src: Path, out: Path, cache: Path, url: str) -> list[str]:
    args = [str(src), "-o", str(out), "--cache-dir", str(cache), "--index-url", url, "-q"]
    if tool == "uv":
        return [exe, "pip", "compile", *args, "--python", sys.executable]
    return [exe, *args]


def sync_command(tool: str, exe: str, lock: Path, venv: Path, cache: Path, url: str) -> list[str]:
    args = [str(lock), "--cache-dir", str(cache), "--index-url", url, "-q"]
    if tool == "uv":
        return [exe, "pip", "sync", *args, "--python", str(venv / "bin" / "python")]
    return [exe, *args, "-p", str(venv)]


def hashed_lock(idx: LocalIndex, size: int, path: Path) -> Path:
    """N pins at 2.0, each with the sha256 of every file the index lists for it."""
    lines = []
    for i in range(size):
        name = f"s{i:04d}"
        hashes = sorted(e.sha256 for e in idx.entries(name) if e.pkg.version == "2.0")
        lines.append(" ".join([f"{name}==2.0", *(f"--hash=sha256:{h}" for h in hashes)]))
    path.write_text("\n".join(lines) + "\n")
    return path


def measure_sync(
    tools: dict[str, str], idx: LocalIndex, size: int, work: Path, repeat: int
) -> dict[str, tuple[float, float, int, object]]:
    """Cold syncs of an N-pin hashed lock into fresh venvs, interleaved; medians."""
    lock = hashed_lock(idx, size, work / f"lock-{size}.txt")
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("VIRTUAL_ENV", None)
    cells: dict[str, list[tuple[float, float, int, object]]] = {t: [] for t in tools}
    for n in range(repeat):
        for tool, exe in tools.items():
            cache, venv = work / f"cache-{tool}-{n}", work / f"venv-{tool}-{n}"
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
            before = len(idx.requests)
            seconds, ok, _ = run(sync_command(tool, exe, lock, venv, cache, idx.url), env)
            got = len(list(venv.glob("lib/python*/site-packages/*.dist-info"))) if ok else None
            cells[tool].append((seconds, PEAK_MB[0], len(idx.requests) - before, got))
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(venv, ignore_errors=True)
    return _medians(cells)


def _medians(
    cells: dict[str, list[tuple[float, float, int, object]]],
) -> dict[str, tuple[float, float, int, object]]:
    return {
        t: (
            statistics.median(c[0] for c in cs),
            statistics.median(c[1] for c in cs),
            int(statistics.median(c[2] for c in cs)),
            cs[0][3],
        )
        for t, cs in cells.items()
    }


def measure(
    tools: dict[str, str], idx: LocalIndex, names: list[str], work: Path, repeat: int
) -> dict[str, tuple[float, float, int, object]]:
    src = work / "scale.in"
    src.write_text("\n".join(names) + "\n")
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cells: dict[str, list[tuple[float, float, int, object]]] = {t: [] for t in tools}
    for n in range(repeat):
        for tool, exe in tools.items():
            cache, out = work / f"cache-{tool}-{n}", work / f"out-{tool}-{n}.txt"
            before = len(idx.requests)
            seconds, ok, _ = run(command(tool, exe, src, out, cache, idx.url), env)
            got = pins(out) if ok and out.exists() else None
            cells[tool].append((seconds, PEAK_MB[0], len(idx.requests) - before, got))
            shutil.rmtree(cache, ignore_errors=True)
            out.unlink(missing_ok=True)
    return _medians(cells)


def print_row(size: int, row: dict[str, tuple[float, float, int, object]], sync: bool) -> None:
    """One line per tool; the per-package columns are left blank for an empty input."""
    uv = row.get("uv")
    for tool, (seconds, mb, requests, got) in row.items():
        if sync:
            same = f"{got} installed"
        else:
            same = "same as uv" if uv is None or got == uv[3] else "DIFFERENT"
            same = f"{len(got or {})} {same}"  # type: ignore[arg-type]
        per_s = f"{seconds / size * 1000:10.2f}" if size else f"{'-':>10}"
        per_mb = f"{mb / size:7.3f}" if size else f"{'-':>7}"
        ratio = f"{seconds / uv[0]:6.2f}x" if uv is not None and uv[0] and tool != "uv" else " " * 7
        print(
            f"{size:<6} {tool:<7} {seconds:8.2f} {per_s} {mb:8.0f} {per_mb} {requests:9d} {ratio}  {same}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xv", default=shutil.which("xv-compile"))
    parser.add_argument("--uv", default=shutil.which("uv"))
    parser.add_argument("--sizes", default="100,300,1000,2000")
    parser.add_argument("--unknown", type=int, default=0, help="also K names the index lacks")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--sync", action="store_true", help="time cold syncs of N-pin locks")
    parser.add_argument("--xv-sync", default=shutil.which("xv-sync"))
    parser.add_argument("--xv-base", help="another xv-compile to compare with (tool xv-base)")
    parser.add_argument("--xv-sync-base", help="another xv-sync, with --sync (tool xv-base)")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    LIMIT[0] = args.timeout
    xv = args.xv_sync if args.sync else args.xv
    base = args.xv_sync_base if args.sync else args.xv_base
    tools = {t: exe for t, exe in (("xv", xv), ("xv-base", base), ("uv", args.uv)) if exe}
    sizes = [int(s) for s in args.sizes.split(",") if s]
    with tempfile.TemporaryDirectory(prefix="xv-bench-scale-") as tmp:
        work = Path(tmp)
        idx = LocalIndex(packages(max(sizes, default=1)), metadata_files=False)
        idx.entries()  # builds every wheel now: the first request would, inside a timed run
        print("N      tool     seconds  s/pkg(ms)  peak MB  MB/pkg  requests  xv/uv  pins")
        for size in sizes:
            if args.sync:
                row = measure_sync(tools, idx, size, work, args.repeat)
            else:
                row = measure(tools, idx, [f"s{i:04d}" for i in range(size)], work, args.repeat)
            print_row(size, row, args.sync)
        if args.unknown:
            names = [f"missing-{i:05d}" for i in range(args.unknown)]
            for tool, (seconds, mb, requests, _) in measure(tools, idx, names, work, 1).items():
                print(
                    f"{args.unknown} unknown names, {tool}: {seconds:.2f} s, {mb:.0f} MB,"
                    f" {requests} requests ({requests / args.unknown:.2f} per name)"
                )
        idx.close()


if __name__ == "__main__":
    main()
