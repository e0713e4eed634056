"""``--keyring-provider subprocess`` end to end: a fake ``keyring`` command on PATH, the local
index behind basic auth, both commands; the password is never printed, logged or cached."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.e2e.test_sync_local import make_venv, run_py
from tests.support.localindex import LocalIndex, Pkg
from xv.cli import compile as compile_cli
from xv.cli import sync as sync_cli
from xv.index import keyring

SECRET = "k3yr1ng-s3cret"
# Answers `keyring get SERVICE USER` for one service and user; logs every call's arguments.
FAKE = """#!{python}
import sys, os
with open(os.environ["FAKE_KEYRING_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
if sys.argv[1:] == ["get", os.environ["FAKE_KEYRING_SERVICE"], "alice"]:
    print("{secret}")
    sys.exit(0)
sys.exit(1)
"""


@pytest.fixture(scope="module")
def index(localindex_build_cache: Path) -> Iterator[LocalIndex]:
    pkgs = [Pkg("alpha", "1.0", deps=["beta"]), Pkg("beta", "2.0")]
    with LocalIndex(pkgs, build_cache=localindex_build_cache, auth=("alice", SECRET)) as idx:
        yield idx


@pytest.fixture(autouse=True)
def fake_keyring(
    xv_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index: LocalIndex
) -> Iterator[Path]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "keyring"
    fake.write_text(FAKE.format(python=sys.executable, secret=SECRET))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KEYRING_LOG", str(tmp_path / "keyring.log"))
    monkeypatch.setenv("FAKE_KEYRING_SERVICE", index.url)
    # A forkserver started by an earlier test has that test's PATH: threads keep every
    # request in this process (test_process_pool_workers_do_not_ask_keyring_again runs
    # a process pool in a process of its own).
    monkeypatch.setenv("XV_POOL", "thread")
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    Path("requirements.in").write_text("alpha\n")
    keyring.forget()
    yield tmp_path / "keyring.log"
    keyring.forget()


def with_user(index: LocalIndex) -> str:
    return index.url.replace("http://", "http://alice@")


def compile_(*args: str) -> Result:
    return CliRunner().invoke(compile_cli.main, ["requirements.in", "-v", *args])


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_compile_asks_keyring_once_and_never_shows_the_password(
    index: LocalIndex, fake_keyring: Path, tmp_path: Path
) -> None:
    result = compile_("-i", with_user(index), "--keyring-provider", "subprocess")
    assert result.exit_code == 0, result.output
    assert "alpha==1.0" in result.output and "beta==2.0" in result.output
    assert calls(fake_keyring) == [f"get {index.url} alice"]  # once, not once per request
    assert "keyring: asking for" in result.output  # the -v log names service and user
    assert SECRET not in result.output
    cached = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert SECRET.encode() not in cached


@pytest.mark.parametrize("how", ["variable", "config"])
def test_the_setting_from_the_environment_and_the_config(
    index: LocalIndex, fake_keyring: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "variable":
        monkeypatch.setenv("XV_KEYRING_PROVIDER", "subprocess")
    else:
        Path("xv.toml").write_text('keyring-provider = "subprocess"\n')
    assert compile_("-i", with_user(index)).exit_code == 0
    assert calls(fake_keyring) == [f"get {index.url} alice"]


def test_disabled_by_default_and_only_with_a_user_in_the_url(
    index: LocalIndex, fake_keyring: Path
) -> None:
    refused = compile_("-i", with_user(index))
    assert refused.exit_code != 0 and "401" in refused.output
    no_user = compile_("-i", index.url, "--keyring-provider", "subprocess")
    assert no_user.exit_code != 0 and "401" in no_user.output
    assert calls(fake_keyring) == []  # as uv: the user must be in the URL
    unknown = compile_("-i", with_user(index).replace("alice", "bob"), "--keyring-provider", "subprocess")  # fmt: skip
    assert unknown.exit_code != 0 and SECRET not in unknown.output
    host = index.url.split("//")[1].split(":")[0]
    assert calls(fake_keyring) == [f"get {index.url} bob", f"get {host} bob"]  # as pip and uv
    bad = compile_("-i", with_user(index), "--keyring-provider", "maybe")
    assert bad.exit_code == 2


def test_sync_installs_with_the_keyring_password(index: LocalIndex, tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    Path("requirements.txt").write_text("alpha==1.0\nbeta==2.0\n")
    args = ["requirements.txt", "-p", str(venv), "-i", with_user(index), "-v"]
    result = CliRunner().invoke(sync_cli.main, [*args, "--keyring-provider", "subprocess"])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert run_py(venv, "import alpha, beta; print('ok')") == "ok"


def test_no_keyring_command_is_one_warning(
    index: LocalIndex, fake_keyring: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bin" / "keyring").unlink()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    result = compile_("-i", with_user(index), "--keyring-provider", "subprocess")
    assert result.exit_code != 0 and "401" in result.output
    assert result.output.count("no `keyring` command on PATH") == 1


def test_process_pool_workers_do_not_ask_keyring_again(
    index: LocalIndex, fake_keyring: Path, tmp_path: Path
) -> None:
    # A process of its own, so its pool's workers start from this test's PATH: what the
    # parent learnt goes to them in memory with each job; none runs `keyring` itself.
    env = {**os.environ, "XV_POOL": "process", "XV_WORKERS": "2"}
    compile_ = "from xv.cli.compile import main; main()"
    args = ["requirements.in", "-i", with_user(index), "--keyring-provider", "subprocess"]
    done = subprocess.run(
        [sys.executable, "-c", compile_, *args, "--no-cache"],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "alpha==1.0" in done.stdout and "beta==2.0" in done.stdout
    assert calls(fake_keyring) == [f"get {index.url} alice"]
    assert SECRET not in done.stdout + done.stderr


def test_check_keeps_its_record_when_the_url_password_changes(
    index: LocalIndex, tmp_path: Path
) -> None:
    def url(password: str) -> str:
        return index.url.replace("http://", f"http://alice:{password}@")

    made = compile_("-i", url(SECRET), "-o", "requirements.txt")
    assert made.exit_code == 0, made.output
    rotated = compile_("-i", url("rotated-pw"), "-o", "requirements.txt", "--check")
    assert rotated.exit_code == 0, rotated.output
    records = [p for p in (tmp_path / "cache" / "check-v1").rglob("*") if p.is_file()]
    assert len(records) == 1  # the first run's, answering the second
    for path in (tmp_path / "cache").rglob("*"):
        assert SECRET not in str(path) and "rotated-pw" not in str(path)
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes()
            assert b"rotated-pw" not in path.read_bytes()
