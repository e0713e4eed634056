"""xv-sync killed at random points: the next run leaves a working environment, no leftovers.

Each trial copies a template environment (empty, or synced to a lock), starts a sync
to another lock in a forked child that SIGKILLs itself after N file operations
(``XV_TEST_KILL_AFTER``, N from a seeded RNG; a few trials kill on a timer instead),
then runs a normal sync (to the same lock, or to a third one: lock switching) and
checks the environment from inside its own interpreter: every distribution imports,
its requirements are installed, every file matches RECORD; and on disk: no
``*.xv-tmp`` file, no empty directory, no file that no RECORD owns.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.e2e.test_sync_local import make_venv
from tests.support.localindex import LocalIndex, Pkg
from xv.cli.sync import main
from xv.install import killpoint

CHAIN = 8


def _chain(version: str) -> list[Pkg]:
    """c0 <- c1 <- ... <- c7: removing in name order would remove dependencies first."""
    pkgs = []
    for i in range(CHAIN):
        deps = [f"c{i - 1}"] if i else []
        files = {f"c{i}/v{version[0]}.py": f"V = {version!r}\n", f"c{i}/common.py": "X = 1\n"}
        if i:  # importing a package imports what it requires
            files[f"c{i}/__init__.py"] = f"import c{i - 1}\nVERSION = {version!r}\n"
        scripts = {f"c{i}-cli": f"c{i}:main"} if i % 3 == 0 else {}
        pkgs.append(Pkg(f"c{i}", version, deps=deps, files=files, console_scripts=scripts))
    return pkgs


PKGS = [*_chain("1.0"), *_chain("2.0"), *(Pkg(f"x{i}", "1.0", deps=["c7"]) for i in range(4))]
LOCKS = {
    "empty": "",
    "one": "".join(f"c{i}==1.0\n" for i in range(CHAIN))
    + "".join(f"x{i}==1.0\n" for i in range(4)),
    "two": "".join(f"c{i}==2.0\n" for i in range(CHAIN)),
    "head": "".join(f"c{i}==1.0\n" for i in range(4)),
}
# (start, killed run's lock, repair run's lock): install, upgrade + removal, removal,
# and two lock switches.
SCENARIOS = [
    ("empty", "one", "one"),
    ("one", "two", "two"),
    ("one", "head", "head"),
    ("one", "two", "head"),
    ("empty", "one", "two"),
]
TRIALS_PER_SCENARIO = 7
TIMER_TRIALS = 4
COUNTING = 10_000  # a budget no sync here spends: the child reports what it used
CHECK = r"""
import base64, hashlib, importlib, importlib.metadata as md, json, os, sys
problems, dists = [], {}
only_requirements = sys.argv[1:] == ["requirements"]
for dist in md.distributions():
    name = dist.metadata["Name"]
    dists[name] = dist.version
    if only_requirements:  # in the middle of a run: is any visible distribution broken?
        for req in dist.requires or []:
            if not list(md.distributions(name=req.split()[0])):
                problems.append(f"{name}: requires {req}, which is not installed")
        continue
    if not dist.files or not any(str(f).endswith("RECORD") for f in dist.files):
        problems.append(f"{name}: no RECORD")
        continue
    for f in dist.files:
        path = f.locate()
        if f.hash is None:
            continue
        if not os.path.isfile(path):
            problems.append(f"{name}: {f} is missing")
            continue
        digest = base64.urlsafe_b64encode(hashlib.sha256(open(path, "rb").read()).digest())
        if digest.rstrip(b"=").decode() != f.hash.value:
            problems.append(f"{name}: {f} does not match RECORD")
    for req in dist.requires or []:
        if req.split()[0] not in [d.metadata["Name"] for d in md.distributions()]:
            problems.append(f"{name}: requires {req}, which is not installed")
    try:
        importlib.import_module(name)
    except Exception as exc:
        problems.append(f"{name}: import fails: {exc!r}")
