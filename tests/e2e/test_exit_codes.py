"""Exit statuses of both commands (issue 10, defect 9): 0 success, 1 no solution (or a failed
download or install), 2 for usage and input errors, including an output file xv cannot
write (tests/unit/test_cli_output_file.py); 130 after Ctrl-C, without a traceback or
click's ``Aborted!`` (which exits 1, the status a script reads as "no solution")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import MakeIndex
from tests.support.localindex import LocalIndex, Pkg
from xv.cli import compile as compile_cli
from xv.cli import sync as sync_cli

PKGS = [Pkg("flask", "3.1.3", deps=["click>=8"]), Pkg("click", "8.2.1")]


@pytest.fixture
def idx(make_index: MakeIndex, bare_home: Path) -> LocalIndex:
    return make_index(PKGS)


def compile_(idx: LocalIndex, *args: str) -> Result:
    return CliRunner().invoke(compile_cli.main, [*args, "-i", idx.url])


def sync(idx: LocalIndex, *args: str) -> Result:
    python = str(Path(sys.executable))
    return CliRunner().invoke(sync_cli.main, [*args, "-p", python, "-i", idx.url, "--dry-run"])


def _clean_error(result: Result, code: int, words: str) -> None:
    assert result.exit_code == code, result.output
    assert words in result.stderr, result.stderr
    assert "Traceback" not in result.output and "\nerror: " in f"\n{result.stderr}"


def test_an_unreadable_lock_given_to_check_exits_2(idx: LocalIndex) -> None:
    Path("r.in").write_text("flask\n")
    Path("r.txt").write_bytes(b"flask==3.1.3 \xff\n")
    _clean_error(compile_(idx, "r.in", "-o", "r.txt", "--check"), 2, "cannot read r.txt")


def test_no_solution_is_1_and_usage_is_2(idx: LocalIndex) -> None:
    Path("r.in").write_text("flask>9\n")
    assert compile_(idx, "r.in").exit_code == 1
    assert compile_(idx, "r.in", "--no-such-flag").exit_code == 2
    assert sync(idx, "r.txt", "--no-such-flag").exit_code == 2


# --- Ctrl-C -----------------------------------------------------------------------------------


@pytest.fixture
def slow(idx: LocalIndex) -> Iterator[LocalIndex]:
    yield idx
    idx.clear_faults()


def _interrupt_while_resolving(idx: LocalIndex, command: str, *args: str) -> tuple[int, str]:
    """Run ``command`` in its own process group, wait until it is blocked on a slow index
    request, then send SIGINT to the whole group as a terminal's Ctrl-C does."""
    fault = idx.inject_fault("slow", times=1000, match="/simple/", delay=60)
    env = {**os.environ, "XV_POOL": "process"}
    code = f"import sys; from xv.cli.{command} import main; sys.argv[0] = 'xv'; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args, "-i", idx.url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while fault.times == 1000 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        os.killpg(proc.pid, signal.SIGINT)
        # Far shorter than the stalled request: the command must not wait for it.
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, stderr


def test_ctrl_c_during_compile_exits_130_without_a_traceback(slow: LocalIndex) -> None:
    Path("r.in").write_text("flask\n")
    Path("r.txt").write_text("flask==3.1.3\n")
    code, stderr = _interrupt_while_resolving(slow, "compile", "r.in", "-o", "r.txt")
    assert code == 130, stderr
    assert "Traceback" not in stderr and "Aborted" not in stderr, stderr
    assert Path("r.txt").read_text() == "flask==3.1.3\n"
    assert not list(Path().glob("**/*.tmp"))


def test_ctrl_c_during_sync_exits_130_without_a_traceback(slow: LocalIndex) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "venv"], check=True)
    Path("r.txt").write_text("click==8.2.1\n")
    code, stderr = _interrupt_while_resolving(slow, "sync", "r.txt", "-p", "venv")
    assert code == 130, stderr
    assert "Traceback" not in stderr and "Aborted" not in stderr, stderr
    assert not list(Path("venv").glob("lib/*/site-packages/click*"))


def test_an_unset_variable_names_itself_and_the_line_in_both_commands(idx: LocalIndex) -> None:
    # It used to surface as "click was not found in the package registry".
    Path("r.in").write_text("flask\n-i https://${XV_TEST_NOT_SET}@example.invalid/simple\n")
    result = CliRunner().invoke(compile_cli.main, ["r.in"])
    _clean_error(result, 2, "r.in:2: environment variable XV_TEST_NOT_SET is not set")
    Path("r.txt").write_text("-r ${XV_TEST_NOT_SET}/base.txt\nclick==8.2.1\n")
    _clean_error(sync(idx, "r.txt"), 2, "r.txt:1: environment variable XV_TEST_NOT_SET is not set")
