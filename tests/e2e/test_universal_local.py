"""xv-compile --universal against scenario indexes modelled on resolver edge cases.

Every expected text below is what ``uv pip compile --universal --python-version 3.9``
(uv 0.13.9) prints for the same index and input (checked side by side when written).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import MakeIndex
from tests.support.localindex import LocalIndex, Pkg
from xv.cli import compile as cli
from xv.cli import sync as sync_cli


@pytest.fixture(autouse=True)
def _clean_env(clean_home: Path) -> None:
    pass


def universal(idx: LocalIndex, requirements: str, *args: str) -> Result:
    Path("r.in").write_text(requirements)
    argv = ["r.in", "--universal", "--python-version", "3.9", "--no-header", *args, "-i", idx.url]
    result = CliRunner().invoke(cli.main, argv)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


SCENARIOS: dict[str, tuple[list[Pkg], str, str]] = {
    "split by python_version": (
        [
            Pkg("a", "1.0", deps=['numpy>=2; python_version >= "3.10"', 'numpy<2; python_version < "3.10"']),
            Pkg("numpy", "1.26.4"),
            Pkg("numpy", "2.0.0", requires_python=">=3.9"),
            Pkg("numpy", "2.1.0", requires_python=">=3.10"),
        ],
        "a\n",
        """\
a==1.0
    # via -r r.in
numpy==1.26.4 ; python_full_version < '3.10'
    # via a
numpy==2.1.0 ; python_full_version >= '3.10'
    # via a
""",
    ),
    "split by platform": (
        [
            Pkg("a", "1.0", deps=['b==1; sys_platform == "win32"', 'b==2; sys_platform != "win32"', 'colorama; os_name == "nt"']),
            Pkg("b", "1"),
            Pkg("b", "2", deps=["c"]),
            Pkg("c", "1"),
            Pkg("colorama", "0.4.6"),
        ],
        "a\n",
        """\
a==1.0
    # via -r r.in
b==1 ; sys_platform == 'win32'
    # via a
b==2 ; sys_platform != 'win32'
    # via a
c==1 ; sys_platform != 'win32'
    # via b
colorama==0.4.6 ; os_name == 'nt'
    # via a
""",
    ),
    "nested forks": (
        [
            Pkg("a", "1.0", deps=['b<2; python_version < "3.11"', 'b>=2; python_version >= "3.11"']),
            Pkg("b", "1.0", deps=['c==1; sys_platform == "darwin"', 'c==2; sys_platform != "darwin"']),
            Pkg("b", "2.0", deps=["c>=2"]),
            Pkg("c", "1"),
            Pkg("c", "2"),
            Pkg("c", "3"),
        ],
        "a\n",
        """\
a==1.0
    # via -r r.in
b==1.0 ; python_full_version < '3.11'
    # via a
b==2.0 ; python_full_version >= '3.11'
    # via a
c==1 ; python_full_version < '3.11' and sys_platform == 'darwin'
    # via b
c==2 ; python_full_version < '3.11' and sys_platform != 'darwin'
    # via b
c==3 ; python_full_version >= '3.11'
    # via b
""",
    ),
    "a shared dependency in different versions": (
        [
            Pkg("a", "1.0", deps=['b==1; sys_platform == "linux"', 'b==2; sys_platform != "linux"']),
            Pkg("b", "1", deps=["d<2"]),
            Pkg("b", "2", deps=["d>=2"]),
            Pkg("d", "1.5"),
            Pkg("d", "2.5"),
            Pkg("d", "3"),
        ],
        "a\nd\n",
        """\
a==1.0
    # via -r r.in
b==1 ; sys_platform == 'linux'
    # via a
b==2 ; sys_platform != 'linux'
    # via a
d==1.5 ; sys_platform == 'linux'
    # via
    #   -r r.in
    #   b
d==3 ; sys_platform != 'linux'
    # via
    #   -r r.in
    #   b