print(json.dumps({"dists": dists, "problems": problems}))
"""


@pytest.fixture(scope="module")
def index(localindex_build_cache: Path) -> Iterator[LocalIndex]:
    with LocalIndex(PKGS, build_cache=localindex_build_cache) as idx:
        yield idx


@pytest.fixture(scope="module")
def templates(
    index: LocalIndex, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("kill")
    saved = {k: os.environ.get(k) for k in ("XV_CACHE_DIR", "XV_POOL", "VIRTUAL_ENV")}
    os.environ.update(XV_CACHE_DIR=str(root / "cache"), XV_POOL="thread")
    os.environ.pop("VIRTUAL_ENV", None)
    for name, text in LOCKS.items():
        (root / f"{name}.txt").write_text(text)
    out = {}
    for start in ("empty", "one"):
        venv = make_venv(root / f"template-{start}")
        assert sync(index, venv, root / f"{start}.txt") == 0
        out[start] = venv
    out["locks"] = root
    yield out
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def sync(index: LocalIndex, venv: Path, lock: Path) -> int:
    result = CliRunner().invoke(main, [str(lock), "-p", str(venv), "-i", index.url, "-q"])
    assert "Traceback" not in result.output, result.output
    return result.exit_code


def forked_sync(index: LocalIndex, venv: Path, lock: Path, budget: int | None, delay: float) -> int:
    """Run a sync in a forked child killed after ``budget`` file operations (or, without a
    budget, after ``delay`` seconds, if any): -9 when killed, else the number of file
    operations it made."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 255
        try:
            killpoint.arm(COUNTING if budget is None else budget)
            args = [str(lock), "-p", str(venv), "-i", index.url, "-q"]
            if CliRunner().invoke(main, args).exit_code == 0:
                code = min(254, COUNTING - (killpoint.remaining() or 0))
        finally:
            os._exit(code)
    if budget is None and delay:
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return -9
    assert os.WEXITSTATUS(status) != 255, "the sync failed"
    return os.WEXITSTATUS(status)


def check(venv: Path, *args: str) -> tuple[dict[str, str], list[str]]:
    python = venv / "bin" / "python"
    out = subprocess.run(
        [str(python), "-c", CHECK, *args], capture_output=True, text=True, cwd=venv
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    return report["dists"], report["problems"]


def inspect(venv: Path, baseline_dirs: set[Path]) -> tuple[dict[str, str], list[str]]:
    dists, problems = check(venv)
    return dists, problems + leftovers(venv, baseline_dirs)


def leftovers(venv: Path, baseline_dirs: set[Path]) -> list[str]:
    """Temporary files, empty directories and files no RECORD owns."""
    found = []
    owned: set[Path] = set()
    site = next(venv.glob("lib/*/site-packages"))
    for record in site.glob("*.dist-info/RECORD"):
        for line in record.read_text().splitlines():
            owned.add(Path(os.path.normpath(site / line.split(",")[0])))
    for directory, dirs, files in os.walk(venv):
        here = Path(directory)
        if not dirs and not files and here.relative_to(venv) not in baseline_dirs:
            found.append(f"empty directory {here.relative_to(venv)}")
        for name in files:
            path = here / name
            if name.endswith(".xv-tmp"):
                found.append(f"temporary file {path.relative_to(venv)}")
            elif (
                path.is_relative_to(site) and "__pycache__" not in path.parts and path not in owned
            ):
                found.append(f"unowned file {path.relative_to(venv)}")
    return found


def empty_dirs(venv: Path) -> set[Path]:
    return {Path(d).relative_to(venv) for d, ds, fs in os.walk(venv) if not ds and not fs}


def test_kill_at_random_points_then_repair(
    index: LocalIndex, templates: dict[str, Path], tmp_path: Path
) -> None:
    locks = templates["locks"]
    venv = tmp_path / "venv"  # one path: the interpreter is probed once
    operations = {}  # how many file operations each transition makes, counted once
    for start, target in {(s, t) for s, t, _ in SCENARIOS}:
        shutil.copytree(templates[start], venv, symlinks=True)
        operations[start, target] = forked_sync(index, venv, locks / f"{target}.txt", None, 0)
        shutil.rmtree(venv)
    rng = random.Random(20261128)
    trials: list[tuple[tuple[str, str, str], int | None, float]] = [
        (s, rng.randrange(operations[s[:2]]), 0.0)
        for s in SCENARIOS
        for _ in range(TRIALS_PER_SCENARIO)
    ]
    trials += [(rng.choice(SCENARIOS), None, rng.uniform(0.02, 0.3)) for _ in range(TIMER_TRIALS)]
    baseline = empty_dirs(templates["empty"])
    kills, broken, broken_between = 0, [], []
    for (start, target, final), budget, delay in trials:
        shutil.copytree(templates[start], venv, symlinks=True)
        kills += forked_sync(index, venv, locks / f"{target}.txt", budget, delay) == -9
        between = check(venv, "requirements")[1]
        if between:  # before the repair: nothing visible may miss a requirement
            broken_between.append((start, target, budget, between))
        assert sync(index, venv, locks / f"{final}.txt") == 0
        dists, problems = inspect(venv, baseline)
        want = dict(line.split("==") for line in LOCKS[final].split())
        if dists != want or problems:
            broken.append((start, target, final, budget, delay, dists, problems))
        shutil.rmtree(venv)
    print(
        f"\n{len(trials)} trials, {kills} killed, {len(broken_between)} broken between kill and "
        f"repair, {len(broken)} broken after the repair; operations {operations}"
    )
    assert broken_between == []
    assert broken == []
    assert kills >= 30
