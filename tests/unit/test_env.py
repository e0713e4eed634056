"""Target discovery, interpreter facts (tags, markers, paths) and installed dists."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging import tags as ptags
from packaging.markers import default_environment

from xv.cache import Cache, CacheBucket
from xv.env import (
    InstalledDist,
    Interpreter,
    discover,
    find_target,
    installed_distributions,
    interpreter,
    query_interpreter,
)
from xv.env.installed import metadata_headers, read_metadata_headers
from xv.env.tags import manylinux_platforms, musllinux_platforms, supported_tags
from xv.errors import TargetEnvironmentError

PYENV_ROOT = Path(
    subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    if shutil.which("pyenv")
    else "/nonexistent"
)


def pyenv_python(version: str) -> Path:
    for candidate in sorted(PYENV_ROOT.glob(f"versions/{version}.*/bin/python{version}")):
        return candidate
    pytest.skip(f"Python {version} is not installed through pyenv")


@pytest.fixture(scope="module")
def venv_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("env") / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


# --- discovery -------------------------------------------------------------------------


def test_virtual_env_variable_wins(venv_dir: Path, tmp_path: Path) -> None:
    interp = find_target(None, False, False, tmp_path, {"VIRTUAL_ENV": str(venv_dir)})
    assert interp.is_venv and interp.prefix == venv_dir
    assert interp.executable == venv_dir / "bin" / "python"
    assert (
        interp.paths["purelib"]
        == venv_dir / "lib" / f"python{interp.python_version}" / "site-packages"
    )
    assert interp.paths["scripts"] == venv_dir / "bin"


def test_dot_venv_in_a_parent_directory(venv_dir: Path) -> None:
    nested = venv_dir.parent / "src" / "pkg"
    nested.mkdir(parents=True, exist_ok=True)
    assert find_target(None, False, False, nested, {}).prefix == venv_dir


def test_no_environment_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(TargetEnvironmentError, match=r"python3 -m venv \.venv") as info:
        find_target(None, False, False, tmp_path, {})
    assert info.value.exit_code == 2


def test_virtual_env_without_interpreter(tmp_path: Path) -> None:
    with pytest.raises(TargetEnvironmentError, match="VIRTUAL_ENV"):
        find_target(None, False, False, tmp_path, {"VIRTUAL_ENV": str(tmp_path / "gone")})


def test_python_option_accepts_a_directory_or_an_interpreter(
    venv_dir: Path, tmp_path: Path
) -> None:
    by_dir = find_target(str(venv_dir), False, False, tmp_path, {})
    by_exe = find_target(str(venv_dir / "bin" / "python"), False, False, tmp_path, {})
    assert by_dir.prefix == by_exe.prefix == venv_dir
    with pytest.raises(TargetEnvironmentError, match="No Python interpreter"):
        find_target(str(tmp_path), False, False, tmp_path, {})
    with pytest.raises(TargetEnvironmentError, match="No Python interpreter"):
        find_target("no-such-python-xyz", False, False, tmp_path, {"PATH": str(tmp_path)})


def test_system_finds_python_on_path(tmp_path: Path) -> None:
    python = pyenv_python("3.12")
    interp = find_target(None, True, False, tmp_path, {"PATH": str(python.parent)})
    assert not interp.is_venv
    assert interp.version[:2] == (3, 12)
    assert not interp.externally_managed


def fake_facts(tmp_path: Path, is_venv: bool) -> dict[str, Any]:
    stdlib = tmp_path / "stdlib"
    stdlib.mkdir(exist_ok=True)
    (stdlib / "EXTERNALLY-MANAGED").write_text("[externally-managed]\nError=use apt\n")
    paths = {
        k: str(tmp_path / k)
        for k in ("purelib", "platlib", "scripts", "data", "include", "headers")
    }
    return {
        "schema": 1, "executable": "/usr/bin/python3", "prefix": "/usr", "base_prefix": "/usr",
        "is_venv": is_venv, "version": [3, 11, 2], "implementation": "cpython",
        "markers": {"python_version": "3.11"}, "paths": {**paths, "stdlib": str(stdlib)},
        "platform": "linux-x86_64", "system": "Linux", "is_32bit": False, "glibc": [2, 36],
        "musl": None, "mac_version": None, "mac_arch": None, "config": {},
    }  # fmt: skip


def test_externally_managed_is_refused_unless_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    managed = Interpreter.from_facts(fake_facts(tmp_path, is_venv=False))
    assert managed.externally_managed
    assert not Interpreter.from_facts(fake_facts(tmp_path, is_venv=True)).externally_managed
    monkeypatch.setattr(discover, "query_interpreter", lambda path, cache=None: managed)
    monkeypatch.setattr(shutil, "which", lambda name, path=None: "/usr/bin/python3")
    with pytest.raises(TargetEnvironmentError, match="externally managed") as info:
        find_target(None, True, False, tmp_path, {"PATH": "/usr/bin"})
    assert "--break-system-packages" in str(info.value)
    assert find_target(None, True, True, tmp_path, {"PATH": "/usr/bin"}) is managed
    with pytest.raises(TargetEnvironmentError, match="externally managed"):
        find_target("/usr/bin/python3", False, False, tmp_path, {})


def test_old_python_is_refused(tmp_path: Path) -> None:
    python = pyenv_python("3.7")
    with pytest.raises(TargetEnvironmentError, match="3.8 and newer"):
        find_target(str(python), False, False, tmp_path, {})


# --- interpreter facts -----------------------------------------------------------------


def test_running_interpreter_matches_packaging(venv_dir: Path) -> None:
    interp = query_interpreter(venv_dir / "bin" / "python")
    assert interp.version == tuple(sys.version_info[:3])
    assert dict(interp.markers) == default_environment()
    if _packaging_orders_linux_first():
        assert list(interp.tags) == [str(t) for t in ptags.sys_tags()]
    else:
        assert set(interp.tags) == {str(t) for t in ptags.sys_tags()}


def _packaging_orders_linux_first() -> bool:
    platforms = list(ptags.platform_tags())
    return not platforms or not platforms[0].startswith(("manylinux", "musllinux"))


# Run inside the other interpreter with its standard library only, so the test does not depend
# on whether the test venv's packaging supports that Python: the PEP 508 reference code for
# the marker environment, and the facts packaging's sys_tags() reads to pick CPython ABIs.
_OWN_FACTS = """
import json, os, platform, sys, sysconfig
info = sys.implementation.version
impl_version = "{0.major}.{0.minor}.{0.micro}".format(info)
if info.releaselevel != "final":
    impl_version += info.releaselevel[0] + str(info.serial)
