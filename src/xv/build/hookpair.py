"""Two hooks in one backend process: ``get_requires_for_build_*`` then ``prepare_metadata_*``.

pyproject_hooks starts a fresh interpreter for every hook, which imports the backend
again (setuptools: about a second on a loaded machine). When the frontend knows the
hook that comes next, :class:`Pairing` has the runner start the first hook through
``_hook_pair.py``, which runs the second in the same process if the first asks for
no further build requirements. pyproject_hooks' own call of the second hook is then
answered from that run, but only when its input equals the one prepared: the library
keeps writing and reading its control files as always, so nothing of its internals
is assumed beyond the command line of its runner (``python script hook control_dir``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PAIR_SCRIPT = str(Path(__file__).with_name("_hook_pair.py"))


class Pairing:
    """The second hook of a pair: prepared, run along with the first, then replayed."""

    def __init__(self, hook: str, kwargs: dict[str, Any]) -> None:
        self.hook = hook
        self.kwargs = kwargs
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.output = ""  # what the paired process printed

    def command(self, cmd: Sequence[str]) -> list[str]:
        """The command to run instead of ``cmd`` (the first hook's), or ``cmd`` itself."""
        if self._tmp is not None or len(cmd) != 4 or not cmd[2].startswith("get_requires_"):
            return list(cmd)
        self._tmp = tempfile.TemporaryDirectory(prefix="xv-hook-pair-")
        (self.control / "input.json").write_text(json.dumps({"kwargs": self.kwargs}))
        python, script, hook, control = cmd
        return [python, PAIR_SCRIPT, script, hook, control, self.hook, str(self.control)]

    @property
    def control(self) -> Path:
        assert self._tmp is not None
        return Path(self._tmp.name)

    def replay(self, cmd: Sequence[str]) -> bool:
        """Answer pyproject_hooks' call of the second hook from the paired run (True),
        or leave it to run as usual (False). A failure there is raised as the hook's."""
        if self._tmp is None or len(cmd) != 4 or cmd[2] != self.hook:
            return False
        ran, failed = self.control / "output.json", self.control / "failed"
        if not (ran.is_file() or failed.is_file()) or not _same_input(self.control, cmd[3]):
            return False
        if failed.is_file():
            status = int(failed.read_text() or 1)
            raise subprocess.CalledProcessError(status, list(cmd))
        shutil.copyfile(ran, Path(cmd[3]) / "output.json")
        return True

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def _same_input(prepared: Path, control: str) -> bool:
    try:
        mine = json.loads((prepared / "input.json").read_text())
        theirs = json.loads((Path(control) / "input.json").read_text())
    except (OSError, ValueError):
        return False
    return bool(mine == theirs)