""",
    ),
    "one version serves every fork": (
        [
            Pkg("a", "1.0", deps=['c<3; sys_platform == "win32"', 'c>=2; sys_platform != "win32"']),
            Pkg("c", "1"),
            Pkg("c", "2"),
            Pkg("c", "3"),
        ],
        "a\n",
        "a==1.0\n    # via -r r.in\nc==2\n    # via a\n",
    ),
    "unreachable requirements": (
        [
            Pkg("a", "1.0", deps=['b; sys_platform == "linux" and sys_platform == "win32"', 'c; python_version < "3.0"']),
            Pkg("b", "1"),
            Pkg("c", "1"),
        ],
        "a\n",
        "a==1.0\n    # via -r r.in\n",
    ),
    "requires-python narrowing": (
        [Pkg("a", "2.0", requires_python=">=3.11"), Pkg("a", "1.0")],
        "a\n",
        """\
a==1.0 ; python_full_version < '3.11'
    # via -r r.in
a==2.0 ; python_full_version >= '3.11'
    # via -r r.in
""",
    ),
    "a marker raising the Python floor": (
        [
            Pkg("a", "1.0", deps=['b; python_version >= "3.11"']),
            Pkg("b", "1.0"),
            Pkg("b", "2.0", requires_python=">=3.12"),
        ],
        "a\n",
        """\
a==1.0
    # via -r r.in
b==1.0 ; python_full_version == '3.11.*'
    # via a
b==2.0 ; python_full_version >= '3.12'
    # via a
""",
    ),
    "no fork: markers and extras carried": (
        [
            Pkg("flask", "3.1.3", deps=["click>=8.1", "jinja2>=3.1"]),
            Pkg("click", "8.2.1", deps=['colorama; platform_system == "Windows"']),
            Pkg("jinja2", "3.1.6", deps=["markupsafe>=2"]),
            Pkg("markupsafe", "3.0.2"),
            Pkg("colorama", "0.4.6"),
            Pkg("requests", "2.32.3", deps=["idna>=2.5"], extras={"socks": ['pysocks>=1.5.6; sys_platform == "win32"']}),
            Pkg("idna", "3.10"),
            Pkg("pysocks", "1.7.1"),
        ],
        "flask\nrequests[socks]\n",
        """\
click==8.2.1
    # via flask
colorama==0.4.6 ; sys_platform == 'win32'
    # via click
flask==3.1.3
    # via -r r.in
idna==3.10
    # via requests
jinja2==3.1.6
    # via flask
markupsafe==3.0.2
    # via jinja2
pysocks==1.7.1 ; sys_platform == 'win32'
    # via requests
requests==2.32.3
    # via -r r.in
""",
    ),
    "markers on the inputs": (
        [Pkg("b", "1.0"), Pkg("b", "2.0"), Pkg("d", "1.0")],
        "b<2 ; python_version < '3.12'\nb>=2 ; python_version >= '3.12'\nd ; sys_platform == 'linux'\n",
        """\
b==1.0 ; python_full_version < '3.12'
    # via -r r.in
b==2.0 ; python_full_version >= '3.12'
    # via -r r.in
d==1.0 ; sys_platform == 'linux'
    # via -r r.in