markers = {
    "implementation_name": sys.implementation.name,
    "implementation_version": impl_version,
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
flags = [bool(sysconfig.get_config_var(k)) for k in ("Py_DEBUG", "Py_GIL_DISABLED")]
print(json.dumps([list(sys.version_info[:3]), markers, flags]))
"""


def _expected_cpython_tags(version: tuple[int, int], debug: bool, free_threaded: bool) -> list[str]:
    """sys_tags() of a CPython ``version`` on this machine, from the test venv's packaging.

    Platform tags are this machine's (same glibc and architecture for every interpreter).
    """
    abi = f"cp{version[0]}{version[1]}{'t' if free_threaded else ''}{'d' if debug else ''}"
    platforms = list(ptags.platform_tags())
    found = [
        *ptags.cpython_tags(version, abis=[abi], platforms=platforms),
        *ptags.compatible_tags(version, f"cp{version[0]}{version[1]}", platforms),
    ]
    return [str(tag) for tag in found]


@pytest.mark.parametrize("version", ["3.8", "3.9", "3.10", "3.12", "3.13"])
def test_other_python_reports_its_own_tags_and_markers(version: str) -> None:
    python = pyenv_python(version)
    interp = query_interpreter(python)
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [python, "-I", "-c", _OWN_FACTS], capture_output=True, text=True, env=env, check=True
    )
    version_info, expected_markers, (debug, free_threaded) = json.loads(out.stdout)
    assert list(interp.version) == version_info
    assert dict(interp.markers) == expected_markers
    expected_tags = _expected_cpython_tags((version_info[0], version_info[1]), debug, free_threaded)
    if _packaging_orders_linux_first():
        assert list(interp.tags) == expected_tags
    else:
        assert set(interp.tags) == set(expected_tags)
    assert not interp.is_venv and interp.prefix == python.parent.parent


def test_python38_tags_and_markers() -> None:
    python = pyenv_python("3.8")
    interp = query_interpreter(python)
    code = "import sys, platform; print(list(sys.version_info[:3]), platform.python_version())"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("] ")[0] + "]" == str(list(interp.version))
    assert interp.markers["python_version"] == "3.8"
    assert interp.markers["python_full_version"] == out.split("] ")[1].strip()
    assert interp.tags[0].startswith("cp38-cp38-")
    for tag in (
        "cp38-abi3-manylinux_2_17_x86_64",
        "cp38-none-any",
        "py38-none-any",
        "py3-none-any",
    ):
        assert tag in interp.tags
    assert "cp39-cp39-manylinux_2_17_x86_64" not in interp.tags
    assert interp.tags.index("cp38-none-any") < interp.tags.index("py38-none-any")


def test_facts_are_cached_by_executable(
    venv_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    calls: list[Path] = []
    real = interpreter.run_probe

    def counting(executable: Path) -> dict[str, Any]:
        calls.append(executable)
        return real(executable)

    monkeypatch.setattr(interpreter, "run_probe", counting)
    first = query_interpreter(venv_dir / "bin" / "python", cache)
    second = query_interpreter(venv_dir / "bin" / "python", cache)
    assert first == second and len(calls) == 1
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [CacheBucket.INTERPRETER]
    bucket = cache.bucket(CacheBucket.INTERPRETER)
    folder = tmp_path / "cache" / CacheBucket.INTERPRETER
    entries = [p.name for p in folder.iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1
    for key in entries:
        bucket.put(key, {"schema": 0})
    query_interpreter(venv_dir / "bin" / "python", cache)  # stale schema: asked again
    assert len(calls) == 2


# --- tags from facts -------------------------------------------------------------------


def test_manylinux_platforms() -> None:
    assert list(manylinux_platforms((2, 18), ["aarch64"])) == [
        "manylinux_2_18_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64",
    ]  # fmt: skip
    x86 = list(manylinux_platforms((2, 17), ["x86_64"]))
    assert x86[:3] == ["manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_16_x86_64"]
    assert x86[-2:] == ["manylinux_2_5_x86_64", "manylinux1_x86_64"]
    assert "manylinux2010_x86_64" in x86


def test_musllinux_platforms() -> None:
    assert list(musllinux_platforms((1, 2), ["x86_64"])) == [
        "musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64",
    ]  # fmt: skip


def test_tags_for_other_platforms(tmp_path: Path) -> None:
    facts = fake_facts(tmp_path, is_venv=True)
    musl = {**facts, "glibc": None, "musl": [1, 2], "platform": "linux-aarch64"}
    found = supported_tags(musl)
    assert found[:2] == ["cp311-cp311-linux_aarch64", "cp311-cp311-musllinux_1_2_aarch64"]
    mac = {**facts, "system": "Darwin", "platform": "macosx-11.0-arm64", "mac_version": [14, 2],
           "mac_arch": "arm64"}  # fmt: skip
    found = supported_tags(mac)
    assert found[0] == "cp311-cp311-macosx_14_0_arm64"
    assert "cp311-abi3-macosx_11_0_universal2" in found
    win = {**facts, "system": "Windows", "platform": "win-amd64"}
    assert supported_tags(win)[0] == "cp311-cp311-win_amd64"
    threaded = {**facts, "version": [3, 13, 0], "config": {"Py_GIL_DISABLED": 1}}
    found = supported_tags(threaded)
    assert found[0] == "cp313-cp313t-linux_x86_64" and not any("abi3-" in t for t in found)
    pypy = {**facts, "implementation": "pypy", "version": [3, 10, 14],
            "config": {"EXT_SUFFIX": ".pypy310-pp73-x86_64-linux-gnu.so"}}  # fmt: skip
    found = supported_tags(pypy)
    assert found[0] == "pp310-pypy310_pp73-linux_x86_64" and "pp3-none-any" in found


# --- installed distributions -----------------------------------------------------------


def test_installed_distributions_reads_metadata(venv_dir: Path) -> None:
    interp = query_interpreter(venv_dir / "bin" / "python")
    site = interp.paths["purelib"]
    good = site / "Foo_Bar-1.0.dist-info"
    good.mkdir()
    (good / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: Foo.Bar\nVersion: 1.0\n\nVersion: 9\n"
    )
    (good / "INSTALLER").write_text("uv\n")
    (good / "RECORD").write_text("")
    broken = site / "broken-1.0.dist-info"
    broken.mkdir()
    (site / "legacy-0.5-py3.11.egg-info").write_text(
        "Metadata-Version: 1.0\nName: legacy\nVersion: 0.5\n"
    )
    found = installed_distributions(interp)
    assert sorted(found) == ["foo-bar", "legacy"]
    assert found["foo-bar"] == InstalledDist("Foo.Bar", "1.0", good, "uv")
    assert found["legacy"].is_egg_info and found["legacy"].installer is None
    assert found["legacy"].parsed_version is not None
    (good / "RECORD").unlink()  # what an interrupted install leaves
    assert not installed_distributions(interp)["foo-bar"].complete


# matplotlib's METADATA: a License spread over lines, one of them only spaces.
MULTILINE_LICENSE = (
    "Metadata-Version: 2.1\nLicense: License agreement for matplotlib\n"
    "         =========================================\n        \n"
    "         1. This LICENSE AGREEMENT is between...\nName: matplotlib\nVersion: 3.9.0\n"
    "Requires-Dist: numpy>=1.23\nRequires-Dist: pyparsing ; python_version >= '3'\n"
    "\nRequires-Dist: in-the-description\n"
)


def test_metadata_headers_follow_continuation_lines(tmp_path: Path) -> None:
    path = tmp_path / "METADATA"
    path.write_text(MULTILINE_LICENSE)
    headers = list(metadata_headers(path))
    assert [v for k, v in headers if k == "requires-dist"] == [
        "numpy>=1.23", "pyparsing ; python_version >= '3'",
    ]  # fmt: skip
    assert read_metadata_headers(path) == ("matplotlib", "3.9.0")
    license_text = dict(headers)["license"]
    assert license_text.startswith("License agreement") and "1. This LICENSE" in license_text
    path.write_bytes(b"Name: caf\xc3\xa9\r\nVersion: 1.0\r\n\r\nVersion: 2\r\n")
    assert read_metadata_headers(path) == ("caf\u00e9", "1.0")


def test_facts_survive_the_real_cache(venv_dir: Path, tmp_path: Path) -> None:
    from xv.cache import Cache

    cache = Cache(tmp_path / "cache")
    first = query_interpreter(venv_dir / "bin" / "python", cache)
    assert len(list((tmp_path / "cache" / "interpreter-v1").iterdir())) == 1
    assert query_interpreter(venv_dir / "bin" / "python", cache) == first
    assert query_interpreter(venv_dir / "bin" / "python", Cache(None)) == first


def test_python_option_accepts_a_version(tmp_path: Path) -> None:
    python = pyenv_python("3.12")
    interp = find_target("3.12", False, False, tmp_path, {"PATH": str(python.parent)})
    assert interp.version[:2] == (3, 12)


def test_xv_own_runtime_tree(venv_dir: Path) -> None:
    from xv.env.own import runs_from, runtime_tree

    tree = runtime_tree()
    assert {"xv", "click", "msgpack", "requests", "idna", "urllib3", "packaging"} <= tree
    assert "pytest" not in tree and "mypy" not in tree  # the test extra is not needed to run
    assert runs_from(query_interpreter(sys.executable))
    assert not runs_from(query_interpreter(venv_dir / "bin" / "python"))


# --- one probe for every virtual environment of a base interpreter -----------------------


def _counting_probe(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = interpreter.run_probe

    def counting(executable: Path) -> dict[str, Any]:
        calls.append(executable)
        return real(executable)

    monkeypatch.setattr(interpreter, "run_probe", counting)
    return calls


def _make_venv(path: Path, python: str | Path = sys.executable, *args: str) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([str(python), "-m", "venv", "--without-pip", *args, str(path)], check=True)
    return path / "bin" / "python"


def test_a_fresh_venv_of_a_known_base_is_not_probed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The facts of a venv elsewhere are the base's, placed in the new venv: exactly what
    probing it gives."""
    cache = Cache(tmp_path / "cache")
    first = _make_venv(tmp_path / "one")
    second = _make_venv(tmp_path / "deeper" / "two")
    calls = _counting_probe(monkeypatch)
    query_interpreter(first, cache)
    placed = query_interpreter(second, cache)
    assert calls == [first]
    probed = interpreter.run_probe(second)
    assert json.loads(json.dumps(placed.facts)) == interpreter.with_tags(probed)  # tags cached
    assert (
        placed == Interpreter.from_facts(probed) and placed.tags == query_interpreter(second).tags
    )
    assert placed.prefix == tmp_path / "deeper" / "two"
    assert placed.paths["purelib"].is_relative_to(tmp_path / "deeper" / "two")


@pytest.mark.parametrize("copies", [False, True])
def test_a_venv_made_again_by_another_python_is_probed_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, copies: bool
) -> None:
    """Same path, another Python (symlinked or copied executables): never the old facts."""
    other = pyenv_python("3.12" if sys.version_info[:2] != (3, 12) else "3.11")
    cache = Cache(tmp_path / "cache")
    args = ["--copies"] if copies else []
    python = _make_venv(tmp_path / "env", sys.executable, *args)
    assert query_interpreter(python, cache).version[:2] == sys.version_info[:2]
    python = _make_venv(tmp_path / "env", other, *args)
    calls = _counting_probe(monkeypatch)
    again = query_interpreter(python, cache)
    assert calls == [python]
    assert again.python_version == other.name.removeprefix("python")
    assert f"python{again.python_version}" in str(again.paths["purelib"])


