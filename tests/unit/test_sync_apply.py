"""Reading sync inputs and choosing files, without an environment or a network."""

from __future__ import annotations

import doctest
import sys
from pathlib import Path

import pytest
from packaging.version import Version

import xv.sync.apply
import xv.sync.inputs
from xv.env import Interpreter, query_interpreter
from xv.errors import HashMismatchError, InputError, InstallError
from xv.index.simple import DistFile, ProjectPage
from xv.install.validate import read_layout
from xv.sync.apply import requirements_of
from xv.sync.choose import best_file, target_of
from xv.sync.hashes import fetch_for
from xv.sync.inputs import read_inputs
from xv.sync.plan import Wanted

MARKERS = {
    "python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux",
    "platform_machine": "x86_64", "os_name": "posix", "platform_system": "Linux",
    "implementation_name": "cpython", "platform_python_implementation": "CPython",
    "platform_release": "", "platform_version": "", "implementation_version": "3.11.7",
}  # fmt: skip
SHA = "ab" * 32


@pytest.fixture(scope="module")
def interp() -> Interpreter:
    return query_interpreter(sys.executable)


def test_doctests() -> None:
    for module in (xv.sync.apply, xv.sync.inputs):
        assert doctest.testmod(module).failed == 0


def test_union_markers_hashes_and_urls(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(
        f"B==1.0 --hash=sha256:{SHA}\nwin==1 ; sys_platform == 'win32'\n"
        f"c @ https://h/c-2.0-py3-none-any.whl#sha256={SHA}\n"
    )
    (tmp_path / "b.txt").write_text("b==1.0\nd===2\n")
    inputs = read_inputs([tmp_path / "a.txt", tmp_path / "b.txt"], MARKERS, require_hashes=False)
    assert [(w.canonical_name, str(w.version)) for w in inputs.wanted] == [
        ("b", "1.0"), ("c", "2.0"), ("d", "2"),
    ]  # fmt: skip
    assert inputs.wanted[0].hashes == (f"sha256:{SHA}",)
    assert inputs.wanted[1].hashes == (f"sha256:{SHA}",)
    assert str(inputs.origins["b"]) == f"{tmp_path / 'a.txt'}:1"


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("x==1\nx==2\n", InputError, "conflicting pins for x"),
        ("x>1\n", InputError, "not pinned"),
        ("--require-hashes\nx==1\n", InputError, "has no --hash"),
    ],
)
def test_bad_inputs(tmp_path: Path, text: str, error: type[Exception], words: str) -> None:
    (tmp_path / "r.txt").write_text(text)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "setup.py").write_text("")
    with pytest.raises(error, match=words):
        read_inputs([tmp_path / "r.txt"], MARKERS)


@pytest.mark.parametrize(
    "text",
    ["x @ git+https://h/x\n", "-e ./x\n", "./x\n", "x @ https://h/x-1.0.tar.gz\n"],
)
def test_entries_that_need_a_build_are_set_aside(tmp_path: Path, text: str) -> None:
    (tmp_path / "r.txt").write_text(text + "y==1\n")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "setup.py").write_text("")
    inputs = read_inputs([tmp_path / "r.txt"], MARKERS)
    assert [w.canonical_name for w in inputs.wanted] == ["y"]
    assert [d.origin.line for d in inputs.direct] == [1]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("-e ./x\n", "cannot be hashed"),
        ("./x\n", "cannot be hashed"),
        ("x @ git+https://h/x\n", "cannot be hashed"),
        ("x @ https://h/x-1.0.tar.gz\n", "has no --hash"),
    ],
)
def test_require_hashes_for_entries_that_need_a_build(
    tmp_path: Path, text: str, words: str
) -> None:
    (tmp_path / "r.txt").write_text(text)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "setup.py").write_text("")
    with pytest.raises(InputError, match=words):
        read_inputs([tmp_path / "r.txt"], MARKERS, require_hashes=True)
    (tmp_path / "r.txt").write_text(f"x @ https://h/x-1.0.tar.gz --hash=sha256:{SHA}\n")
    assert len(read_inputs([tmp_path / "r.txt"], MARKERS, require_hashes=True).direct) == 1


def page(*filenames: str) -> ProjectPage:
    return ProjectPage("x", tuple(DistFile(f, f"https://h/{f}", {"sha256": SHA}) for f in filenames), "i")  # fmt: skip


def test_best_file_prefers_the_best_tag(interp: Interpreter) -> None:
    want = Wanted("x", Version("1.0"))
    tag = interp.tags[0]
    chosen = best_file(
        want, page("x-1.0-py3-none-any.whl", f"x-1.0-{tag}.whl", "x-2.0-py3-none-any.whl", "x-1.0.tar.gz"),
        target_of(interp), "here",
    )  # fmt: skip
    assert chosen.filename == f"x-1.0-{tag}.whl"
    with pytest.raises(InstallError, match="only available as a source distribution"):
        best_file(want, page("x-1.0.tar.gz"), target_of(interp), "here")
    with pytest.raises(InstallError, match=r"no wheel for this platform \(here\)"):
        best_file(want, page("x-1.0-cp99-cp99-win_arm64.whl"), target_of(interp), "here")


def test_lock_hash_against_the_index_hash() -> None:
    file = DistFile("x-1.0-py3-none-any.whl", "https://h/x", {"sha256": SHA})
    assert fetch_for(Wanted("x", Version("1.0"), None, (f"sha256:{SHA}",)), file).lock_hashes == ()
    with pytest.raises(HashMismatchError, match="Hash mismatch for x==1.0"):
        fetch_for(Wanted("x", Version("1.0"), None, ("sha256:" + "cd" * 32,)), file)
    other = fetch_for(Wanted("x", Version("1.0"), None, ("sha512:" + "ef" * 64,)), file)
    assert other.lock_hashes == ("sha512:" + "ef" * 64,)  # checked after downloading


def test_validated_layout_carries_requires_dist_for_the_install_order(tmp_path: Path) -> None:
    """The install order comes from the layout validation read, not from METADATA read again:
    both give the same names (headers only, unparsable values skipped)."""
    dist_info = tmp_path / "demo-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: Dep_A (>=1)\n"
        "Requires-Dist: dep-b[x]; python_version < '4'\nRequires-Dist: not valid !!\n"
        "\nRequires-Dist: body-only\n"
    )
    (dist_info / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
    (dist_info / "RECORD").write_text("demo-1.0.dist-info/RECORD,,\n")
    layout = read_layout(tmp_path)
    assert layout.requires == ("Dep_A (>=1)", "dep-b[x]; python_version < '4'", "not valid !!")
    assert requirements_of(str(tmp_path)) == {"dep-a", "dep-b"}


def test_the_sync_modules_leave_subprocess_and_shutil_unloaded() -> None:
    # A warm sync into a fresh venv links files and starts no process: subprocess (for
    # --compile-bytecode) and shutil (copies, rmtree, PATH search; it brings bz2 and lzma)
    # are loaded where they are used.
    import subprocess

    probe = (
        "import sys, xv.cli.syncing, xv.sync.run, xv.sync.apply, xv.install.place, "
        "xv.install.remove, xv.install.archive, xv.env.discover; "
        "print(sorted({'subprocess', 'shutil', 'bz2', 'lzma'} & set(sys.modules)))"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
