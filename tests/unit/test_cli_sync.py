"""xv-sync's messages: uv's wording, progress only on a terminal."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.version import Version

from xv.cli.sync import SyncReporter, main
from xv.env import InstalledDist
from xv.sync.plan import Wanted, plan


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_and_summary_lines() -> None:
    stream = Terminal()
    reporter = SyncReporter(color="never", stream=stream)
    reporter.step("prepare", 1, 2)
    reporter.step("install", 2, 2)
    installed = {"old": InstalledDist("old", "1", Path("/e/old-1.dist-info"))}
    reporter.changes(plan([Wanted("new", Version("2"))], installed))
    reporter.timed("Installed", 1, 0.012)
    text = stream.getvalue()
    assert "Preparing packages... (1/2)" in text and "Installing wheels... (2/2)" in text
    assert text.endswith(" + new==2\n - old==1\nInstalled 1 package in 12ms\n")


def test_quiet_and_not_a_terminal() -> None:
    stream = io.StringIO()
    SyncReporter(quiet=1, stream=stream).timed("Audited", 3, 0.001)
    reporter = SyncReporter(stream=stream)
    reporter.step("prepare", 1, 2)
    assert stream.getvalue() == ""


def test_help_and_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for option in ("--python", "--system", "--dry-run", "--check", "--reinstall-package",
                   "--link-mode", "--compile-bytecode", "--require-hashes", "--index-url",
                   "--find-links", "--offline", "--no-cache", "--allow-empty-requirements"):  # fmt: skip
        assert option in result.output
    monkeypatch.chdir(tmp_path)
    missing = runner.invoke(main, [])
    assert missing.exit_code == 2 and "requirements.txt does not exist" in missing.output
    Path("r.txt").write_text("x==1\n")
    both = runner.invoke(main, ["r.txt", "--dry-run", "--check"])
    assert both.exit_code == 2 and "cannot be used together" in both.output


def test_the_command_imports_nothing_a_no_op_sync_does_not_need() -> None:
    code = "import sys, xv.cli.sync; print([m for m in HEAVY if m in sys.modules])"
    heavy = "HEAVY = ('requests', 'importlib.metadata', 'xv.index.client', 'xv.pool', 'urllib.request', 'xv.install.place', 'xv.install.archive')\n"
    out = subprocess.run([sys.executable, "-c", heavy + code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_config_files_python_version_is_for_xv_compile(xv_home: Path) -> None:
    # One xv.toml for both commands: its compile target does not make a plain sync exit 2.
    venv = xv_home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    Path("xv.toml").write_text('python-version = "3.8"\npython-platform = "windows"\n')
    Path("r.txt").write_text("")
    args = ["r.txt", "-p", str(venv), "--allow-empty-requirements", "--offline"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
