"""Bad input never ends in a traceback (issue 10, defect 11): the inputs fuzzing found, each
now one clear error naming the input and exit 2, and a fuzz test over both commands.

The network is out of the picture: ``--offline --no-index`` and an empty find-links
directory, and remote requirement files are "fetched" by a stub.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xv.cli import compile as compile_cli
from xv.cli import sync as sync_cli
from xv.reqfile import parser


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway environment for xv-sync (every run here is also --dry-run)."""
    path = tmp_path_factory.mktemp("fuzz") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


@pytest.fixture(autouse=True)
def offline(bare_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "wheels").mkdir()

    def no_network(url: str) -> str:
        raise urllib.error.URLError("the network is off in this test")

    monkeypatch.setattr(parser, "fetch_url", no_network)
    yield


NO_NETWORK = ("--offline", "--no-index", "-f", "wheels")


def compile_(*args: str) -> Result:
    return CliRunner().invoke(compile_cli.main, [*args, *NO_NETWORK])


def sync(venv: Path, *args: str) -> Result:
    return CliRunner().invoke(sync_cli.main, [*args, "-p", str(venv), "--dry-run", *NO_NETWORK])


def assert_clean(result: Result, codes: tuple[int, ...] = (0, 1, 2)) -> None:
    """An exit status from the README's table, and no traceback."""
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, f"{result.exception!r}\n{result.output}"
    assert result.exit_code in codes, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("foo @ http://[bad", "r.txt:1: invalid URL 'http://[bad': Invalid IPv6 URL"),
        ("-f http://[x", "r.txt:1: invalid URL 'http://[x': Invalid IPv6 URL"),
        ("-r http://[bad/x.txt", "r.txt:1: invalid URL 'http://[bad/x.txt'"),
        (
            "-i http://h:99999/simple",
            "r.txt:1: invalid URL 'http://h:99999/simple': Port out of range",
        ),  # fmt: skip
        ('foo==1 ; python_full_version ~= "3.x"', "r.txt:1: invalid marker"),
        ("flask===x", "r.txt:1: "),  # found by the fuzz test below
        ("~=\x00", "r.txt:1: the line contains a NUL byte"),  # and this one (a path)
        ("-r a\x00.txt", "r.txt:1: the line contains a NUL byte"),
    ],
)
def test_found_by_fuzzing_in_both_commands(venv: Path, line: str, words: str) -> None:
    Path("r.txt").write_text(f"{line}\n")
    for result in (compile_("r.txt"), sync(venv, "r.txt")):
        assert_clean(result, (2,))
        assert words in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("-i", "http://h:99999/simple"),
        ("--extra-index-url", "http://[x/simple"),
        ("-f", "http://[x"),
        ("-i", "https:///simple"),
    ],
)
def test_bad_index_urls_on_the_command_line(venv: Path, args: tuple[str, str]) -> None:
    Path("r.txt").write_text("foo==1.0\n")
    for result in (
        CliRunner().invoke(compile_cli.main, ["r.txt", *args]),
        CliRunner().invoke(sync_cli.main, ["r.txt", "-p", str(venv), "--dry-run", *args]),
    ):
        assert_clean(result, (2,))
        assert f"invalid URL '{args[1]}'" in result.stderr


def test_a_bad_index_url_in_the_environment() -> None:
    Path("r.txt").write_text("foo==1.0\n")
    result = CliRunner().invoke(compile_cli.main, ["r.txt"], env={"XV_INDEX_URL": "http://h:0x/s"})
    assert_clean(result, (2,))
    assert "invalid URL 'http://h:0x/s'" in result.stderr


def test_an_upgrade_package_the_resolver_cannot_read() -> None:
    Path("r.txt").write_text("foo\n")
    result = compile_("r.txt", "-P", "foo===x")
    assert_clean(result, (2,))
    assert "invalid --upgrade-package 'foo===x'" in result.stderr


def test_a_requirements_url_that_cannot_be_parsed() -> None:
    assert_clean(compile_("http://[x/r.txt"), (2,))


