"""xv.compile.configure: typed settings to CompileOptions, without click."""

from __future__ import annotations

from pathlib import Path

from xv.compile.configure import compile_options
from xv.settings import Settings


def test_no_input_named_compiles_pip_compiles_default_input(xv_home: Path) -> None:
    (xv_home / "requirements.in").write_text("tool\n")
    notes: list[str] = []
    opts = compile_options(Settings(), ["xv-compile"], lambda: "", note=notes.append)
    assert notes == ["Compiling requirements.in into requirements.txt"]
    assert opts.output.output_file == "requirements.txt"
    assert [str(r.requirement) for r in opts.inputs.requirements] == ["tool"]


def test_an_input_named_is_compiled_to_stdout(xv_home: Path) -> None:
    (xv_home / "requirements.in").write_text("tool\n")
    (xv_home / "other.in").write_text("lib\n")
    notes: list[str] = []
    opts = compile_options(Settings(src_files=("other.in",)), [], lambda: "", note=notes.append)
    assert notes == []
    assert opts.output.output_file is None
    assert [str(r.requirement) for r in opts.inputs.requirements] == ["lib"]
