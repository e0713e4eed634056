"""xv-compile's pip-compile habits, end to end against the local index: the default input
and output, ``--unsafe-package``, and ``--extra-index-url`` read from the ``.in``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import MakeIndex
from tests.support.localindex import LocalIndex, Pkg
from xv.cli import compile as cli

PKGS = [Pkg("tool", "1.0", deps=["lib"]), Pkg("lib", "1.0"), Pkg("other", "2.0")]


@pytest.fixture
def idx(
    make_index: MakeIndex, xv_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> LocalIndex:
    return make_index(PKGS)


def xv(idx: LocalIndex, *args: str) -> Result:
    return CliRunner().invoke(cli.main, [*args, "-i", idx.url, "--no-header"])


@pytest.mark.parametrize(
    ("files", "chosen"),
    [
        (
            {
                "requirements.in": "tool\n",
                "pyproject.toml": "[project]\nname='x'\nversion='1'\ndependencies=['other']\n",
            },
            "requirements.in",
        ),  # fmt: skip
        (
            {"pyproject.toml": "[project]\nname='x'\nversion='1'\ndependencies=['tool']\n"},
            "pyproject.toml",
        ),  # fmt: skip
    ],
)
def test_no_input_finds_the_default_and_writes_requirements_txt(
    idx: LocalIndex, files: dict[str, str], chosen: str
) -> None:
    for name, text in files.items():
        Path(name).write_text(text)
    result = xv(idx)
    assert result.exit_code == 0, result.output
    assert f"Compiling {chosen} into requirements.txt" in result.stderr
    assert result.stdout == ""  # written to the file, as pip-compile does
    written = Path("requirements.txt").read_text()
    assert "tool==1.0" in written and "lib==1.0" in written and "other" not in written
    named = xv(idx, chosen)  # an input named and no -o: stdout, as uv
    assert named.exit_code == 0 and "tool==1.0" in named.stdout


def test_no_input_and_no_default_is_a_usage_error(idx: LocalIndex) -> None:
    result = xv(idx)
    assert result.exit_code == 2
    assert "none of requirements.in, setup.py, pyproject.toml, setup.cfg" in result.stderr


def test_unsafe_package_writes_pip_compiles_block(idx: LocalIndex) -> None:
    Path("requirements.in").write_text("tool\n")
    result = xv(idx, "requirements.in", "--unsafe-package", "lib")
    assert result.exit_code == 0, result.output
    # pip-compile 7.6.2's output, byte for byte (run against the same index)
    assert result.stdout == (
        "tool==1.0\n"
        "    # via -r requirements.in\n"
        "\n"
        "# The following packages are considered to be unsafe in a requirements file:\n"
        "# lib\n"
    )
    pinned = xv(idx, "requirements.in", "--unsafe-package", "lib", "--allow-unsafe")
    assert pinned.stdout.endswith(
        "# The following packages are considered to be unsafe in a requirements file:\n"
        "lib==1.0\n"
        "    # via tool\n"
    )
    assert "has no effect" not in pinned.stderr


def test_extra_index_url_from_the_in_file_is_emitted(idx: LocalIndex) -> None:
    extra = idx.url.replace("127.0.0.1", "localhost")
    Path("requirements.in").write_text(f"--extra-index-url {extra}\ntool\n")
    result = xv(idx, "requirements.in", "--emit-index-url")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"--index-url {idx.url}\n--extra-index-url {extra}\n\n")