def test_a_pyproject_that_is_not_utf8(venv: Path) -> None:
    # Read twice: as the input, and first of all as the configuration ([tool.xv]).
    Path("pyproject.toml").write_bytes(b'[project]\nname = "p"\ndependencies = ["caf\xe9"]\n')
    for result in (compile_("pyproject.toml"), sync(venv, "pyproject.toml")):
        assert_clean(result, (2,))
        assert "pyproject.toml: cannot read the file: not UTF-8" in result.stderr


# --- fuzzing ------------------------------------------------------------------------------------

FRAGMENTS = [
    "flask", "foo", "Foo_Bar", "==", ">=", "~=", "===", "!=", "<", "1.0", "1.*", "2!1.0", "3.x",
    "[", "]", "[socks]", ",", ";", " ; ", "@", " @ ", "#", " #", "\\", "\n", " ", "'", '"',
    "python_version", "python_full_version", "os_name", "extra", "sys_platform", " and ", " or ",
    '"3.8"', "'posix'", "(", ")", "-r ", "-c ", "-e ", "-i ", "-f ", "--hash=sha256:", "ab" * 32,
    "--index-url=", "--extra-index-url ", "--no-index", "--pre", "--only-binary :all:",
    "--no-binary ", "--trusted-host ", "--require-hashes", "http://", "https://", "file:",
    "git+https://h/r", "[::1]", "[bad", ":99999", ":0x", "h", "/simple", "x.txt", "./pkg",
    "foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl", "#egg=foo", "${HOME}", "${UNSET_FUZZ}",
    "\ufeff", "é", "\x00", "\t", "pyproject.toml", "..", "~",
]  # fmt: skip

pick = st.sampled_from
url = st.builds(
    "".join,
    st.tuples(
        pick(["http://", "https://", "file:", "git+https://", "ftp://", ""]),
        pick(["h", "u:p@h", "[::1]", "[bad", "", "${UNSET_FUZZ}", "${HOME}"]),
        pick(["", ":80", ":99999", ":x", ":"]),
        pick(
            ["/simple", "/r.txt", "/foo-1.0.tar.gz", "/foo-1.0-py3-none-any.whl", "", "/x#egg=foo"]
        ),
    ),
)
marker = st.builds(
    "{} {} {}".format,
    pick(["python_version", "python_full_version", "os_name", "extra", "platform_release"]),
    pick(["==", "~=", "<", ">=", "!=", "===", "in", "not in"]),
    pick(['"3.8"', '"3.x"', "'posix'", '"3"', '""', '"1.0.*"']),
)
name = pick(["flask", "foo", "Foo_Bar", "a.b-c", "-x", "", "é"])
requirement_line = st.builds(
    "{}{}{}{}{}".format,
    name,
    pick(["", "[socks]", "[", "[a,b]"]),
    pick(["", "==1.0", ">=1,<2", "~=1", "==1.*", "===x", " @ "]),
    st.one_of(st.just(""), marker.map(" ; {}".format)),
    pick(["", " --hash=sha256:" + "ab" * 32, " --hash=md5:00", " --pre"]),
)
option_line = st.builds(
    "{}{}".format,
    pick(
        [
            "-r ",
            "-c ",
            "-e ",
            "-i ",
            "--extra-index-url ",
            "-f ",
            "--trusted-host ",
            "--no-binary ",
            "--only-binary=",
            "--hash=",
            "-",
        ]
    ),  # fmt: skip
    st.one_of(url, pick(["x.txt", "./pkg", ":all:", "foo,:none:", "", "..", "~"])),
)
line = st.one_of(
    requirement_line,
    st.builds("{} @ {}".format, name, url),
    url,
    option_line,
    st.lists(st.one_of(pick(FRAGMENTS), st.text(max_size=4)), max_size=8).map("".join),
)
requirement_text = st.lists(line, max_size=6).map("\n".join)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=requirement_text)
def test_random_requirement_files_never_crash_either_command(venv: Path, text: str) -> None:
    Path("r.txt").write_text(text, encoding="utf-8", errors="surrogateescape")
    assert_clean(compile_("r.txt"))
    assert_clean(sync(venv, "r.txt"))
