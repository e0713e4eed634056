"""Finding a built wheel in the cache by the target's tags (xv.build.wheels)."""

from __future__ import annotations

from pathlib import Path

from packaging.tags import parse_tag
from packaging.utils import parse_wheel_filename

from xv.build.wheels import fitting_wheel
from xv.env.tags import interpreter_tags


def _folder(tmp_path: Path, *names: str) -> Path:
    for name in names:
        (tmp_path / name).write_bytes(b"")
    return tmp_path


def _by_parsing(folder: Path, tags: tuple[str, ...]) -> Path | None:
    """The choice made by parsing every tag, as packaging reads them (the reference)."""
    rank: dict[object, int] = {}
    for i, text in enumerate(tags):
        for tag in parse_tag(text):
            rank.setdefault(tag, i)
    best: tuple[int, Path] | None = None
    for path in sorted(folder.glob("*.whl")):
        ranks = [rank[t] for t in parse_wheel_filename(path.name)[3] if t in rank]
        if ranks and (best is None or min(ranks) < best[0]):
            best = (min(ranks), path)
    return best[1] if best else None


def test_the_best_ranked_wheel_is_chosen_as_parsing_every_tag_would(tmp_path: Path) -> None:
    tags = tuple(
        interpreter_tags((3, 11), "cpython", {}, ["manylinux_2_17_x86_64", "linux_x86_64"])
    )
    folder = _folder(
        tmp_path,
        "demo-1.0-py3-none-any.whl",
        "demo-1.0-cp311-cp311-linux_x86_64.whl",
        "demo-1.0-cp310-cp310-linux_x86_64.whl",
        "demo-1.0-py2.py3-none-manylinux_2_17_x86_64.whl",
    )
    assert fitting_wheel(folder, tags) == _by_parsing(folder, tags)
    assert fitting_wheel(folder, tags) == folder / "demo-1.0-cp311-cp311-linux_x86_64.whl"


def test_compressed_and_upper_case_tags_in_the_list_still_count(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "demo-1.0-py2-none-any.whl", "demo-1.0-py3-none-any.whl")
    tags = ("py3.py2-none-ANY",)
    assert fitting_wheel(folder, tags) == _by_parsing(folder, tags)
    assert (
        fitting_wheel(folder, ("cp311-none-any", "PY3-none-any"))
        == folder / "demo-1.0-py3-none-any.whl"
    )


def test_no_fitting_wheel_and_no_folder_give_none(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "demo-1.0-cp39-cp39-win_amd64.whl", "not-a-wheel.whl")
    assert fitting_wheel(folder, ("py3-none-any",)) is None
    assert fitting_wheel(tmp_path / "absent", ("py3-none-any",)) is None
