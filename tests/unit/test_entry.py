"""The console scripts end the process without the interpreter's teardown (xv.cli.entry):
what the teardown did that a run needs must still happen, in its order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_SCRIPT = """
import atexit, sys, tempfile, threading, time
from pathlib import Path
from xv.cli.entry import _exit

here = Path(sys.argv[1])
kept = tempfile.TemporaryDirectory(dir=here)  # removed by weakref.finalize's atexit hook
(here / "tmpdir").write_text(kept.name)
atexit.register(lambda: print("atexit ran", file=sys.stderr))

def late() -> None:
    time.sleep(0.3)
    (here / "late").write_text("written")

def command() -> None:
    threading.Thread(target=late).start()  # not a daemon: waited for
    print("to a pipe, buffered")  # flushed before the end
    sys.exit(eval(sys.argv[2]))

_exit(command)
"""


def _run(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(_SCRIPT)
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path), code], capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [("None", 0, ""), ("3", 3, ""), ("'no such file'", 1, "no such file\n"), ("True", 1, "")],
)
def test_the_end_keeps_what_the_teardown_did(
    tmp_path: Path, code: str, status: int, message: str
) -> None:
    proc = _run(tmp_path, code)
    assert proc.returncode == status, proc.stderr
    assert proc.stdout == "to a pipe, buffered\n"
    assert proc.stderr == message + "atexit ran\n"  # sys.exit's message first, as Python does
    assert (tmp_path / "late").read_text() == "written"
    assert not os.path.exists((tmp_path / "tmpdir").read_text())


def test_an_exception_leaves_as_before(tmp_path: Path) -> None:
    proc = _run(tmp_path, "1/0")
    assert proc.returncode == 1
    assert proc.stderr.startswith("Traceback") and "ZeroDivisionError" in proc.stderr


@pytest.mark.parametrize("script", ["compile_main", "sync_main"])
def test_the_console_scripts_collect_young_garbage_less_often(script: str) -> None:
    """Both console scripts raise the youngest generation's threshold, and only that."""
    import ast

    from xv.cli.entry import GC_YOUNG

    code = (
        "import gc\n"
        "before = gc.get_threshold()\n"
        "from xv.cli import entry\n"
        "entry.fast.main = lambda prog, load: print(repr((before, gc.get_threshold())))\n"
        f"entry.{script}()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, now = ast.literal_eval(out.stdout.strip())
    assert now == (GC_YOUNG, *before[1:])
