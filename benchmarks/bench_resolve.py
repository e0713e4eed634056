"""Benchmark: xv-compile against ``uv pip compile`` and pip-compile on real inputs.

Each input is compiled by each tool twice, for the running Python: cold (an empty
cache directory of its own) and warm (the same directory again, without the
previous output file, whose pins every tool would otherwise prefer). Times are wall-clock seconds of the
whole command; ratios are xv's time over the other tool's. The pinned versions of
the tools are compared too, since a fast wrong answer is no answer.

Run: ``python benchmarks/bench_resolve.py [--uv PATH] [--pip-compile PATH] [--only NAME]
[--timeout SECONDS] [--repeat N] [--xv-base PATH]``. Each figure is the median of ``--repeat``
runs, the tools interleaved, each going first in turn; ``--xv-base`` adds another xv-compile
(e.g. an older commit) as tool ``xv-base``. The xv rows also give the fetch counts of the cold
runs (median): waits on guessed fetches and fetches nobody guessed, i.e. the round trips on
the solver's critical path.
CPU is user+sys seconds of the command and all its descendants, those it did not wait for
included (on Linux this process becomes their reaper: xv-compile's page workers, which
were not counted before). Under each ratio of cold times, the ratio of each round (tools
run one after the other) and their median: steadier than the ratio of medians on a
machine whose speed drifts.
Peak memory is the largest sum of the resident sizes of the command and all its child
processes (sampled every 20 ms from /proc; Linux only), and beside it the largest sum of
their proportional set sizes (PSS: shared pages counted once; see tree_rss_kb). A
command that fails or times out shows as ``inf``.
``PYTHONDONTWRITEBYTECODE`` is dropped from the tools' environment: an installed xv has its
bytecode compiled, and an editable one gets it on the first run instead of compiling every time.
uv and pip-compile default to the ones on PATH (e.g. a venv made with
``pip install uv pip-tools``); a tool that is missing is left out. pip-compile
and uv are run without any pip configuration file, like xv, which reads none.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from math import inf
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "compile"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_metadata import PROJECTS  # noqa: E402  (158 popular projects)


def _fixture(name: str) -> list[str]:
    path = FIXTURES / name
    return path.read_text().split("\n") if path.exists() else []


INPUTS: dict[str, list[str]] = {
    # The inputs of issue 15's table: 2 requirements -> 13 pins, web, fastapi, data science.
    "basic": _fixture("basic.in"),
    "web": _fixture("web.in"),
    "fastapi": _fixture("fastapi.in"),
    "data-science": _fixture("data.in"),
    "boto3-old-urllib3": ["boto3", "urllib3<1.25.4"],
    "django-celery": ["django>=4.2", "celery[redis]"],
    "pandas": ["pandas"],
    "jupyter": ["jupyter"],
    "airflow": ["apache-airflow"],
    "popular-158": list(PROJECTS),  # issue 15's 150+-requirement input
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


PEAK_MB: list[float] = [0.0]  # the last command's peak (tree) RSS
PEAK_PSS_MB: list[float] = [0.0]  # ... and PSS (see tree_rss_kb)
CPU_S: list[float] = [0.0]  # the last command's CPU seconds (user + sys, with its children)


def tree_rss_kb(pid: int) -> tuple[int, int]:
    """Resident kB of ``pid`` and all its descendants (0 for what has gone), as RSS and
    as PSS (proportional set size: a page shared by n of them counts 1/n in each).

    Summed RSS counts twice the pages processes share: xv-compile's page workers
    (xv.index.pageworker) map the same interpreter and libraries as the command, ~6 MB
    each, which is in every one's RSS. Summed PSS is the memory the tree takes. RSS is the
    issue's measure and stays the headline figure; PSS is printed beside it.

    A child that has not yet exec'd (its command line still its parent's) is not counted:
    between ``vfork`` and ``exec`` it runs in its parent's memory, whose resident size it
    reports (and after a ``fork`` it shares those pages until it execs). Counted, one such
    moment doubled a compile's peak: a compile that starts build backends (popular-158)
    measured ~300 MB of "peak" for a ~150 MB parent, whichever tool launched them."""
    total, pss, todo = 0, 0, [(pid, b"")]
    while todo:
        p, parent_cmdline = todo.pop()
        try:
            with open(f"/proc/{p}/cmdline", "rb") as command:
                cmdline = command.read()
            if cmdline != parent_cmdline:
                with open(f"/proc/{p}/status") as status:
                    total += next((int(x.split()[1]) for x in status if x.startswith("VmRSS:")), 0)
                with open(f"/proc/{p}/smaps_rollup") as rollup:
                    pss += next((int(x.split()[1]) for x in rollup if x.startswith("Pss:")), 0)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as kids:
                    todo.extend((int(k), cmdline) for k in kids.read().split())
        except (OSError, ValueError):
            continue
    return total, pss


def become_subreaper() -> bool:
    """Have the processes a command leaves behind (xv-compile's page workers end when it
    has, without being waited for) become this process's children when it ends, so that
    :func:`reap_orphans` counts their CPU in ``RUSAGE_CHILDREN``: else a command's CPU
    is its own and its waited-for children's only. Linux only (``PR_SET_CHILD_SUBREAPER``)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