@pytest.mark.parametrize(
    "forged",
    [
        {"paths": "purelib", "to": "/tmp/elsewhere/site-packages"},
        {"paths": "purelib", "to": "../../elsewhere/site-packages"},
        {"paths": "scripts", "to": "/usr/local/bin"},
        {"inside": ["prefix"]},
    ],
)
def test_a_forged_venv_entry_directs_no_install_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, forged: dict[str, Any]
) -> None:
    """A cached base entry rewritten (by whoever can write the cache) to put an install path
    outside the environment is not used: the environment is asked again."""
    cache = Cache(tmp_path / "cache")
    query_interpreter(_make_venv(tmp_path / "one"), cache)
    bucket = cache.bucket(CacheBucket.INTERPRETER)
    folder = tmp_path / "cache" / CacheBucket.INTERPRETER
    (key,) = [p.name for p in folder.iterdir() if not p.name.startswith(".")]
    entry = bucket.get(key)
    assert entry is not None and "venv" in entry
    venv = dict(entry["venv"])
    if "paths" in forged:
        venv["paths"] = {**venv["paths"], forged["paths"]: forged["to"]}
    else:
        venv["inside"] = forged["inside"]
    bucket.put(key, {**entry, "venv": venv})
    calls = _counting_probe(monkeypatch)
    second = _make_venv(tmp_path / "two")
    interp = query_interpreter(second, cache)
    assert calls == [second]
    assert all(
        interp.paths[name].is_relative_to(tmp_path / "two")
        for name in ("purelib", "platlib", "scripts", "data")
    )
