"""The console entry points' fast path (xv.fast): an unchanged ``xv-compile --check`` or
no-op ``xv-sync`` is answered before click loads, with the normal run's output, and any
change to what the normal run read gives the normal run's answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import MakeIndex
from tests.e2e.test_sync_local import make_venv
from tests.support.localindex import LocalIndex, Pkg

PKGS = [
    Pkg("alpha", "1.0", deps=["beta"]),
    Pkg("alpha", "2.0", deps=["beta"]),
    Pkg("beta", "1.0"),
    Pkg("gamma", "1.0"),
]
# What an answer from the fast record must not import.
SLOW = ("click", "xv.settings", "packaging", "xv.cli.compile", "xv.cli.sync", "xv.config")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    modules: set[str]

    @property
    def fast(self) -> bool:
        found = sorted(m for m in SLOW if m in self.modules)
        assert "xv.fast" in self.modules
        return not found


def launcher(tmp_path: Path, prog: str) -> Path:
    """A console script as an installer writes it, in a directory of its own."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    func = "compile_main" if prog == "xv-compile" else "sync_main"
    script = bin_dir / prog
    script.write_text(f"import sys\nfrom xv.cli.entry import {func}\nsys.exit({func}())\n")
    return script


def run(tmp_path: Path, prog: str, *args: str, env: dict[str, str] | None = None) -> Run:
    script = launcher(tmp_path, prog)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", str(script), *args],
        capture_output=True, text=True,
        # No byte-code writes: a run that writes a module's .pyc changes a directory it
        # listed, so it is not recorded (rightly), which would make "the first run records"
        # depend on what an earlier test imported.
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
    )  # fmt: skip
    lines = proc.stderr.splitlines(keepends=True)
    imports = [line for line in lines if line.startswith("import time:")]
    modules = {line.rsplit("|", 1)[1].strip() for line in imports if "|" in line}
    stderr = "".join(line for line in lines if not line.startswith("import time:"))
    return Run(proc.returncode, proc.stdout, stderr, modules)


def records(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "fast-v1").glob("*.json"))


# -- xv-compile --check ------------------------------------------------------------


@pytest.fixture
def idx(make_index: MakeIndex, xv_home: Path) -> LocalIndex:
    Path("requirements.in").write_text("alpha\n")
    return make_index(PKGS)


def check(idx: LocalIndex, tmp_path: Path, *extra: str, **env: str) -> Run:
    args = ["requirements.in", "-o", "requirements.txt", "--check", "-i", idx.url, *extra]
    return run(tmp_path, "xv-compile", *args, env=env)


def locked(idx: LocalIndex, tmp_path: Path, *extra: str) -> Run:
    """Compile the lock, then the first --check records its answer; the fast answer."""
    args = ["requirements.in", "-o", "requirements.txt", "-i", idx.url]
    # Not recorded (XV_NO_FAST): the records here are the --check runs' (see test_fast_compile).
    made = run(tmp_path, "xv-compile", *args, env={"XV_NO_FAST": "1"})
    assert made.code == 0, made.stderr
    first = check(idx, tmp_path, *extra)
    assert first.code == 0 and not first.fast, first.stderr
    second = check(idx, tmp_path, *extra)
    assert second.code == 0 and second.fast, second.stderr
    return second


def test_a_fresh_check_is_answered_without_click_settings_or_packaging(
    idx: LocalIndex, tmp_path: Path
) -> None:
    fast = locked(idx, tmp_path, "-v")
    slow = check(idx, tmp_path, "-v", XV_NO_FAST="1")
    assert not slow.fast and slow.code == 0
    assert (fast.stdout, fast.stderr) == (slow.stdout, slow.stderr)
    assert "requirements.txt is up to date" in fast.stderr
    assert len(records(tmp_path)) == 1


