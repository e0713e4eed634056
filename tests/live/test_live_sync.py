"""xv-sync against the real default index: a 27-package lock into a fresh venv."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from xv.cli.sync import main
from xv.lockfile import parse

pytestmark = pytest.mark.live
LOCK = Path(__file__).parents[2] / "fixtures" / "sync" / "requirements.txt"


def test_sync_a_real_lock_into_a_fresh_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    args = [str(LOCK), "-p", str(venv), "--cache-dir", str(tmp_path / "cache"), "--require-hashes"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    pins = {name: str(pin.version) for name, pin in parse(LOCK).items()}
    assert len(pins) >= 25 and f"Installed {len(pins)} packages" in result.output
    python = ["--python", str(venv / "bin" / "python")]
    listed = subprocess.run(
        [sys.executable, "-m", "pip", *python, "list", "--format=json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert {
        d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(listed.stdout)
    } == pins
    check = subprocess.run([sys.executable, "-m", "pip", *python, "check"], capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stdout
    code = "import flask, requests, socks, sqlalchemy, pydantic, rich, httpx; print('ok')"
    assert subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True).stdout == "ok\n"  # fmt: skip
    assert "Audited" in CliRunner().invoke(main, args).output
