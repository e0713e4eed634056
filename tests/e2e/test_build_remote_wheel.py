"""``name @ https://.../x.whl``: metadata by range requests as for index wheels (the whole
wheel only when the server ignores ranges); the wheel is downloaded when installed or hashed,
and a ``#sha256=`` fragment or a lock's ``--hash`` is still checked then."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import MakeIndex
from tests.e2e.test_sync_local import make_venv
from tests.support.localindex import LocalIndex, Pkg
from xv.cli import compile as compile_cli
from xv.cli.sync import main as sync_main

BIG = Pkg("big", "1.0", deps=["idna"], pad_bytes=400_000)
WHEEL = BIG.wheel_filename("py3-none-any")
PKGS = [BIG, Pkg("idna", "3.10")]


@pytest.fixture(autouse=True)
def clean_env(clean_home: Path) -> None:
    pass


def compile_(idx: LocalIndex, *args: str) -> Result:
    result = CliRunner().invoke(compile_cli.main, [*args, "--no-header", "-i", idx.url])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def wheel_bytes(idx: LocalIndex) -> int:
    return idx.bytes_sent(f"/files/{WHEEL}")


def test_metadata_of_a_wheel_url_is_read_by_range_requests(make_index: MakeIndex) -> None:
    idx = make_index(PKGS)
    Path("r.in").write_text(f"big @ {idx.file_url(WHEEL)}\n")
    result = compile_(idx, "r.in")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"big @ {idx.file_url(WHEEL)}\n    # via -r r.in\nidna==3.10\n    # via big\n"
    )
    assert all(r.range for r in idx.requests_to(f"/files/{WHEEL}"))
    assert 0 < wheel_bytes(idx) < 100_000  # the wheel is over 400 kB


def test_a_server_without_ranges_falls_back_to_the_whole_wheel(make_index: MakeIndex) -> None:
    idx = make_index(PKGS, range_requests=False)
    Path("r.in").write_text(f"big @ {idx.file_url(WHEEL)}\n")
    result = compile_(idx, "r.in")
    assert result.exit_code == 0, result.output
    assert "idna==3.10" in result.stdout
    assert wheel_bytes(idx) > 400_000


def test_generate_hashes_downloads_the_wheel_to_hash_it(make_index: MakeIndex) -> None:
    idx = make_index(PKGS)
    Path("r.in").write_text(f"big @ {idx.file_url(WHEEL)}\n")
    result = compile_(idx, "r.in", "--generate-hashes")
    assert result.exit_code == 0, result.output
    assert f"big @ {idx.file_url(WHEEL)} \\\n    --hash=sha256:{idx.sha256(WHEEL)}\n" in (
        result.stdout
    )


def test_sync_checks_the_fragment_and_the_lock_hash_on_install(
    make_index: MakeIndex, tmp_path: Path
) -> None:
    idx = make_index(PKGS)
    venv = make_venv(tmp_path / "venv")
    sha = idx.sha256(WHEEL)
    pins = f"idna==3.10\nbig @ {idx.file_url(WHEEL)}"

    def sync(lock: str) -> Result:
        Path("lock.txt").write_text(lock)
        return CliRunner().invoke(sync_main, ["lock.txt", "-p", str(venv), "-i", idx.url])

    bad = sync(f"{pins}#sha256={'0' * 64}\n")
    assert bad.exit_code != 0
    assert "big-1.0-py3-none-any.whl" in bad.output and "ash" in bad.output
    bad = sync(f"{pins} --hash=sha256:{'1' * 64}\n")
    assert bad.exit_code != 0
    assert "Hash mismatch for big" in bad.output
    assert not list(venv.glob("lib/*/site-packages/big*"))
    good = sync(f"{pins}#sha256={sha} --hash=sha256:{sha}\n")
    assert good.exit_code == 0, good.output
    assert list(venv.glob("lib/*/site-packages/big-1.0.dist-info"))