def test_the_version_is_answered_without_click(xv_home: Path) -> None:
    from xv import __version__

    for prog in ("xv-compile", "xv-sync"):
        result = run(xv_home, prog, "--version")
        assert result.fast and result.code == 0
        assert result.stdout == f"{prog}, version {__version__}\n"


def _edit_input(tmp_path: Path) -> None:
    Path("requirements.in").write_text("alpha\ngamma\n")


def _edit_lock(tmp_path: Path) -> None:
    text = Path("requirements.txt").read_text()
    Path("requirements.txt").write_text(text.replace("beta==1.0", "beta==0.9"))


def _add_config(tmp_path: Path) -> None:
    Path("xv.toml").write_text('annotation-style = "line"\n')


def _add_tool_xv(tmp_path: Path) -> None:
    Path("pyproject.toml").write_text('[tool.xv]\nannotation-style = "line"\n')


def _include(tmp_path: Path) -> None:
    Path("more.in").write_text("")
    Path("requirements.in").write_text("alpha\n-r more.in\n")


@pytest.mark.parametrize(
    "change", [_edit_input, _edit_lock, _add_config, _add_tool_xv], ids=lambda f: f.__name__
)
def test_a_changed_file_gives_the_normal_answer(
    idx: LocalIndex, tmp_path: Path, change: object
) -> None:
    locked(idx, tmp_path)
    assert callable(change)
    change(tmp_path)
    stale = check(idx, tmp_path)
    assert stale.code == 1 and not stale.fast, stale.stderr
    assert "is out of date" in stale.stderr
    again = check(idx, tmp_path)  # a failing check is never replayed
    assert again.code == 1 and not again.fast
    assert without_elapsed(again.stderr) == without_elapsed(stale.stderr)


def test_an_included_file_is_a_witness(idx: LocalIndex, tmp_path: Path) -> None:
    _include(tmp_path)
    locked(idx, tmp_path)
    Path("more.in").write_text("gamma\n")  # only the included file changes
    stale = check(idx, tmp_path)
    assert stale.code == 1 and not stale.fast and "+gamma==1.0" in stale.stderr


@pytest.mark.parametrize(
    "variation",
    [("-q",), ("--no-annotate",)],
    ids=["quiet", "option"],
)
def test_other_arguments_miss(idx: LocalIndex, tmp_path: Path, variation: tuple[str]) -> None:
    locked(idx, tmp_path)
    other = check(idx, tmp_path, *variation)
    assert not other.fast


@pytest.mark.parametrize(
    "env", [{"XV_ANNOTATION_STYLE": "line"}, {"SOME_VARIABLE": "1"}, {"NO_COLOR": "1"}]
)
def test_another_environment_misses(idx: LocalIndex, tmp_path: Path, env: dict[str, str]) -> None:
    locked(idx, tmp_path)
    other = check(idx, tmp_path, **env)
    assert not other.fast
    if "XV_ANNOTATION_STYLE" in env:
        assert other.code == 1 and "is out of date" in other.stderr


def test_a_cleaned_cache_misses(idx: LocalIndex, tmp_path: Path) -> None:
    locked(idx, tmp_path)
    for entry in (tmp_path / "cache" / "check-v1").rglob("*"):
        if entry.is_file():
            entry.unlink()  # the check record the normal path would consult
    again = check(idx, tmp_path)
    assert again.code == 0 and not again.fast


@pytest.mark.parametrize("garbage", [b"", b"{not json", b'{"format": 1, "code": 0}', b"[]"])
def test_a_corrupt_record_is_ignored_and_rewritten(
    idx: LocalIndex, tmp_path: Path, garbage: bytes
) -> None:
    locked(idx, tmp_path)
    (record,) = records(tmp_path)
    record.write_bytes(garbage)
    slow = check(idx, tmp_path)
    assert slow.code == 0 and not slow.fast
    assert json.loads(record.read_bytes())["format"] == 1
    assert check(idx, tmp_path).fast


