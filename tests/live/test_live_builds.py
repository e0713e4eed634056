"""Builds against the real default index: versions that exist only as sdists are chosen as
uv 0.13.9 chooses them (its answer, with the pinned arguments below, is the expected text),
and xv's own checkout compiles as ``-e`` (hatchling from the index, isolated)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from xv.cli import compile as cli

pytestmark = pytest.mark.live

PINNED = ["--python-version", "3.11", "--python-platform", "linux", "--exclude-newer", "2025-10-01"]
ROOT = Path(__file__).resolve().parents[2]


def test_sdist_only_versions_as_uv(xv_home: Path) -> None:
    Path("r.in").write_text("docopt==0.6.2\ntermcolor==1.1.0\nfuture==0.18.3\ngunicorn>=18,<19.1\n")
    result = CliRunner().invoke(cli.main, ["r.in", "--no-header", *PINNED])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "docopt==0.6.2\n    # via -r r.in\n"
        "future==0.18.3\n    # via -r r.in\n"
        "gunicorn==19.0.0\n    # via -r r.in\n"
        "termcolor==1.1.0\n    # via -r r.in\n"
    )


def test_editable_xv_checkout(xv_home: Path) -> None:
    Path("r.in").write_text(f"-e {ROOT}\n")
    result = CliRunner().invoke(cli.main, ["r.in", "--no-header", *PINNED])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"-e {ROOT}" in lines  # an absolute path stays absolute
    for name in ("click", "packaging", "requests", "pyproject-hooks", "msgpack"):
        assert any(line.startswith(f"{name}==") for line in lines), name
