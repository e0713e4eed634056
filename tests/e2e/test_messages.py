"""What xv-compile says on stderr (issue 10, defect 13): a progress counter that never
passes the final count, uv's ``Resolved N packages in Xs`` also when stderr is not a
terminal (``-q`` silences it), and with ``-v`` a debug log of what was fetched, from the
cache or the network, and why a version was passed over."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import MakeIndex
from tests.support.localindex import LocalIndex, Pkg
from xv.cli import compile as cli
from xv.cli import output

PKGS = [
    Pkg("requests", "2.32.3", deps=["idna>=2.5"], extras={"socks": ["pysocks>=1.5.6"]}),
    Pkg("requests", "2.33.0", deps=["idna>=2.5"], requires_python=">=3.99"),
    Pkg("requests", "2.34.0rc1", deps=["idna>=2.5"]),
    Pkg("idna", "3.10"),
    Pkg("idna", "3.11", yanked="broken"),
    Pkg("pysocks", "1.7.1"),
]


@pytest.fixture
def idx(
    make_index: MakeIndex, xv_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> LocalIndex:
    monkeypatch.setenv("XV_POOL", "thread")
    Path("r.in").write_text("requests[socks]\n")
    return make_index(PKGS)


def xv(idx: LocalIndex, *args: str) -> Result:
    result = CliRunner().invoke(
        cli.main, ["r.in", "-i", idx.url, "--python-version", "3.12", *args]
    )
    assert result.exit_code == 0, result.output
    return result


def test_the_counter_never_passes_the_final_count(
    idx: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "_isatty", lambda stream: True)  # draw the progress line
    result = xv(idx, "--color", "never")
    counts = [int(n) for n in re.findall(r"Resolving dependencies\.\.\. (\d+)", result.stderr)]
    final = int(re.findall(r"Resolved (\d+) packages", result.stderr)[-1])
    assert final == 3  # requests, idna, pysocks
    assert counts and max(counts) <= final and counts[-1] == final, result.stderr


def test_the_summary_is_printed_when_stderr_is_not_a_terminal(idx: LocalIndex) -> None:
    result = xv(idx, "-o", "r.txt")
    assert re.fullmatch(r"Resolved 3 packages in \d+(ms|\.\d\ds)\n", result.stderr)
    assert xv(idx, "-o", "r.txt", "-q").stderr == ""


def test_verbose_logs_fetches_and_rejected_versions(idx: LocalIndex) -> None:
    cold = xv(idx, "-v").stderr
    assert re.search(r"DEBUG GET http://127\.0\.0\.1:\d+/simple/requests/ -> 200 in ", cold)
    assert "DEBUG requests: index page from the network" in cold
    assert re.search(r"DEBUG metadata of idna-3\.10-py3-none-any\.whl: fetched", cold)
    assert "DEBUG requests 2.33.0 passed over: requires Python >=3.99" in cold
    assert "DEBUG requests 2.34.0rc1 passed over: a pre-release" in cold
    assert "DEBUG idna 3.11 passed over: was yanked" in cold
    assert "DEBUG selecting requests 2.32.3" in cold
    warm = xv(idx, "-v").stderr
    assert "DEBUG requests: index page from the cache" in warm
    assert "DEBUG metadata of idna-3.10-py3-none-any.whl: from the cache" in warm
    assert "GET " not in warm
    assert "DEBUG" not in xv(idx).stderr  # only with -v


def test_the_log_handler_is_installed_once_per_run(idx: LocalIndex) -> None:
    xv(idx, "-v")
    xv(idx, "-v")
    handlers = logging.getLogger("xv").handlers
    assert len([h for h in handlers if isinstance(h, output._LogHandler)]) == 1
