"""xv-compile --universal against the real default index, compared with ``uv pip compile
--universal``.

fixtures/compile/*.universal.uv.txt are uv's output (uv 0.13.9) for the inputs beside them,
made with ``--universal --python-version 3.9 --exclude-newer 2025-10-01``; xv-compile must
print the same file, its header's first two lines aside. Then, for linux/macos/windows and
two Pythons, the lines of the universal lock whose markers hold are exactly what a
non-universal compile for that platform and Python pins.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from xv import lockfile
from xv.cli import compile as cli
from xv.env.target import make_target
from xv.lockfile import HEADER

pytestmark = pytest.mark.live

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "compile"
PINNED = ["--python-version", "3.9", "--exclude-newer", "2025-10-01"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-universal-cache")


@pytest.fixture(autouse=True)
def _clean_env(xv_home: Path) -> None:
    """Every test runs in its own directory, with no XV_* setting (the cache is shared)."""


def _compile(source: str, out: str, cache_dir: Path, *extra: str) -> list[str]:
    shutil.copy(FIXTURES / source, source)
    args = [source, *extra, "-o", out, "--cache-dir", str(cache_dir)]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 0, result.output
    return Path(out).read_text().splitlines()


@pytest.mark.parametrize(
    ("stack", "extra"),
    [("web", []), ("data", []), ("fastapi", []), ("fastapi-hashes", ["--generate-hashes"])],
)
def test_same_file_as_uv(stack: str, extra: list[str], cache_dir: Path) -> None:
    source = stack.removesuffix("-hashes") + ".in"
    out = f"{stack}.txt"
    flags = ["--universal", *PINNED, *extra]
    ours = _compile(source, out, cache_dir, *flags)
    name = stack.replace("-hashes", ".universal-hashes") if extra else f"{stack}.universal"
    uv = (FIXTURES / f"{name}.uv.txt").read_text().splitlines()
    assert ours[0] == HEADER
    assert ours[2:] == uv[2:]
    check = CliRunner().invoke(
        cli.main, [source, *flags, "-o", out, "--cache-dir", str(cache_dir), "--check"]
    )
    assert check.exit_code == 0, check.output


def _applying(lock: str, python: str, platform: str) -> dict[str, str]:
    env = {**make_target(python, platform).markers, "extra": ""}
    pins: dict[str, str] = {}
    for line in lock.splitlines():
        if "==" not in line or line.startswith((" ", "#")):
            continue
        req, _, marker = line.partition(" ; ")
        if marker:
            from packaging.markers import Marker

            if not Marker(marker).evaluate(env):
                continue
        name, version = req.split("==")
        assert name not in pins, f"{name} pinned twice for {python} on {platform}"
        pins[name] = version
    return pins


@pytest.mark.parametrize("stack", ["web", "fastapi", "data"])
@pytest.mark.parametrize("platform", ["linux", "macos", "windows"])
@pytest.mark.parametrize("python", ["3.9", "3.12"])
def test_lines_that_apply_are_the_platform_lock(
    stack: str, platform: str, python: str, cache_dir: Path
) -> None:
    lock = (FIXTURES / f"{stack}.universal.uv.txt").read_text()
    pins = _compile(
        f"{stack}.in", "one.txt", cache_dir, "--python-version", python,
        "--python-platform", platform, "--exclude-newer", "2025-10-01",
    )  # fmt: skip
    single = {p.name: str(p.version) for p in lockfile.parse("\n".join(pins) + "\n").values()}
    assert _applying(lock, python, platform) == single