SUBREAPER = [False]


def reap_orphans(timeout: float = 10.0) -> None:
    """Wait for the processes the last command left behind (see :func:`become_subreaper`)."""
    if not SUBREAPER[0]:
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # none left
        if pid == 0:
            time.sleep(0.01)


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, bool, str]:
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            rss, pss = tree_rss_kb(proc.pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _, stderr = proc.communicate(timeout=LIMIT[0])
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return float("inf"), False, ""
    finally:
        done.set()
        sampler.join()
    seconds = time.perf_counter() - start
    PEAK_MB[0], PEAK_PSS_MB[0] = peak[0] / 1024, peak[1] / 1024
    reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # commands run one at a time
    CPU_S[0] = sum(getattr(after, f) - getattr(before, f) for f in ("ru_utime", "ru_stime"))
    if proc.returncode != 0:
        print(f"  {' '.join(cmd[:2])} failed: {stderr.strip()[-300:]}", file=sys.stderr)
    return seconds, proc.returncode == 0, stderr


def waits(stderr: str) -> int | None:
    """Round trips on the critical path from xv's fetch counts (``XV_FETCH_STATS``)."""
    found = re.search(r"xv fetch: (\d+) waits on guesses(?: \([^)]*\))?, (\d+) unguessed", stderr)
    return int(found[1]) + int(found[2]) if found else None


# (cold s, warm s, pins, round trips on the critical path, cold peak MB, warm peak MB,
#  cold CPU s, warm CPU s, cold peak PSS MB)
Cell = tuple[float, float, object, "float | None", float, float, float, float, float]


def bench_once(tools: dict[str, str], name: str, src: Path, work: Path, n: int) -> dict[str, Cell]:
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "XV_FETCH_STATS": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    row: dict[str, Cell] = {}
    for tool, exe in tools.items():
        cache = work / f"cache-{tool}-{name}-{n}"
        out = work / f"{name}-{tool}-{n}.txt"
        kind = "xv" if tool.startswith("xv") else tool
        cold, ok, err = run(command(kind, exe, src, out, cache), env)
        cold_mb, cold_cpu, cold_pss = PEAK_MB[0], CPU_S[0], PEAK_PSS_MB[0]
        # Each tool prefers the pins of an existing output file: drop it, so the
        # warm run resolves again instead of checking the previous answer.
        cold_pins = pins(out) if ok and out.exists() else None
        out.unlink(missing_ok=True)
        warm, ok2, _ = run(command(kind, exe, src, out, cache), env) if ok else (inf, False, "")
        warm_mb, warm_cpu = (PEAK_MB[0], CPU_S[0]) if ok else (0.0, inf)
        warm_pins = pins(out) if ok2 and out.exists() else None
        same = cold_pins if cold_pins == warm_pins else None
        row[tool] = (cold, warm, same, waits(err), cold_mb, warm_mb, cold_cpu, warm_cpu, cold_pss)
        shutil.rmtree(cache, ignore_errors=True)
    return row


def _rotated(tools: dict[str, str], n: int) -> dict[str, str]:
    """The tools in the order run ``n`` runs them: each goes first in turn. Always first, a
    tool measured slower: on basic, xv at a01cbb2 (first) took 0.61 and 0.73 s cold against
    0.53 and 0.63 s for xv at 13259ca (second), while 12 interleaved pairs of the two in
    either order gave 0.70 vs 0.675 s and 0.69 vs 0.70 s. The index may answer a page
    faster once it has just served it."""
    names = list(tools)
    start = n % len(names)
    return {tool: tools[tool] for tool in names[start:] + names[:start]}


# input -> tool -> its cold seconds in each round (see report's ratios per round)
ROUNDS: dict[str, dict[str, list[float]]] = {}


def bench(
    tools: dict[str, str], name: str, reqs: list[str], work: Path, repeat: int
) -> dict[str, Cell]:
    src = work / f"{name}.in"
    src.write_text("\n".join(reqs) + "\n")
    runs = [bench_once(_rotated(tools, n), name, src, work, n) for n in range(repeat)]
    ROUNDS[name] = {tool: [r[tool][0] for r in runs] for tool in tools}
    row: dict[str, Cell] = {}
    for tool in tools:
        cells = [r[tool] for r in runs]
        trips = [c[3] for c in cells if c[3] is not None]
        row[tool] = (
            statistics.median(c[0] for c in cells),
            statistics.median(c[1] for c in cells),
            cells[0][2] if all(c[2] == cells[0][2] for c in cells) else None,
            statistics.median(trips) if trips else None,
            statistics.median(c[4] for c in cells),
            statistics.median(c[5] for c in cells),
            statistics.median(c[6] for c in cells),
            statistics.median(c[7] for c in cells),
            statistics.median(c[8] for c in cells),
        )
    return row


def report(rows: dict[str, dict[str, Cell]], tools: list[str]) -> None:
    print(
        "seconds (cold / warm), CPU seconds (user+sys, cold / warm) and peak MB of all"
        " processes (cold / warm; then cold as PSS), median"
    )
    for name, row in rows.items():
        cells = []
        for t in tools:
            cold, warm, _, trips, cold_mb, warm_mb, cold_cpu, warm_cpu, pss = row[t]
            extra = f", {trips:g} waits" if trips is not None else ""
            cpu = f"cpu {cold_cpu:.2f}/{warm_cpu:.2f}"
            mb = f"{cold_mb:.0f}/{warm_mb:.0f} MB (PSS {pss:.0f})"
            cells.append(f"{t} {cold:.2f}/{warm:.2f} s {cpu} {mb}{extra}")
        print(f"  {name:<18} " + "  |  ".join(cells))
    print("\nratios (xv / other; below 1 means xv is faster or smaller)")
    for name, row in rows.items():
        xv_cold, xv_warm, xv_pins, _, xv_cmb, xv_wmb, xv_ccpu, xv_wcpu, xv_pss = row["xv"]
        for t in tools:
            if t == "xv":
                continue
            cold, warm, other, _, cmb, wmb, ccpu, wcpu, pss = row[t]
            same = "same pins" if xv_pins == other else f"DIFFERENT pins: {diff(xv_pins, other)}"
            print(
                f"  {name:<18} vs {t:<8} cold {ratio(xv_cold, cold)}  warm {ratio(xv_warm, warm)}"
                f"  cpu cold {ratio(xv_ccpu, ccpu)} warm {ratio(xv_wcpu, wcpu)}"
                f"  peak MB cold {ratio(xv_cmb, cmb)} warm {ratio(xv_wmb, wmb)}"
                f" PSS cold {ratio(xv_pss, pss)}  {same}"
            )
            rounds = ROUNDS.get(name, {})
            if len(rounds.get(t, [])) > 1:
                each = per_round(rounds["xv"], rounds[t])
                print(f"  {'':<18}    {t:<8} cold, round by round: {each}")


def per_round(mine: list[float], other: list[float]) -> str:
    """The cold ratio of each round (the tools one after the other) and their median: a
    machine whose speed drifts between rounds weighs on both sides of each ratio alike,
    where the ratio of the medians mixes rounds (here, the same two trees measured 1.10x
    apart that way and 1.01x apart in 12 interleaved pairs)."""
    ratios = [a / b for a, b in zip(mine, other, strict=True) if b not in (0, inf)]
    if not ratios:
        return "n/a"
    shown = " ".join(f"{r:.2f}" for r in ratios)
    return f"{shown} (median {statistics.median(ratios):.2f})"


def ratio(mine: float, other: float) -> str:
    if other == float("inf") or other == 0:
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
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--xv-base", help="another xv-compile to compare with (tool xv-base)")
    args = parser.parse_args()
    LIMIT[0] = args.timeout
    SUBREAPER[0] = become_subreaper()
    if not args.xv:
        sys.exit("xv-compile not found (install xv, or pass --xv)")
    found = {
        "xv": args.xv,
        "xv-base": args.xv_base,
        "uv": args.uv,
        "pip-compile": args.pip_compile,
    }
    tools = {name: exe for name, exe in found.items() if exe and shutil.which(exe)}
    if "xv" not in tools:
        sys.exit(f"xv-compile not found at {args.xv}")
    print(f"Python {PY}; tools: {tools}")
    rows: dict[str, dict[str, Cell]] = {}
    with tempfile.TemporaryDirectory(prefix="xv-bench-resolve-") as tmp:
        for name in args.only or INPUTS:
            print(f"- {name} ...", file=sys.stderr, flush=True)
            rows[name] = bench(tools, name, INPUTS[name], Path(tmp), args.repeat)
    report(rows, list(tools))


if __name__ == "__main__":
    main()
