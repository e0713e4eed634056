"""Builds during resolution run side by side (at most one per CPU): the sdists of the
dependencies the solver just met, and direct references, are prepared at once. Proved
without timing: each build waits at a rendezvous until the other has started, so builds
run one after another would fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import MakeIndex
from tests.e2e.test_sync_local import make_venv
from tests.support.localindex import LocalIndex, Pkg
from tests.support.localindex import backend as test_backend
from xv.cli import compile as cli
from xv.cli.sync import main as sync_main
from xv.pool import cpu_count

pytestmark = pytest.mark.skipif(cpu_count() < 2, reason="one CPU: builds run one at a time")

# The local index's backend, with get_requires_for_build_wheel waiting for the other build.
RENDEZVOUS = (
    Path(test_backend.__file__).read_text()
    + """

import time as _time

_plain_get_requires = get_requires_for_build_wheel


def get_requires_for_build_wheel(config_settings=None):
    meeting = os.environ["XV_TEST_RENDEZVOUS"]
    open(os.path.join(meeting, os.path.basename(os.getcwd())), "w").close()
    deadline = _time.monotonic() + 60
    while len(os.listdir(meeting)) < 2:
        if _time.monotonic() > deadline:
            raise RuntimeError("the other build never started: builds ran one after another")
        _time.sleep(0.05)
    return _plain_get_requires(config_settings)
"""
)
SLOW = {"_backend/xv_test_backend.py": RENDEZVOUS}
PKGS = [
    Pkg("slowa", "1.0", wheel=False, sdist_project_table=False, files=SLOW),
    Pkg("slowb", "1.0", wheel=False, sdist_project_table=False, files=SLOW),
]


@pytest.fixture
def idx(
    make_index: MakeIndex, xv_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> LocalIndex:
    monkeypatch.setenv("XV_POOL", "thread")
    (tmp_path / "meet").mkdir()
    monkeypatch.setenv("XV_TEST_RENDEZVOUS", str(tmp_path / "meet"))
    return make_index(PKGS)


def xv(idx: LocalIndex, *args: str) -> Result:
    result = CliRunner().invoke(cli.main, [*args, "--no-header", "-i", idx.url])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_sdist_only_dependencies_are_built_side_by_side(idx: LocalIndex) -> None:
    Path("r.in").write_text("slowa\nslowb\n")
    result = xv(idx, "r.in")
    assert result.exit_code == 0, result.output
    assert result.stdout == "slowa==1.0\n    # via -r r.in\nslowb==1.0\n    # via -r r.in\n"


def test_direct_references_are_prepared_side_by_side(idx: LocalIndex) -> None:
    Path("r.in").write_text(
        f"slowa @ {idx.file_url('slowa-1.0.tar.gz')}\nslowb @ {idx.file_url('slowb-1.0.tar.gz')}\n"
    )
    result = xv(idx, "r.in")
    assert result.exit_code == 0, result.output
    assert "slowa @ " in result.stdout and "slowb @ " in result.stdout


def test_a_failed_guess_does_not_fail_the_resolution(
    make_index: MakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XV_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XV_POOL", "thread")
    broken = {"_backend/xv_test_backend.py": "raise RuntimeError('broken backend')\n"}
    index = make_index(
        [
            Pkg("app", "1.0", deps=["lib", "foo"]),
            Pkg("lib", "1.0", deps=["foo<2"]),
            Pkg("foo", "1.0"),
            Pkg("foo", "2.0", wheel=False, sdist_project_table=False, files=broken),
        ]
    )
    Path("r.in").write_text("app\n")
    result = xv(index, "r.in", "-v")
    assert result.exit_code == 0, result.output
    assert "foo==1.0\n" in result.stdout
    assert "metadata of foo==2.0: not prefetched" in result.stderr  # the guess was tried


def test_xv_sync_builds_sdist_only_pins_side_by_side(idx: LocalIndex, tmp_path: Path) -> None:
    Path("lock.txt").write_text("slowa==1.0\nslowb==1.0\n")
    venv = make_venv(tmp_path / "venv")
    result = CliRunner().invoke(sync_main, ["lock.txt", "-p", str(venv), "-i", idx.url])
    assert result.exit_code == 0, result.output
    assert len(list(venv.glob("lib/*/site-packages/slow*.dist-info"))) == 2
