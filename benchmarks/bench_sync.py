"""Benchmark: xv-sync against ``uv pip sync`` (and pip-sync) into fresh venvs.

For each tool and round: a cold sync (an empty cache directory of its own), a warm sync
(the same cache, a new venv) and a no-op sync (the warm venv again). Venv creation is not
timed. Each command's peak memory is the peak of the summed RSS of its whole process tree
(sampled every 50 ms: pool workers and the forkserver count), with the largest single
process beside it, and the peak of the summed PSS (a page forked workers share with
their parent counts once). Ratios are xv's over uv's, from the same run; rounds are interleaved,
each tool going first in turn (xv uv, uv xv, ...), so a machine loaded by others weighs on both
alike. Run:

    python benchmarks/bench_sync.py [--lock FILE | --compile IN] [--runs N] [--uv PATH]
        [--xv [LABEL=]PATH ...] [--cold-only | --warm-only]

``--xv`` (repeatable) times other xv-syncs in the same interleaved rounds, e.g. a checkout
of main as ``before=...``; ``--cold-only`` skips the warm and no-op syncs; ``--warm-only``
fills each tool's cache once (untimed) and then times only warm and no-op syncs, the cache
kept across rounds.

``--compile fixtures/sync/big.in`` compiles that input with uv first (``--generate-hashes``,
for the running Python): 326 pins, the issue's ~300-package lock; ``fixtures/sync/noop180.in``
gives 181 pins for the no-op figure. pip-sync drives the target's own pip, so its venvs
get pip (``--pip-sync``; left out unless given); the others get ``--without-pip`` venvs.
Python byte-code caching is on for xv (PYTHONDONTWRITEBYTECODE is dropped), as for users.
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
from dataclasses import dataclass, field
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


def _process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def _proc_kb(pid: int, name: str, field: str) -> int:
    """The kB figure ``field`` of ``/proc/<pid>/<name>`` (0 when the process has gone)."""
    try:
        with open(f"/proc/{pid}/{name}") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rss_kb(pid: int) -> int:
    return _proc_kb(pid, "status", "VmRSS:")


def _pss_kb(pid: int) -> int:
    """Proportional set size: a page shared by n processes counts 1/n in each. xv-sync's
    forked workers share most of their pages with it; summed RSS counts those once per
    process, summed PSS once in all."""
    return _proc_kb(pid, "smaps_rollup", "Pss:")


@dataclass
class Sample:
    seconds: float
    tree_mb: float  # peak of the summed RSS of every process of the command
    largest_mb: float  # the largest single process's peak
    processes: int
    pss_mb: float = 0.0  # peak of the summed PSS (see _pss_kb)


@dataclass
class Results:
    cold: list[Sample] = field(default_factory=list)
    warm: list[Sample] = field(default_factory=list)
    noop: list[Sample] = field(default_factory=list)


def timed(argv: list[str], env: dict[str, str]) -> Sample:
    """Run ``argv``; wall time and memory of its process tree (Linux /proc; 0 elsewhere)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak_sum, peak_pss, peaks = 0, 0, dict[int, int]()
    while proc.poll() is None:
        if os.path.isdir("/proc"):
            total = pss = 0
            for pid in _process_tree(proc.pid):
                rss = _rss_kb(pid)
                total += rss
                pss += _pss_kb(pid)
                peaks[pid] = max(peaks.get(pid, 0), rss)
            peak_sum, peak_pss = max(peak_sum, total), max(peak_pss, pss)
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    output = proc.stdout.read().decode() if proc.stdout else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{output}")
    largest = max(peaks.values(), default=0)
    return Sample(elapsed, peak_sum / 1024, largest / 1024, len(peaks), peak_pss / 1024)


def one_round(
    name: str,
    command: Command,
    lock: Path,
    work: Path,
    pip: bool,
    into: Results,
    cold_only: bool,
    warm_only: bool = False,
) -> None:
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cache = work / f"{name}-cache"
    env["PIP_CACHE_DIR"] = str(cache)
    rounds = (("cold", into.cold), ("warm", into.warm))[: 1 if cold_only else 2]
    if warm_only:
        if not cache.exists():  # fill the cache once, untimed
            make_venv(work / f"{name}-fill", pip)
            timed(command(lock, work / f"{name}-fill", cache), env)
            shutil.rmtree(work / f"{name}-fill")
        rounds = rounds[1:]
    for label, samples in rounds:
        venv = work / f"{name}-{label}"
        make_venv(venv, pip)
        samples.append(timed(command(lock, venv, cache), env))
        got = samples[-1]
        print(f"  {name} {label}: {got.seconds:.2f} s, {got.tree_mb:.0f} MB", flush=True)
        if label == "warm":
            into.noop.append(timed(command(lock, venv, cache), env))
        shutil.rmtree(venv)
    if not warm_only:
        shutil.rmtree(cache, ignore_errors=True)


