"""A project the index does not have costs one request, nothing more (issue 15 goal 5)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import MakeIndex
from tests.support.localindex import LocalIndex, Pkg
from xv.cli import compile as cli


def quiet(idx: LocalIndex) -> int:
    """The request count once the index has answered nothing for half a second: a guess
    still in flight when the command returned (its threads outlive ``CliRunner``) is
    logged before the next run starts counting."""
    count, since = len(idx.requests), time.monotonic()
    while time.monotonic() - since < 0.5:
        time.sleep(0.05)
        if len(idx.requests) != count:
            count, since = len(idx.requests), time.monotonic()
    return count


def test_a_missing_project_is_one_request_and_then_known_missing(
    make_index: MakeIndex, xv_home: Path
) -> None:
    idx = make_index([Pkg("flask", "3.1.3", deps=["click>=8", "Not_There"]), Pkg("click", "8.2.1")])
    missing = [f"missing-{i}" for i in range(12)]
    Path("requirements.in").write_text("\n".join(["flask", *missing]) + "\n")
    reported = []
    for _ in range(2):
        before = quiet(idx)
        result = CliRunner().invoke(cli.main, ["-i", idx.url])
        assert result.exit_code == 1
        reported.append(result.output.split("Because ", 1)[1].split(" ", 1)[0])
        quiet(idx)
        asked = Counter(r.path for r in idx.requests[before:])
        assert [path for path, n in asked.items() if n > 1] == []  # no retry, no second ask
        misses = {r.path for r in idx.requests[before:] if r.status == 404}
        # One URL per missing name: no other spelling, no second index, no fallback format.
        assert misses <= {f"/simple/{name}/" for name in [*missing, "not-there"]}
    # The project the failure names was waited for, so its answer was written: known missing.
    assert reported[0] == reported[1] == "missing-0"
    assert "/simple/missing-0/" not in {r.path for r in idx.requests[before:]}
