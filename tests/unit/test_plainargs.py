"""The plain reading of a command line equals click's, or defers to click."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xv.cli import output
from xv.cli.compile import main as compile_main
from xv.cli.plainargs import parse
from xv.cli.sync import main as sync_main
from xv.settings import Command, command_entries

HERE = Path(__file__).parent
AN_EXISTING_FILE = str(HERE / "test_plainargs.py")
AN_EXISTING_DIR = str(HERE)
COMMANDS: dict[Command, click.Command] = {"xv-sync": sync_main, "xv-compile": compile_main}


def _flags(command: Command) -> list[str]:
    spellings = (s for e in command_entries(command) for s in e.flags_for(command))
    return sorted({part for s in spellings for part in s.split("/")})


FLAGS = sorted(set(_flags("xv-sync")) | set(_flags("xv-compile")))
VALUES = [
    "lock.txt", "absent/dir", AN_EXISTING_FILE, AN_EXISTING_DIR, "-", "--", "-x", "", "3", "007",
    "-3", "hardlink", "copy", "Copy", "auto", "never", "first-index", "x=1", "é", ":all:",
]  # fmt: skip
EXTRAS = ["--", "-qv", "-qq", "--help", "-h", "-V", "--version", "--python=", "--quiet=1", "-p3.12"]


def _clicks(argv: list[str], command: Command = "xv-sync") -> dict[str, Any] | None:
    """click's parameters for ``argv``, or None where click refuses it or exits (help)."""
    try:
        with COMMANDS[command].make_context(command, list(argv)) as ctx:
            return dict(ctx.params)
    except (click.exceptions.ClickException, click.exceptions.Exit):
        return None


def _token() -> st.SearchStrategy[str]:
    joined = st.builds(lambda f, v: f"{f}={v}", st.sampled_from([f for f in FLAGS if f.startswith("--")]), st.sampled_from(VALUES))  # fmt: skip
    return st.one_of(
        st.sampled_from(FLAGS), st.sampled_from(VALUES), st.sampled_from(EXTRAS), joined
    )


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(sorted(COMMANDS)), st.lists(_token(), max_size=7))
def test_a_plain_reading_equals_clicks(command: Command, argv: list[str]) -> None:
    mine = parse(command, argv)
    if mine is not None:
        assert mine == _clicks(argv, command)


@pytest.mark.parametrize(
    "argv",
    [
        ["requirements.txt"],
        [AN_EXISTING_FILE, "-p", "venv/bin/python", "--cache-dir", "/tmp/c", "-q"],
        [
            "a.txt",
            "b.txt",
            "--python=3.12",
            "-q",
            "-q",
            "--require-hashes",
            "-i",
            "https://x/simple",
        ],
        ["--link-mode", "copy", "--extra-index-url", "u1", "--extra-index-url", "u2", "a.txt"],
        ["--no-build", "--allow-empty-requirements", "--no-allow-empty-requirements", "--offline"],
        ["--target", "absent/dir", "--reinstall-package", "x", "-v", "--color", "never"],
    ],
)
def test_common_command_lines_are_read_without_click(argv: list[str]) -> None:
    mine = parse("xv-sync", argv)
    assert mine is not None and mine == _clicks(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["requirements.in"],
        ["-", "-o", "requirements.txt", "--generate-hashes", "--no-header"],
        ["pyproject.toml", "--extra", "dev", "-P", "flask", "--upgrade", "--universal", "-q"],
        ["a.in", "--python-version=3.12", "--resolution", "lowest-direct", "--no-annotate"],
        ["a.in", "--annotation-style", "line", "--header", "-c", "c.txt", "--max-rounds", "7"],
    ],
)
def test_common_compile_command_lines_are_read_without_click(argv: list[str]) -> None:
    mine = parse("xv-compile", argv)
    assert mine is not None and mine == _clicks(argv, "xv-compile")


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"], ["-V"], ["--", "a.txt"], ["-qv"], ["--bogus"], ["-p"], ["-p", "-q"],
        ["--link-mode", "bogus"], ["--quiet=1"], ["--target", AN_EXISTING_FILE], ["-p3.12"],
    ],
)  # fmt: skip
def test_anything_else_is_left_to_click(argv: list[str]) -> None:
    assert parse("xv-sync", argv) is None


def test_style_and_echo_write_what_click_writes() -> None:
    for fg in ("red", "green", "yellow"):
        assert output.style("error", fg) == click.style("error", fg=fg, bold=True)
    text = f"{click.style('warning', fg='yellow', bold=True)}: a \x1b]0;title\x07 name \x1b[31m"
    for color in (True, False):
        mine, clicks = io.StringIO(), io.StringIO()
        output.echo(text, mine, color)
        click.echo(text, file=clicks, color=color)
        assert mine.getvalue() == clicks.getvalue()


def test_a_plain_compile_loads_no_click_and_writes_what_click_writes(tmp_path: Path) -> None:
    """The same command line through the console script (read without click) and through
    the click command: the same output file, header included."""
    (tmp_path / "r.in").write_text("")
    env = {**os.environ, "XV_NO_FAST": "1", "XV_CACHE_DIR": str(tmp_path / "c")}
    for module, out in (("xv.cli.entry import compile_main as m", "a.txt"), ("xv.cli.compile import main as m", "b.txt")):  # fmt: skip
        code = (
            f"import sys, atexit; from {module}\n"
            "atexit.register(lambda: print('click' in sys.modules, file=sys.stderr))\n"
            f"sys.argv = ['xv-compile', 'r.in', '-o', 'out.txt', '--offline', '-q']; m()\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.strip().splitlines()[-1] == str(module.startswith("xv.cli.compile"))
        (tmp_path / "out.txt").rename(tmp_path / out)
    assert (tmp_path / "a.txt").read_text() == (tmp_path / "b.txt").read_text()


def test_a_plain_sync_loads_no_click(tmp_path: Path) -> None:
    """The console script with a plain command line: click stays unloaded (``--dry-run`` of
    an absent environment fails early, which is enough to see what was imported)."""
    code = (
        "import sys, atexit; from xv.cli.entry import sync_main\n"
        "atexit.register(lambda: print('click' in sys.modules, file=sys.stderr))\n"
        "sys.argv = ['xv-sync', 'r.txt', '-p', 'nowhere', '-q']; sync_main()\n"
    )
    (tmp_path / "r.txt").write_text("")
    env = {**os.environ, "XV_NO_FAST": "1", "XV_CACHE_DIR": str(tmp_path / "c")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "False"