""",
    ),
    # uv 0.13 takes a version whose files serve only part of the environments (here a
    # CPython 3.12 Linux wheel, and a Windows one, no sdists) for all of them.
    "wheels for part of the environments": (
        [
            Pkg("x", "1.0"),
            Pkg("x", "2.0", tags=("cp312-cp312-manylinux_2_17_x86_64",), sdist=False),
            Pkg("y", "1.0"),
            Pkg("y", "2.0", tags=("py3-none-win_amd64",), sdist=False),
        ],
        "x\ny\n",
        "x==2.0\n    # via -r r.in\ny==2.0\n    # via -r r.in\n",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_gives_uvs_lock(name: str, make_index: MakeIndex) -> None:
    pkgs, requirements, expected = SCENARIOS[name]
    result = universal(make_index(pkgs), requirements)
    assert result.exit_code == 0, result.output
    assert result.stdout == expected


def test_a_fork_without_solution_is_named(make_index: MakeIndex) -> None:
    idx = make_index(
        [
            Pkg("a", "1.0", deps=['b>=2; sys_platform == "win32"', 'b<2; sys_platform != "win32"']),
            Pkg("b", "1.0"),
            Pkg("b", "2.0", deps=["c>=5"]),
            Pkg("c", "1.0"),
        ]
    )
    result = universal(idx, "a\n")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "  × No solution found when resolving dependencies for split "
        "(markers: sys_platform == 'win32'):\n"
        "  ╰─▶ Because only c==1.0 is available and b==2.0 depends on c>=5,"
    )


def test_platform_is_refused_and_config_turns_it_on(make_index: MakeIndex) -> None:
    idx = make_index([Pkg("b", "1.0"), Pkg("b", "2.0", requires_python=">=3.12")])
    refused = universal(idx, "b\n", "--python-platform", "linux")
    assert refused.exit_code == 2
    assert "--python-platform cannot be used with --universal" in refused.stderr
    Path("xv.toml").write_text("universal = true\n")
    Path("r.in").write_text("b\n")
    argv = ["r.in", "--python-version", "3.9", "--no-header", "-i", idx.url, "-o", "lock.txt"]
    result = CliRunner().invoke(cli.main, argv)
    assert result.exit_code == 0, result.output
    lock = Path("lock.txt").read_text()
    assert "b==1.0 ; python_full_version < '3.12'\n" in lock
    assert "b==2.0 ; python_full_version >= '3.12'\n" in lock
    check = CliRunner().invoke(cli.main, [*argv, "--check"])
    assert check.exit_code == 0, check.output
    Path("lock.txt").write_text(lock.replace("b==2.0 ;", "b==1.0 ;"))
    stale = CliRunner().invoke(cli.main, [*argv, "--check"])
    assert stale.exit_code == 1, stale.output


def test_sync_installs_the_lines_for_its_python(make_index: MakeIndex, tmp_path: Path) -> None:
    """A universal lock names a package twice under disjoint markers; xv-sync installs the
    line whose marker holds for the environment."""
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    idx = make_index([Pkg("b", "1.0"), Pkg("b", "2.0"), Pkg("w", "1.0"), Pkg("p", "1.0")])
    Path("lock.txt").write_text(
        f"b==1.0 ; python_full_version < '{here}'\n"
        f"b==2.0 ; python_full_version >= '{here}'\n"
        "w==1.0 ; sys_platform == 'win32'\n"
        "p==1.0 ; sys_platform != 'win32'\n"
    )
    import subprocess

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    result = CliRunner().invoke(sync_cli.main, ["lock.txt", "-p", str(venv), "-i", idx.url])
    assert result.exit_code == 0, result.output
    site = next(venv.glob("lib/*/site-packages"))
    installed = sorted(p.name for p in site.glob("*.dist-info"))
    assert installed == ["b-2.0.dist-info", "p-1.0.dist-info"]


def test_an_existing_universal_lock_keeps_every_line(make_index: MakeIndex) -> None:
    """Each version the lock pins is a preference under its own marker (uv keeps them
    too); ``-P`` releases every line of the package."""
    idx = make_index(
        [
            Pkg("a", "1.0", deps=["numpy>=1"]),
            Pkg("numpy", "1.0"),
            Pkg("numpy", "1.5"),
            Pkg("numpy", "2.0", requires_python=">=3.11"),
        ]
    )
    lock = (
        "a==1.0\n    # via -r r.in\n"
        "numpy==1.0 ; python_full_version < '3.11'\n    # via a\n"
        "numpy==2.0 ; python_full_version >= '3.11'\n    # via a\n"
    )
    Path("lock.txt").write_text(lock)
    assert universal(idx, "a\n", "-o", "lock.txt").exit_code == 0
    assert Path("lock.txt").read_text() == lock
    assert universal(idx, "a\n", "-o", "lock.txt", "-P", "numpy").exit_code == 0
    assert "numpy==1.5 ; python_full_version < '3.11'\n" in Path("lock.txt").read_text()


def test_the_floor_is_the_interpreters_minor_as_with_uv(make_index: MakeIndex) -> None:
    """Without --python-version the floor is the running Python's minor version; uv's
    ``pip compile`` does not take it from ``requires-python`` (here 3.8) either."""
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    idx = make_index([Pkg("a", "1.0"), Pkg("a", "2.0", requires_python=f">={here}")])
    Path("pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.8"\n'
        'dependencies = ["a"]\n'
    )
    argv = ["pyproject.toml", "--universal", "--no-header", "-i", idx.url]
    result = CliRunner().invoke(cli.main, argv)
    assert result.exit_code == 0, result.output
    assert result.stdout == "a==2.0\n    # via demo (pyproject.toml)\n"
