"""xv-sync against crafted wheels: nothing is written outside the environment, and a
wheel that fails any check stops the sync before the environment changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result

from tests.e2e.test_sync_local import clean_env, lock, make_venv, pip_list, run_py, snapshot, sync
from tests.support.crafted import craft_wheel
from tests.support.localindex import LocalIndex, Pkg

__all__ = ["clean_env"]
GOOD = Pkg("aaa", "1.0")  # sorts (and installs) before every crafted one


@pytest.fixture(scope="module")
def index(localindex_build_cache: Path) -> Iterator[LocalIndex]:
    with LocalIndex([GOOD], build_cache=localindex_build_cache) as idx:
        yield idx


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    venv = make_venv(tmp_path / "venv")
    (venv / ".lock").touch()  # made by the first sync; snapshots compare what follows
    return venv


def refused(index: LocalIndex, venv: Path, tmp_path: Path, pin: str, *words: str) -> Result:
    """Sync ``aaa`` and ``pin``: exit 1, the words in the message, nothing changed."""
    before = snapshot(venv)
    result = sync(index, venv, lock(tmp_path, f"aaa==1.0\n{pin}\n"))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output
    assert snapshot(venv) == before and pip_list(venv) == {}
    return result


def test_headers_path_comes_from_the_validated_name(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    data = craft_wheel(
        "hdr-1.0.dist-info",
        {"hdr-1.0.data/headers/f.h": "int x;\n", "hdr/__init__.py": ""},
        name=str(outside),
    )
    index.add_raw("hdr", "1.0", "hdr-1.0-py3-none-any.whl", data)
    refused(index, venv, tmp_path, "hdr==1.0", "invalid project name")
    assert not outside.exists()
    # A valid name: the header lands in the environment, under the normalized name.
    good = craft_wheel("Hdr_Two-1.0.dist-info", {"Hdr_Two-1.0.data/headers/f.h": "int y;\n"})
    index.add_raw("hdr-two", "1.0", "hdr_two-1.0-py3-none-any.whl", good)
    result = sync(index, venv, lock(tmp_path, "hdr-two==1.0\n"))
    assert result.exit_code == 0, result.output
    assert [p.name for p in venv.glob("include/site/*/hdr-two/f.h")] == ["f.h"]


@pytest.mark.parametrize("script", ["../../evil", "/tmp/evil", "a\\\\b", "..", "-rf"])
def test_bad_script_names_are_refused_before_anything_is_placed(
    index: LocalIndex, venv: Path, tmp_path: Path, script: str
) -> None:
    name = f"scr{abs(hash(script)) % 10_000}"
    data = craft_wheel(
        f"{name}-1.0.dist-info",
        {f"{name}/__init__.py": "def main(): pass\n"},
        entry_points=f"[console_scripts]\n{script} = {name}:main\n",
    )
    index.add_raw(name, "1.0", f"{name}-1.0-py3-none-any.whl", data)
    refused(index, venv, tmp_path, f"{name}==1.0", name)


@pytest.mark.parametrize(
    ("case", "kwargs", "words"),
    [
        ("metadata-version", {"version": "9.9"}, ["METADATA says", "9.9"]),
        ("metadata-name", {"name": "other"}, ["METADATA says other"]),
        (
            "no-wheel-version",
            {"wheel": "Generator: x\nRoot-Is-Purelib: true\n"},
            ["no Wheel-Version"],
        ),
        (
            "wheel-version-2",
            {"wheel": "Wheel-Version: 2.0\nRoot-Is-Purelib: true\n"},
            ["Wheel-Version 2.0"],
        ),
        ("no-wheel-file", {"wheel": None}, ["WHEEL"]),
        ("bad-target", {"entry_points": "[console_scripts]\nx = not a target\n"}, ["entry point"]),
        ("unrecorded", {"unrecorded": ["{p}/mod.py"]}, ["not listed in RECORD"]),
        ("escaping-record", {"extra_rows": [["../../escape.py", "", ""]]}, ["escapes"]),
        ("garbled-metadata", {"metadata": b"Name: w\xff\nVersion: 1.0\n\n"}, ["UTF-8"]),
    ],
)
def test_each_check_refuses_the_whole_plan(
    index: LocalIndex,
    venv: Path,
    tmp_path: Path,
    case: str,
    kwargs: dict[str, object],
    words: list[str],
) -> None:
    name = "w" + case.replace("-", "")
    files = {f"{name}/__init__.py": "", f"{name}/mod.py": "X = 1\n"}
    if "unrecorded" in kwargs:
        kwargs = {"unrecorded": [f"{name}/mod.py"]}
    data = craft_wheel(f"{name}-1.0.dist-info", files, **kwargs)  # type: ignore[arg-type]
    index.add_raw(name, "1.0", f"{name}-1.0-py3-none-any.whl", data)
    refused(index, venv, tmp_path, f"{name}==1.0", *words)


def test_the_file_name_must_match_the_pin(index: LocalIndex, venv: Path, tmp_path: Path) -> None:
    data = craft_wheel("fname-2.0.dist-info", {"fname/__init__.py": ""})
    index.add_raw("fname", "1.0", "fname-1.0-py3-none-any.whl", data)
    refused(index, venv, tmp_path, "fname==1.0", "the wheel is not fname==1.0")


def test_unknown_data_scheme(index: LocalIndex, venv: Path, tmp_path: Path) -> None:
    data = craft_wheel("dsch-1.0.dist-info", {"dsch-1.0.data/etc/passwd": "x\n"})
    index.add_raw("dsch", "1.0", "dsch-1.0-py3-none-any.whl", data)
    refused(index, venv, tmp_path, "dsch==1.0", "unknown .data scheme")


def test_a_symlink_in_the_environment_cannot_lead_writes_outside(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    site = next(venv.glob("lib/*/site-packages"))
    (site / "slnk").symlink_to(outside)
    data = craft_wheel("slnk-1.0.dist-info", {"slnk/__init__.py": "X = 1\n"})
    index.add_raw("slnk", "1.0", "slnk-1.0-py3-none-any.whl", data)
    refused(index, venv, tmp_path, "slnk==1.0", "through a symlink")
    assert list(outside.iterdir()) == []


def test_a_record_listing_paths_outside_is_warned_about_and_the_rest_removed(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    assert sync(index, venv, lock(tmp_path, "aaa==1.0\n")).exit_code == 0
    site = next(venv.glob("lib/*/site-packages"))
    outside = tmp_path / "keepme.txt"
    outside.write_text("precious\n")
    own = site / "bad_dist.py"
    own.write_text("X = 1\n")
    meta = site / "bad_dist-1.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-dist\nVersion: 1.0\n\n")
    rel_python = Path("..", "..", "..", "bin", "python3")
    rows = ["bad_dist.py,,", f"{rel_python},,", "../../../pyvenv.cfg,,", f"{outside},,"]
    rows += ["../../../bin/activate,,", "bad_dist-1.0.dist-info/METADATA,,"]
    (meta / "RECORD").write_text("\n".join(rows) + "\nbad_dist-1.0.dist-info/RECORD,,\n")
    result = sync(index, venv, lock(tmp_path, "aaa==1.0\n"))
    assert result.exit_code == 0, result.output
    assert " - bad-dist==1.0" in result.output
    assert result.output.count("warning:") == 1 and "bad-dist" in result.output
    assert outside.read_text() == "precious\n"
    assert (venv / "pyvenv.cfg").is_file() and (venv / "bin" / "activate").is_file()
    assert run_py(venv, "import aaa; print('ok')") == "ok"
    assert not own.exists() and not meta.exists()
    assert pip_list(venv) == {"aaa": "1.0"}
