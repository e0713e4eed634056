"""xv-compile against the real default index, compared with ``uv pip compile``.

fixtures/compile/*.uv.txt are uv's output (uv 0.13.9) for the inputs beside them, made with
``--python-version 3.11 --python-platform linux --exclude-newer 2025-10-01`` so they do not
move; xv-compile must print the same file, its header's first two lines aside.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from xv.cli import compile as cli
from xv.lockfile import HEADER

pytestmark = pytest.mark.live

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "compile"
PINNED = ["--python-version", "3.11", "--python-platform", "linux", "--exclude-newer", "2025-10-01"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-compile-cache")


@pytest.mark.parametrize(
    ("stack", "extra"),
    [("basic", []), ("basic-hashes", ["--generate-hashes"]), ("web", []), ("data", [])],
)
def test_same_file_as_uv(
    stack: str,
    extra: list[str],
    cache_dir: Path,
    xv_home: Path,
) -> None:
    source = stack.removesuffix("-hashes") + ".in"
    shutil.copy(FIXTURES / source, xv_home / source)
    args = [source, *PINNED, *extra, "-o", f"{stack}.txt", "--cache-dir", str(cache_dir)]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 0, result.output
    ours = Path(f"{stack}.txt").read_text().splitlines()
    uv = (FIXTURES / f"{stack}.uv.txt").read_text().splitlines()
    assert ours[0] == HEADER
    assert ours[2:] == uv[2:]
    check = CliRunner().invoke(cli.main, [*args, "--check"])
    assert check.exit_code == 0, check.output