def compile_lock(uv: str, source: Path, out: Path) -> Path:
    argv = [uv, "pip", "compile", str(source), "-o", str(out), "--generate-hashes", "-q"]
    subprocess.run([*argv, "--python", sys.executable], check=True)
    return out


def median(samples: list[Sample], key: str) -> float:
    return statistics.median(getattr(s, key) for s in samples) if samples else float("nan")


def report(results: dict[str, Results], packages: int, lock: Path, runs: int) -> None:
    print(f"{packages} packages from {lock.name}, {runs} interleaved round(s), medians")
    print(
        f"{'tool':<13}{'cold s':>8}{'warm s':>8}{'no-op s':>9}{'cold MB':>9}{'(largest, procs)':>18}"
        f"{'cold PSS':>10}"
    )
    for name, r in results.items():
        largest = (
            f"{median(r.cold, 'largest_mb'):.0f}, {max((s.processes for s in r.cold), default=0)}"
        )
        print(
            f"{name:<13}{median(r.cold, 'seconds'):>8.2f}{median(r.warm, 'seconds'):>8.2f}"
            f"{median(r.noop, 'seconds'):>9.2f}{median(r.cold, 'tree_mb'):>9.0f}{largest:>18}"
            f"{median(r.cold, 'pss_mb'):>10.0f}"
        )
    uv = results.get("uv pip sync")
    for name, xv in results.items():
        if not name.startswith("xv-sync") or uv is None:
            continue
        ratios = [
            f"{label} {median(getattr(xv, attr), key) / median(getattr(uv, attr), key):.2f}x"
            for label, attr, key in (
                ("cold", "cold", "seconds"), ("warm", "warm", "seconds"),
                ("no-op", "noop", "seconds"), ("cold RSS", "cold", "tree_mb"),
                ("cold PSS", "cold", "pss_mb"), ("warm RSS", "warm", "tree_mb"),
            )
        ]  # fmt: skip
        print(f"{name}/uv: " + ", ".join(ratios))


def _xv_command(exe: str) -> Command:
    return lambda lock, venv, cache: [exe, str(lock), "-p", str(venv), "--cache-dir", str(cache), "-q"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=DEFAULT_LOCK)
    parser.add_argument("--compile", type=Path, help="an input to compile with uv into the lock")
    parser.add_argument("--uv")
    parser.add_argument("--pip-sync")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--xv", action="append", default=[], metavar="[LABEL=]PATH",
        help="an xv-sync to time (repeatable, e.g. before=/tmp/old/xv-sync); default: this one's",
    )  # fmt: skip
    parser.add_argument("--cold-only", action="store_true", help="skip the warm and no-op syncs")
    parser.add_argument("--warm-only", action="store_true", help="time only warm and no-op syncs")
    args = parser.parse_args()
    uv = find_tool("uv", args.uv)
    xvs = [x.rpartition("=")[::2] for x in args.xv]  # (label, path); label "" when not given
    if not xvs and (found := find_tool("xv-sync", None)):
        xvs = [("", found)]
    tools: list[tuple[str, Command, bool]] = []
    for label, exe in xvs:
        tools.append((f"xv-sync{'-' + label if label else ''}", _xv_command(exe), False))
    if uv:
        tools.append(("uv pip sync", lambda lock, venv, cache: [uv, "pip", "sync", str(lock), "--python", str(venv / "bin" / "python"), "--cache-dir", str(cache), "-q"], False))  # fmt: skip
    if args.pip_sync:
        pip_sync = args.pip_sync
        tools.append(("pip-sync", lambda lock, venv, cache: [pip_sync, "--python-executable", str(venv / "bin" / "python"), "-q", str(lock)], True))  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="xv-bench-sync-") as tmp:
        work = Path(tmp)
        lock = args.lock
        if args.compile:
            if not uv:
                raise SystemExit("--compile needs uv")
            lock = compile_lock(uv, args.compile, work / (args.compile.stem + ".txt"))
        packages = sum(1 for line in lock.read_text().splitlines() if "==" in line)
        results = {name: Results() for name, _, _ in tools}
        for n in range(args.runs):
            start = n % len(tools)  # each tool goes first in turn, as in bench_resolve
            for name, command, pip in tools[start:] + tools[:start]:
                one_round(
                    name.replace(" ", "-"), command, lock, work, pip, results[name],
                    args.cold_only, args.warm_only,
                )  # fmt: skip
    report(results, packages, lock, args.runs)


if __name__ == "__main__":
    main()
