"""House style that ruff does not check: one form of section divider in src/xv."""

from __future__ import annotations

import re
from pathlib import Path

import xv

SRC = Path(xv.__file__).parent
DIVIDER = re.compile(r"^\s*#\s*[-=*#]{2,}(\s|$)")  # a comment that starts with a rule
HOUSE = re.compile(r"^(\s*)# -- \S.*\S -{3,}$")  # "# -- title ---…" ending at column 80


def test_section_dividers_have_one_form() -> None:
    odd = [
        f"{path.relative_to(SRC)}:{number}"
        for path in sorted(SRC.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if DIVIDER.match(line) and not (HOUSE.match(line) and len(line) == 80)
    ]
    assert not odd, f"section dividers not in the form '# -- title ---' (80 columns): {odd}"
