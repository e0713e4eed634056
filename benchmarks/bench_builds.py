"""Benchmark: builds, as ratios to uv on the same machine in one run (issue 13's targets).

1. ``-e ./proj`` of a project with static metadata, recompiled: xv with the editable vs
   xv with only its dependency (target: at most 1.2x, i.e. no build).
2. Compiling ``docopt==0.6.2`` (only an sdist; setuptools backend) cold (empty caches)
   and warm, xv vs ``uv pip compile`` (target cold: at most 1.5x uv; warm: no build).
3. Syncing a lock holding that sdist into a second fresh venv (the first sync built it),
   xv vs ``uv pip sync`` (target: at most 1.5x uv, no build), from a plain lock and from a
   hashed one (``--generate-hashes``: the sdist's sha256 finds the built wheel, no page).

Run: ``python benchmarks/bench_builds.py [--uv PATH] [--runs N] [--editable-only]
[--sync-only] [--xv-sync [LABEL=]PATH ...]`` (uv defaults to the one on PATH or in
/tmp/ref/bin; ``--editable-only``: figure 1 alone, no uv; ``--sync-only``: figure 3 alone;
``--xv-sync``, repeatable: other xv-syncs timed in the same interleaved rounds of figure 3,
e.g. a checkout of main as ``before=...``). Uses the real default index.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_sync import find_tool, make_venv

XV_COMPILE = str(Path(sys.executable).parent / "xv-compile")
XV_SYNC = str(Path(sys.executable).parent / "xv-sync")


def timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def median(values: list[float]) -> float:
    return statistics.median(values)


def editable_recompile(work: Path, runs: int) -> tuple[float, float]:
    proj = work / "proj"
    (proj / "proj").mkdir(parents=True)
    (proj / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.2"]\nbuild-backend = "flit_core.buildapi"\n'
        '[project]\nname = "proj"\nversion = "1.0"\ndescription = "x"\ndependencies = ["idna"]\n'
    )
    (proj / "proj/__init__.py").write_text('"""x"""\n')
    (work / "with.in").write_text("-e ./proj\n")
    (work / "without.in").write_text("idna\n")
    cache = ["--cache-dir", str(work / "xv-cache")]
    timed([XV_COMPILE, "with.in", *cache], work)  # warm the index pages
    timed([XV_COMPILE, "without.in", *cache], work)
    # Interleaved (A B A B ...): on a loaded machine a block of A then a block of B
    # measures the load as much as the difference.
    pairs = [
        (
            timed([XV_COMPILE, "with.in", *cache], work),
            timed([XV_COMPILE, "without.in", *cache], work),
        )
        for _ in range(runs)
    ]
    return median([a for a, _ in pairs]), median([b for _, b in pairs])


def sdist_compile(work: Path, uv: str, runs: int) -> dict[str, float]:
    (work / "sdist.in").write_text("docopt==0.6.2\n")
    out: dict[str, list[float]] = {"xv cold": [], "uv cold": [], "xv warm": [], "uv warm": []}
    for i in range(runs):
        xv_cache, uv_cache = work / f"xvc{i}", work / f"uvc{i}"
        xv = [XV_COMPILE, "sdist.in", "--cache-dir", str(xv_cache)]
        uv_cmd = [uv, "pip", "compile", "sdist.in", "--cache-dir", str(uv_cache), "-q"]
        out["xv cold"].append(timed(xv, work))
        out["uv cold"].append(timed(uv_cmd, work))
        out["xv warm"].append(timed(xv, work))
        out["uv warm"].append(timed(uv_cmd, work))
    return {k: median(v) for k, v in out.items()}


def sdist_second_venv(
    work: Path, uv: str, runs: int, hashed: bool = False, xvs: dict[str, str] | None = None
) -> dict[str, float]:
    """``hashed``: the lock is ``uv pip compile --generate-hashes``'s (the sdist's sha256);
    ``xvs``: the xv-syncs to time by label (default: this one's, as ``xv``)."""
    xvs = xvs or {"xv": XV_SYNC}
    tag = "hashed" if hashed else "plain"
    lock = work / f"lock-{tag}.txt"
    if hashed:
        (work / "sdist-lock.in").write_text("docopt==0.6.2\n")
        argv = [uv, "pip", "compile", "sdist-lock.in", "--generate-hashes", "-q", "-o", lock.name]
        timed([*argv, "--cache-dir", str(work / "uv-lock-cache")], work)
    else:
        lock.write_text("docopt==0.6.2\n")
    tools = [*xvs, "uv"]
    out: dict[str, list[float]] = {tool: [] for tool in tools}
    caches = {tool: work / f"{tool}-sync-cache-{tag}" for tool in tools}

    def cmd(tool: str, venv: Path) -> list[str]:
        if tool != "uv":
            return [xvs[tool], str(lock), "-p", str(venv), "--cache-dir", str(caches[tool])]
        return [uv, "pip", "sync", str(lock), "-p", str(venv), "--cache-dir", str(caches["uv"])]

    for tool in tools:
        first = work / f"{tool}-first-{tag}"
        make_venv(first, with_pip=False)
        timed(cmd(tool, first), work)  # builds the sdist once
    for i in range(runs):  # interleaved (xv, uv, xv, uv, ...): the load weighs on both alike
        for tool in tools:
            venv = work / f"{tool}-venv{i}-{tag}"
            make_venv(venv, with_pip=False)  # not timed
            out[tool].append(timed(cmd(tool, venv), work))
    return {k: median(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uv")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--editable-only", action="store_true", help="only the first figure")
    parser.add_argument("--sync-only", action="store_true", help="only the third figure")
    parser.add_argument(
        "--xv-sync", action="append", default=[], metavar="[LABEL=]PATH",
        help="an xv-sync to time in figure 3 (repeatable); default: this one's",
    )  # fmt: skip
    args = parser.parse_args()
    xvs = {(label or "xv"): path for label, _, path in (x.rpartition("=") for x in args.xv_sync)}
    uv = find_tool("uv", args.uv)
    if uv is None and not args.editable_only:
        raise SystemExit("uv not found (pass --uv PATH)")
    with tempfile.TemporaryDirectory(prefix="xv-bench-builds-") as tmp:
        work = Path(tmp)
        if not args.sync_only:
            with_, without = editable_recompile(work, args.runs)
            print(f"recompile -e ./proj (static): {with_:.2f}s vs {without:.2f}s without it: "
                  f"{with_ / without:.2f}x (target <= 1.2x)")  # fmt: skip
        if args.editable_only:
            return
        assert uv is not None
        if not args.sync_only:
            c = sdist_compile(work, uv, args.runs)
            print(f"compile docopt==0.6.2 cold: xv {c['xv cold']:.2f}s uv {c['uv cold']:.2f}s: "
                  f"{c['xv cold'] / c['uv cold']:.2f}x (target <= 1.5x)")  # fmt: skip
            print(f"compile docopt==0.6.2 warm: xv {c['xv warm']:.2f}s uv {c['uv warm']:.2f}s: "
                  f"{c['xv warm'] / c['uv warm']:.2f}x")  # fmt: skip
        for hashed in (False, True):
            s = sdist_second_venv(work, uv, args.runs, hashed, xvs)
            label = "hashed lock" if hashed else "lock"
            for tool in s:
                if tool != "uv":
                    print(f"sync docopt==0.6.2 ({label}) into a second venv: {tool} {s[tool]:.2f}s "
                          f"uv {s['uv']:.2f}s: {s[tool] / s['uv']:.2f}x (target <= 1.5x)")  # fmt: skip


if __name__ == "__main__":
    main()