def test_a_forged_failing_record_is_not_replayed(idx: LocalIndex, tmp_path: Path) -> None:
    locked(idx, tmp_path)
    (record,) = records(tmp_path)
    doc = json.loads(record.read_bytes())
    record.write_text(json.dumps({**doc, "code": 1}))
    assert not check(idx, tmp_path).fast


# -- xv-sync no-op --------------------------------------------------------------------


@pytest.fixture
def sync_idx(make_index: MakeIndex, clean_home: Path) -> LocalIndex:
    return make_index(PKGS)


def synced(index: LocalIndex, tmp_path: Path, venv: Path, *extra: str) -> list[str]:
    Path("requirements.txt").write_text("alpha==1.0\nbeta==1.0\n")
    args = ["requirements.txt", "-i", index.url, *extra]
    first = run(tmp_path, "xv-sync", *args)
    assert first.code == 0 and "+ alpha==1.0" in first.stderr, first.stderr
    return args


def without_elapsed(text: str) -> str:
    return "\n".join(line.rsplit(" in ", 1)[0] for line in text.splitlines())


def test_a_no_op_sync_is_answered_without_click(sync_idx: LocalIndex, tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    args = synced(sync_idx, tmp_path, venv, "-p", str(venv))
    recorded = run(tmp_path, "xv-sync", *args)
    assert recorded.code == 0 and not recorded.fast
    fast = run(tmp_path, "xv-sync", *args)
    assert fast.code == 0 and fast.fast, fast.stderr
    assert "Audited 2 packages in " in fast.stderr
    assert without_elapsed(fast.stderr) == without_elapsed(recorded.stderr)
    assert fast.stdout == recorded.stdout == ""
    quiet = [*args, "-q"]
    run(tmp_path, "xv-sync", *quiet)
    assert run(tmp_path, "xv-sync", *quiet).stderr == ""


def _site(venv: Path) -> Path:
    (site,) = venv.glob("lib/python*/site-packages")
    return site


def test_an_edited_installed_package_misses(sync_idx: LocalIndex, tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    args = synced(sync_idx, tmp_path, venv, "-p", str(venv))
    run(tmp_path, "xv-sync", *args)
    assert run(tmp_path, "xv-sync", *args).fast
    extra = _site(venv) / "gamma-1.0.dist-info"  # installed behind xv's back
    extra.mkdir()
    (extra / "METADATA").write_text("Metadata-Version: 2.1\nName: gamma\nVersion: 1.0\n")
    (extra / "RECORD").write_text("")
    again = run(tmp_path, "xv-sync", *args)
    assert again.code == 0 and not again.fast and "- gamma==1.0" in again.stderr


def test_an_edited_lock_misses(sync_idx: LocalIndex, tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    args = synced(sync_idx, tmp_path, venv, "-p", str(venv))
    run(tmp_path, "xv-sync", *args)
    assert run(tmp_path, "xv-sync", *args).fast
    Path("requirements.txt").write_text("alpha==2.0\nbeta==1.0\n")
    again = run(tmp_path, "xv-sync", *args)
    assert not again.fast and "+ alpha==2.0" in again.stderr


def test_a_nearer_venv_is_another_target(sync_idx: LocalIndex, tmp_path: Path) -> None:
    """Found by discovery (no -p, no VIRTUAL_ENV): a .venv appearing nearer the working
    directory changes the target though the command line and environment are the same."""
    make_venv(tmp_path / ".venv")
    project = tmp_path / "project"
    project.mkdir()
    os.chdir(project)
    args = synced(sync_idx, tmp_path, tmp_path / ".venv")
    run(tmp_path, "xv-sync", *args)
    assert run(tmp_path, "xv-sync", *args).fast
    make_venv(project / ".venv")
    nearer = run(tmp_path, "xv-sync", *args)
    assert nearer.code == 0 and not nearer.fast and "+ alpha==1.0" in nearer.stderr
    assert "environment at: .venv" in nearer.stderr
