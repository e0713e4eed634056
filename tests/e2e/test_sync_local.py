"""xv-sync end to end: the real command against the local index and real virtualenvs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from packaging.utils import canonicalize_name

from tests.support.localindex import LocalIndex, Pkg
from xv.cli.sync import main
from xv.install.killpoint import ENV_KILL_AFTER

PIP = [sys.executable, "-m", "pip"]  # run against a venv with --python; the venvs have no pip
# The new __init__ needs a new module: an upgrade must place it first.
DEMO2_INIT = (
    'from demo.new_only import NEW\n__version__ = "2.0"\n\n\ndef main():\n    print("demo 2.0")\n'
)
PKGS = [
    Pkg("demo", "1.0", deps=["dep>=1"], console_scripts={"demo-cli": "demo:main"},
        files={"demo/old_only.py": "OLD = 1\n"}),
    Pkg("demo", "2.0", deps=["dep>=2"], console_scripts={"demo-cli": "demo:main"},
        files={"demo/new_only.py": "NEW = 2\n", "demo/__init__.py": DEMO2_INIT}),
    Pkg("dep", "1.0"),
    Pkg("dep", "2.0", files={f"dep/m{i}.py": f"X = {i}\n" for i in range(8)}),
    Pkg("extra", "1.0"),
    Pkg("native", "1.0", tags=("cp99-cp99-fakeos_9_x86",), sdist=False),
    Pkg("srconly", "1.0", wheel=False),
    # A header over several lines, one of them only spaces (as matplotlib's License).
    Pkg("aaa", "1.0", deps=["zzz"], summary="first line\n        \n         last line"),
    Pkg("zzz", "1.0"),
]  # fmt: skip
LOCK1 = "demo==1.0\ndep==1.0\nextra==1.0\n"
LOCK2 = "demo==2.0\ndep==2.0\n"


@pytest.fixture(scope="module")
def index(localindex_build_cache: Path) -> Iterator[LocalIndex]:
    with LocalIndex(PKGS, build_cache=localindex_build_cache) as idx:
        yield idx


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    return make_venv(tmp_path / "venv")


def make_venv(path: Path, python: str = sys.executable) -> Path:
    subprocess.run([python, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


@pytest.fixture(autouse=True)
def clean_env(clean_home: Path) -> None:
    pass  # threads: one test below runs the process pool


def lock(tmp_path: Path, text: str, name: str = "requirements.txt") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def sync(index: LocalIndex, venv: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "-p", str(venv), "-i", index.url])


def run_py(venv: Path, code: str) -> str:
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def pip_list(venv: Path) -> dict[str, str]:
    out = subprocess.run(
        [*PIP, "--python", str(venv / "bin" / "python"), "list", "--format=json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return {canonicalize_name(item["name"]): item["version"] for item in json.loads(out.stdout)}


def pip_check(venv: Path) -> list[str]:
    out = subprocess.run(
        [*PIP, "--python", str(venv / "bin" / "python"), "check"], capture_output=True, text=True
    )
    return [] if out.returncode == 0 else out.stdout.strip().splitlines()


def pins(text: str) -> dict[str, str]:
    return dict(line.split("==") for line in text.split())


def snapshot(root: Path) -> str:
    """A digest of every path, mode and file content under ``root``."""
    digest = hashlib.sha256()
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted([*dirs, *files]):
            path = Path(directory, name)
            info = path.lstat()
            digest.update(f"{path.relative_to(root)}\0{info.st_mode}\0".encode())
            if path.is_file() and not path.is_symlink():
                digest.update(path.read_bytes())
    return digest.hexdigest()


def changes(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line[:3] in (" + ", " - ", " ~ ")]


def test_install_upgrade_remove_downgrade_reinstall_and_noop(
    index: LocalIndex, venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XV_POOL", "process")  # the real pool once
    first = lock(tmp_path, LOCK1)
    result = sync(index, venv, first)
    assert result.exit_code == 0, result.output
    assert f"Using Python {sys.version.split()[0]} environment at: venv\n" in result.output
    assert "Resolved 3 packages" in result.output and "Installed 3 packages" in result.output
    assert changes(result) == [" + demo==1.0", " + dep==1.0", " + extra==1.0"]
    assert run_py(venv, "import demo, dep, extra, demo.old_only; print(demo.__version__)") == "1.0"
    script = subprocess.run([str(venv / "bin" / "demo-cli")], capture_output=True, text=True)
    assert script.stdout.strip() == "demo 1.0"
    assert pip_list(venv) == pins(LOCK1)
    assert next(venv.glob("lib/*/site-packages/dep/__init__.py")).stat().st_nlink > 1  # linked
    # Nothing to do: no request, no worker, and uv's word for it.
    index.clear_log()
    again = sync(index, venv, first)
    assert again.exit_code == 0 and "Audited 3 packages" in again.output
    assert index.requests == []
    # Upgrade two, remove the third.
    monkeypatch.setenv("XV_POOL", "thread")
    result = sync(index, venv, lock(tmp_path, LOCK2))
    assert result.exit_code == 0, result.output
    assert "Uninstalled 3 packages" in result.output and "Installed 2 packages" in result.output
    assert changes(result) == [
        " - demo==1.0", " + demo==2.0", " - dep==1.0", " + dep==2.0", " - extra==1.0",
    ]  # fmt: skip
    assert run_py(venv, "import demo.new_only, demo; print(demo.__version__)") == "2.0"
    assert not list(venv.glob("lib/*/site-packages/demo/old_only.py"))
    assert not list(venv.glob("lib/*/site-packages/extra*"))
    assert pip_list(venv) == pins(LOCK2) and pip_check(venv) == []
    # Reinstall one: same version, its files placed again.
    target = next(venv.glob("lib/*/site-packages/dep/__init__.py"))
    target.unlink()
    result = sync(index, venv, lock(tmp_path, LOCK2), "--reinstall-package", "dep")
    assert result.exit_code == 0, result.output
    assert changes(result) == [" ~ dep==2.0"]
    assert "Uninstalled 1 package" in result.output and "Installed 1 package" in result.output
    assert target.is_file()
    assert pip_list(venv) == pins(LOCK2)


def test_downgrade(index: LocalIndex, venv: Path, tmp_path: Path) -> None:
    assert sync(index, venv, lock(tmp_path, LOCK2)).exit_code == 0
    result = sync(index, venv, lock(tmp_path, "demo==1.0\ndep==1.0\n"), "--link-mode", "copy")
    assert result.exit_code == 0, result.output
    assert next(venv.glob("lib/*/site-packages/dep/__init__.py")).stat().st_nlink == 1
    assert changes(result) == [" - demo==2.0", " + demo==1.0", " - dep==2.0", " + dep==1.0"]
    assert not list(venv.glob("lib/*/site-packages/dep/m0.py"))
    assert pip_list(venv) == {"demo": "1.0", "dep": "1.0"} and pip_check(venv) == []


def test_dry_run_and_check_change_nothing(index: LocalIndex, venv: Path, tmp_path: Path) -> None:
    first, second = lock(tmp_path, LOCK1), lock(tmp_path, LOCK2, "second.txt")
    assert sync(index, venv, first).exit_code == 0
    before = snapshot(venv)
    dry = sync(index, venv, second, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would uninstall 3 packages" in dry.output and "Would install 2 packages" in dry.output
    assert " + demo==2.0" in changes(dry) and " - extra==1.0" in changes(dry)
    check = sync(index, venv, second, "--check")
    assert check.exit_code == 1 and changes(check) == changes(dry)
    assert snapshot(venv) == before
    assert sync(index, venv, first, "--check").exit_code == 0


@pytest.mark.parametrize("source", ["index", "find-links"])
def test_hash_mismatch_leaves_the_environment_unchanged(
    index: LocalIndex, venv: Path, tmp_path: Path, source: str
) -> None:
    assert sync(index, venv, lock(tmp_path, LOCK1)).exit_code == 0
    before = snapshot(venv)
    bad = lock(tmp_path, f"demo==2.0\ndep==2.0 --hash=sha256:{'0' * 64}\n", "bad.txt")
    where = ["--no-index", "-f", str(index.files_dir)] if source == "find-links" else []
    result = sync(index, venv, bad, *where)
    assert result.exit_code == 1
    assert "Hash mismatch for dep" in result.output and "Traceback" not in result.output
    assert snapshot(venv) == before


def test_download_failure_leaves_the_environment_unchanged(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    assert sync(index, venv, lock(tmp_path, LOCK1)).exit_code == 0
    before = snapshot(venv)
    index.inject_fault("503", times=50, match="dep-2.0")
    try:
        result = sync(index, venv, lock(tmp_path, LOCK2))
    finally:
        index.clear_faults()
    assert result.exit_code == 1
    assert "Failed to download dep" in result.output and "503" in result.output
    assert snapshot(venv) == before


KILLER = "from xv.cli.sync import main; main()"  # killed by xv.install.killpoint


@pytest.mark.parametrize("kill_after", [4, 12, 13])
def test_killed_during_installation_leaves_a_working_env_that_the_next_run_repairs(
    index: LocalIndex, venv: Path, tmp_path: Path, kill_after: int
) -> None:
    assert sync(index, venv, lock(tmp_path, LOCK1)).exit_code == 0
    assert pip_check(venv) == []
    second = lock(tmp_path, LOCK2, "second.txt")
    # SIGKILL at the kill_after+1-th change to the environment (a link, write, rename...).
    env = {**os.environ, ENV_KILL_AFTER: str(kill_after), "XV_POOL": "thread"}
    args = [second, "-p", str(venv), "-i", index.url]
    killed = subprocess.run([sys.executable, "-c", KILLER, *args], env=env, capture_output=True)
    assert killed.returncode == -9, killed.stderr
    assert pip_check(venv) == []  # nothing newly broken
    run_py(venv, "import demo, dep")
    result = sync(index, venv, second)
    assert result.exit_code == 0, result.output
    assert pip_list(venv) == pins(LOCK2) and pip_check(venv) == []
    assert run_py(venv, "import demo.new_only, dep.m7, demo; print(demo.__version__)") == "2.0"
    assert "Audited 2 packages" in sync(index, venv, second).output


def test_a_journal_write_cut_short_leaves_nothing_after_the_next_run(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    """Killed while writing the journal (before its rename): no journal, only its temporary
    file, which the next run removes."""
    first = lock(tmp_path, LOCK1)
    assert sync(index, venv, first).exit_code == 0
    stale = venv / ".xv-journal.0123456789ab.xv-tmp"
    stale.write_text('{"version": 1, "ste')
    assert "Audited 3 packages" in sync(index, venv, first).output
    assert not stale.exists()


def test_wheel_url_pin_records_its_origin(index: LocalIndex, venv: Path, tmp_path: Path) -> None:
    url = index.file_url("dep-1.0-py3-none-any.whl")
    first = lock(tmp_path, f"dep @ {url}\n")
    result = sync(index, venv, first)
    assert result.exit_code == 0, result.output
    assert changes(result) == [f" + dep==1.0 (from {url})"]
    recorded = json.loads(next(venv.glob("lib/*/site-packages/dep-1.0.dist-info/direct_url.json")).read_text())  # fmt: skip
    assert recorded["url"] == url and recorded["archive_info"]["hash"].startswith("sha256=")
    assert "Audited 1 package" in sync(index, venv, first).output


def test_errors_name_the_package_or_the_line(index: LocalIndex, venv: Path, tmp_path: Path) -> None:
    def fails(text: str, *args: str) -> Result:
        result = sync(index, venv, lock(tmp_path, text), *args)
        assert result.exit_code != 0 and "Traceback" not in result.output
        return result

    native = fails("native==1.0\n")
    assert native.exit_code == 1
    assert "native==1.0 has no wheel for this platform (cpython" in native.output
    assert (
        "needs a build, but building is disabled (--no-build)"
        in fails("srconly==1.0\n", "--no-build").output
    )
    assert "nothere==1.0 was not found" in fails("nothere==1.0\n").output
    unpinned = fails("dep>=1\n")
    assert unpinned.exit_code == 2 and "requirements.txt:1:" in unpinned.output
    other = lock(tmp_path, "dep==2.0\n", "other.txt")
    conflict = fails("dep==1.0\n", other)
    assert conflict.exit_code == 2 and "conflicting pins for dep" in conflict.output
    unhashed = fails("dep==1.0\n", "--require-hashes")
    assert unhashed.exit_code == 2 and "has no --hash" in unhashed.output
    # Markers are evaluated for the target; nothing was installed by any of the above.
    dry = sync(index, venv, lock(tmp_path, 'dep==1.0\nextra==1.0 ; python_version < "3"\n'), "--dry-run")  # fmt: skip
    assert changes(dry) == [" + dep==1.0"]
    assert pip_list(venv) == {}
    no_env = CliRunner().invoke(main, [lock(tmp_path, "dep==1.0\n"), "-i", index.url])
    assert no_env.exit_code == 2 and "python3 -m venv .venv" in no_env.output


PYENV_38 = Path.home() / ".pyenv" / "versions" / "3.8.18" / "bin" / "python"


@pytest.mark.skipif(not PYENV_38.exists(), reason="no pyenv Python 3.8")
def test_another_python_through_python_option(index: LocalIndex, tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv38", str(PYENV_38))
    result = sync(index, venv, lock(tmp_path, LOCK1), "--compile-bytecode")
    assert result.exit_code == 0, result.output
    code = "import sys, demo, importlib.metadata as m; print(sys.version_info[:2], demo.__version__, sorted(d.metadata['Name'] for d in m.distributions()))"  # fmt: skip
    assert run_py(venv, code) == "(3, 8) 1.0 ['demo', 'dep', 'extra']"
    assert list(venv.glob("lib/python3.8/site-packages/demo/__pycache__/__init__.cpython-38.pyc"))
    script = subprocess.run([str(venv / "bin" / "demo-cli")], capture_output=True, text=True)
    assert script.stdout.strip() == "demo 1.0"


def test_options_from_the_file_and_system_target(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    # The index comes from the file; --system takes the first python3 on PATH (here a venv's).
    text = f"--index-url {index.url}\ndep==1.0\n"
    args = [lock(tmp_path, text), "--system", "--dry-run"]
    result = CliRunner().invoke(main, args, env={"PATH": str(venv / "bin")})
    assert result.exit_code == 0, result.output
    assert changes(result) == [" + dep==1.0"]
    result = CliRunner().invoke(main, [lock(tmp_path, text), "-p", str(venv)])
    assert result.exit_code == 0 and pip_list(venv) == {"dep": "1.0"}


def test_dependencies_install_before_their_dependents(
    index: LocalIndex, venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xv.install.place import install_from_archive as original

    order: list[str] = []

    def recording(archive: str, *args: Any, **kwargs: Any) -> Any:
        record = original(archive, *args, **kwargs)
        order.append(record.name)
        return record

    monkeypatch.setattr("xv.sync.apply.install_from_archive", recording)
    result = sync(index, venv, lock(tmp_path, "aaa==1.0\nzzz==1.0\n"))
    assert result.exit_code == 0, result.output
    assert order == ["zzz", "aaa"]


def test_uninstall_and_install_report_their_own_durations(
    index: LocalIndex, venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xv.sync.apply
    from xv.install.remove import uninstall as real_uninstall

    assert sync(index, venv, lock(tmp_path, LOCK1)).exit_code == 0
    # A clock that jumps an hour whenever a package is removed: only "Uninstalled" sees it.
    skew = [0.0]
    real_clock = time.monotonic

    def slow_uninstall(*args: Any, **kwargs: Any) -> Any:
        skew[0] += 3600
        return real_uninstall(*args, **kwargs)

    monkeypatch.setattr(xv.sync.apply, "monotonic", lambda: real_clock() + skew[0], raising=False)
    monkeypatch.setattr(xv.sync.apply, "uninstall", slow_uninstall)
    result = sync(index, venv, lock(tmp_path, "demo==1.0\ndep==1.0\nzzz==1.0\n"))
    assert result.exit_code == 0, result.output
    assert changes(result) == [" - extra==1.0", " + zzz==1.0"]
    assert "Uninstalled 1 package in 3600." in result.output
    installed = next(line for line in result.output.splitlines() if line.startswith("Installed"))
    assert installed.endswith("ms") or "3600." not in installed, installed


def test_an_empty_lock_is_refused_unless_allowed(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    assert sync(index, venv, lock(tmp_path, LOCK1)).exit_code == 0
    before = snapshot(venv)
    hint = "(hint: use `--allow-empty-requirements` to clear the environment)"
    empty = lock(tmp_path, "# nothing pinned\n", "empty.txt")
    for args in ([empty], [empty, "--dry-run"], [empty, "--check"]):
        result = sync(index, venv, *args)
        assert result.exit_code == 0, result.output
        assert f"No requirements found {hint}" in result.output
        assert changes(result) == []
    assert (
        f"warning: Requirements file `{empty}` does not contain any dependencies" in result.output
    )
    elsewhere = lock(tmp_path, 'demo==1.0 ; sys_platform == "nowhere"\n', "elsewhere.txt")
    result = sync(index, venv, elsewhere)
    assert result.exit_code == 0 and changes(result) == []
    assert "No requirements apply to this environment" in result.output and hint in result.output
    assert "elsewhere.txt:1" in result.output
    assert snapshot(venv) == before
    cleared = sync(index, venv, empty, "--allow-empty-requirements")
    assert cleared.exit_code == 0, cleared.output
    assert changes(cleared) == [" - demo==1.0", " - dep==1.0", " - extra==1.0"]
    assert pip_list(venv) == {}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("dep==1.0\nsrconly==1.0\n", "needs a build"),
        ("dep==1.0\nnative==1.0\n", "native==1.0 has no wheel for this platform"),
        ("dep==1.0\nnothere==1.0\n", "nothere==1.0 was not found"),
        (f"dep==1.0 --hash=sha256:{'0' * 64}\n", "Hash mismatch for dep==1.0"),
    ],
)
def test_dry_run_fails_where_the_real_run_fails(
    index: LocalIndex, venv: Path, tmp_path: Path, text: str, words: str
) -> None:
    path = lock(tmp_path, text)
    index.clear_log()
    dry = sync(index, venv, path, "--dry-run", "--no-build")
    assert [r.path for r in index.requests if r.path.endswith(".whl")] == []  # nothing downloaded
    real = sync(index, venv, path, "--no-build")
    assert real.exit_code == 1 and words in real.output
    assert dry.exit_code == real.exit_code and words in dry.output, dry.output
    assert changes(dry) == [] and "Traceback" not in dry.output
    assert pip_list(venv) == {}


def test_every_package_of_the_lock_is_marked_requested(
    index: LocalIndex, venv: Path, tmp_path: Path
) -> None:
    # As uv pip sync does: every entry of the files is explicit, so each gets REQUESTED
    # (empty, in RECORD), dependencies included; upgrades too.
    empty_sha = "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"

    def requested() -> dict[str, bool]:
        found = {}
        for dist_info in venv.glob("lib/*/site-packages/*.dist-info"):
            marker = dist_info / "REQUESTED"
            record = (dist_info / "RECORD").read_text().splitlines()
            listed = f"{dist_info.name}/REQUESTED,{empty_sha},0" in record
            found[dist_info.name] = marker.is_file() and marker.stat().st_size == 0 and listed
        return found

    assert sync(index, venv, lock(tmp_path, LOCK1)).exit_code == 0
    assert requested() == {"demo-1.0.dist-info": True, "dep-1.0.dist-info": True, "extra-1.0.dist-info": True}  # fmt: skip
    assert sync(index, venv, lock(tmp_path, LOCK2)).exit_code == 0
    assert requested() == {"demo-2.0.dist-info": True, "dep-2.0.dist-info": True}
    assert pip_check(venv) == []


def copy_distribution(name: str, site: Path, seen: set[str]) -> None:
    """Copy an installed distribution of this interpreter, and what it requires, into ``site``."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    if canonicalize_name(name) in seen:
        return
    seen.add(canonicalize_name(name))
    dist = metadata.distribution(name)
    for file in dist.files or []:
        if not str(file).startswith(".."):  # scripts: not needed to run
            (site / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(str(dist.locate_file(file)), site / file)
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            copy_distribution(req.name, site, seen)


def test_syncing_the_environment_xv_runs_from_keeps_what_xv_needs(
    index: LocalIndex, tmp_path: Path
) -> None:
    venv = make_venv(tmp_path / "self")
    site = next(venv.glob("lib/*/site-packages"))
    kept: set[str] = set()
    copy_distribution("xv", site, kept)
    assert {"click", "msgpack", "requests", "urllib3", "idna"} <= kept
    cli = [str(venv / "bin" / "python"), "-c", "from xv.cli.sync import main; main()"]
    args = [lock(tmp_path, "dep==1.0\n"), "-p", str(venv), "-i", index.url]
    result = subprocess.run([*cli, *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert " + dep==1.0" in result.stderr and " - " not in result.stderr
    assert "xv needs to run" in result.stderr
    assert set(pip_list(venv)) == kept | {"dep"}
    again = subprocess.run([*cli, *args], capture_output=True, text=True)
    assert again.returncode == 0 and "Audited 1 package" in again.stderr, again.stderr
    # Another environment gets no such favour: the same packages there are removed.
    other = make_venv(tmp_path / "other")
    copy_distribution("xv", next(other.glob("lib/*/site-packages")), set())
    result = subprocess.run(
        [*cli, *args[:2], str(other), *args[3:]], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert set(pip_list(other)) == {"dep", "xv"}
