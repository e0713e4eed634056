"""xv-sync as a library: options in, a report out, no click anywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MakeIndex
from tests.support.localindex import Pkg
from xv.settings import Settings
from xv.sync.run import SyncOptions, SyncProgress, sync

PKGS = [Pkg("app", "1.0", deps=["lib>=1"], sdist=False), Pkg("lib", "1.1", sdist=False)]


@pytest.fixture(autouse=True)
def clean_env(clean_home: Path) -> None:
    """Every test runs as :func:`clean_home` sets up (its own directory and cache)."""


def test_sync_without_the_cli(make_index: MakeIndex, tmp_path: Path) -> None:
    idx = make_index(PKGS)
    Path("requirements.txt").write_text("app==1.0\nlib==1.1\n")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    seen: list[int] = []

    class Recorder(SyncProgress):
        def planned(self, count: int, seconds: float) -> None:
            seen.append(count)

    settings = Settings(python=str(venv), index_url=idx.url, cache_dir=str(tmp_path / "c"))
    report = sync(SyncOptions(("requirements.txt",), settings), Recorder())
    assert report.outcome == "applied" and report.applied is not None
    assert report.applied.installed == 2 and seen == [2]
    assert sorted(c.render() for c in report.plan.changes) == ["+ app==1.0", "+ lib==1.1"]
    # A plain mapping is taken too (and made a Settings), for callers without the type.
    given = {"python": str(venv), "index_url": idx.url, "cache_dir": str(tmp_path / "c")}
    again = sync(SyncOptions(("requirements.txt",), given, check=True))  # type: ignore[arg-type]
    assert again.outcome == "unchanged" and again.plan.is_empty


def test_the_use_cases_do_not_import_click() -> None:
    code = "import sys, xv.compile.run, xv.sync.run, xv.sync.apply; print('click' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
