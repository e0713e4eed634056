"""Installing wheels into a real virtual environment, uninstalling, upgrading."""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import io
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.localindex import Pkg, build_wheel
from xv.env import InstalledDist, Interpreter, installed_distributions, query_interpreter
from xv.errors import InstallError
from xv.install import (
    compile_bytecode,
    install_from_archive,
    owned_files,
    uninstall,
    unpack_wheel_to_archive,
    upgrade,
)
from xv.install import remove as remove_module
from xv.install.record import parse_record, record_hash
from xv.install.scripts import EntryPoint, launcher, parse_entry_points, rewrite_python_shebang

TOOL = "#!python\nimport sys\nprint('tool says', sys.executable)\n"


def demo_pkg(version: str = "1.0", **files: str) -> Pkg:
    return Pkg(
        "demo",
        version,
        console_scripts={"demo-cli": "demo:main"},
        data_files={"share/demo/readme.txt": b"read me\n"},
        files={
            "demo/sub/__init__.py": "",
            "demo/sub/mod.py": f"VALUE = {version!r}\n",
            f"demo-{version}.data/scripts/demo-tool": TOOL,
            **{k.replace("__", "/") + ".py": v for k, v in files.items()},
        },
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("install")


@pytest.fixture(scope="module")
def wheels(workdir: Path) -> dict[str, Path]:
    out = workdir / "wheels"
    out.mkdir()
    return {
        "1.0": build_wheel(demo_pkg("1.0", demo__old_only="OLD = 1\n"), "py3-none-any", out),
        "2.0": build_wheel(demo_pkg("2.0", demo__new_only="NEW = 2\n"), "py3-none-any", out),
    }


@pytest.fixture(scope="module")
def archives(workdir: Path, wheels: dict[str, Path]) -> dict[str, Path]:
    root = workdir / "archives-v1"
    return {v: Path(unpack_wheel_to_archive(str(w), str(root))) for v, w in wheels.items()}


def make_venv(path: Path) -> Interpreter:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return query_interpreter(path / "bin" / "python")


@pytest.fixture
def venv(workdir: Path, request: pytest.FixtureRequest) -> Iterator[Interpreter]:
    """A fresh, empty environment per test (venv creation takes a fraction of a second)."""
    interp = make_venv(workdir / f"venv-{request.node.name}")
    yield interp


def run(interp: Interpreter, *args: str) -> str:
    proc = subprocess.run(
        [str(interp.executable), *args], capture_output=True, text=True, check=True
    )
    return proc.stdout


def site_files(interp: Interpreter) -> set[Path]:
    """Every file and directory a test install could have touched, minus the venv's own."""
    out = set()
    for root in (interp.paths["purelib"], interp.prefix / "share", interp.paths["scripts"]):
        if root.exists():
            out |= {
                p for p in root.rglob("*") if not p.name.lower().startswith(("python", "activate"))
            }
    return out


# --- archive ---------------------------------------------------------------------------


def test_unpack_is_keyed_by_sha256_and_idempotent(wheels: dict[str, Path], tmp_path: Path) -> None:
    first = unpack_wheel_to_archive(str(wheels["1.0"]), str(tmp_path))
    digest = hashlib.sha256(wheels["1.0"].read_bytes()).hexdigest()
    assert Path(first) == tmp_path / digest
    marker = Path(first) / "demo" / "__init__.py"
    inode = marker.stat().st_ino
    assert unpack_wheel_to_archive(str(wheels["1.0"]), str(tmp_path)) == first
    assert marker.stat().st_ino == inode  # not unpacked again
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", digest, f"{digest}.manifest"]


def test_concurrent_unpack_from_two_processes(wheels: dict[str, Path], tmp_path: Path) -> None:
    args = [(str(wheels["2.0"]), str(tmp_path))] * 4
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        results = list(pool.map(unpack_wheel_to_archive, *zip(*args, strict=True)))
    assert len(set(results)) == 1
    digest = Path(results[0]).name
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", digest, f"{digest}.manifest"]
    assert (Path(results[0]) / "demo" / "sub" / "mod.py").read_text() == "VALUE = '2.0'\n"


def zip_wheel(path: Path, members: dict[str, bytes], *, record: bool = True) -> Path:
    """A minimal wheel with exactly these members (RECORD generated unless told not to)."""
    members = {
        "evil-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
        "evil-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n",
        **members,
    }
    if record:
        rows = "".join(
            f"{n},{record_hash(hashlib.sha256(d).digest())},{len(d)}\n" for n, d in members.items()
        )
        members["evil-1.0.dist-info/RECORD"] = (rows + "evil-1.0.dist-info/RECORD,,\n").encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("umask_known", [True, False])
def test_unpacked_files_are_read_only_and_sealed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_known: bool
) -> None:
    """Files are created with their final mode (no chmod pass), executables keep their x
    bits, and the manifest (written while extracting) verifies fully; where the umask is
    unknown the mode is set explicitly."""
    from xv.install import archive

    if not umask_known:
        monkeypatch.setattr(archive, "_UMASK", 0o777)
    wheel = zip_wheel(
        tmp_path / "evil-1.0-py3-none-any.whl",
        {"evil/a/b/c.py": b"x = 1\n", "evil/run.sh": b"#!/bin/sh\n"},
    )
    with zipfile.ZipFile(wheel) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    with zipfile.ZipFile(wheel, "w") as zf:  # the same members, with Unix modes
        for name, data in entries.items():
            member = zipfile.ZipInfo(name)
            mode = 0o755 if name == "evil/run.sh" else 0o644
            member.external_attr = (stat.S_IFREG | mode) << 16
            zf.writestr(member, data)
    root = Path(unpack_wheel_to_archive(str(wheel), str(tmp_path / "archives")))
    assert stat.S_IMODE((root / "evil/a/b/c.py").stat().st_mode) == 0o444
    assert stat.S_IMODE((root / "evil/run.sh").stat().st_mode) == 0o555
    assert archive.verify_archive(root, full=True)


def test_archive_files_walks_as_os_walk_and_sees_links(tmp_path: Path) -> None:
    """archive_files lists what os.walk lists, in its order, and also a symbolic link to a
    directory (os.walk left it out)."""
    from xv.install.validate import archive_files

    wheel = zip_wheel(
        tmp_path / "evil-1.0-py3-none-any.whl",
        {"evil/a/b/c.py": b"x = 1\n", "evil/a/d.py": b"", "evil/z.py": b""},
    )
    root = Path(unpack_wheel_to_archive(str(wheel), str(tmp_path / "archives")))
    walked = [
        os.path.relpath(os.path.join(top, name), root).replace(os.sep, "/")
        for top, _, names in os.walk(root)
        for name in names
    ]
    assert list(archive_files(root)) == walked
    (root / "evil" / "a").chmod(0o755)
    (root / "evil" / "a" / "elsewhere").symlink_to(tmp_path)
    assert "evil/a/elsewhere" in set(archive_files(root))


def test_a_cached_tree_is_used_by_its_manifest_alone(tmp_path: Path) -> None:
    """A name planted beside a tree's files (a link out, a .pth) is never used: the layout
    is the manifest's. A listed file replaced by a link, even to a copy with the same size
    and mtime, fails the verification; so does one removed."""
    from xv.install import archive

    wheel = zip_wheel(
        tmp_path / "evil-1.0-py3-none-any.whl", {"evil/a/c.py": b"x = 1\n", "evil/z.py": b""}
    )
    root = Path(unpack_wheel_to_archive(str(wheel), str(tmp_path / "archives")))
    (root / "evil" / "a").chmod(0o755)
    (root / "evil" / "a" / "elsewhere").symlink_to(tmp_path)
    root.chmod(0o755)
    (root / "evil.pth").write_text("import os\n")
    assert archive.verify_archive(root)
    layout = archive.archive_layout(root)
    assert layout is not None
    assert "evil/a/elsewhere" not in layout.files and "evil.pth" not in layout.files
    assert "evil/a/c.py" in layout.files

    listed = root / "evil" / "a" / "c.py"
    copy = tmp_path / "copy.py"
    copy.write_bytes(listed.read_bytes())
    info = listed.stat()
    os.utime(copy, ns=(info.st_atime_ns, info.st_mtime_ns))
    listed.unlink()
    listed.symlink_to(copy)
    assert not archive.verify_archive(root)
    listed.unlink()
    assert not archive.verify_archive(root)


@pytest.mark.parametrize(
    "name",
    ["../evil.py", "/abs/evil.py", "evil/../../x.py", "evil\\..\\x.py", "C:/x.py", "./evil.py"],
)
def test_unpack_refuses_escaping_paths(tmp_path: Path, name: str) -> None:
    wheel = zip_wheel(tmp_path / "evil-1.0-py3-none-any.whl", {name: b"x = 1\n"})
    with pytest.raises(InstallError, match="path"):
        unpack_wheel_to_archive(str(wheel), str(tmp_path / "archives"))
    assert [p.name for p in (tmp_path / "archives").iterdir()] == [".locks"]
    assert not (tmp_path / "evil.py").exists() and not Path("/abs/evil.py").exists()


def test_unpack_refuses_symlink_members(tmp_path: Path) -> None:
    wheel = zip_wheel(tmp_path / "evil-1.0-py3-none-any.whl", {"evil/__init__.py": b""})
    with zipfile.ZipFile(wheel, "a") as zf:
        info = zipfile.ZipInfo("evil/link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(InstallError, match="symbolic link"):
        unpack_wheel_to_archive(str(wheel), str(tmp_path / "archives"))


def test_unpack_checks_record(tmp_path: Path) -> None:
    good = {"evil/__init__.py": b"x = 1\n"}
    wheel = zip_wheel(tmp_path / "evil-1.0-py3-none-any.whl", good)
    with zipfile.ZipFile(wheel, "a") as zf:  # an extra file RECORD does not list
        zf.writestr("evil/extra.py", b"")
    with pytest.raises(InstallError, match="not listed in RECORD"):
        unpack_wheel_to_archive(str(wheel), str(tmp_path / "a"))

    tampered = tmp_path / "t" / "evil-1.0-py3-none-any.whl"
    tampered.parent.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(buffer, "w") as dst:
        for item in src.infolist():
            if item.filename != "evil/extra.py":
                data = src.read(item)
                dst.writestr(item, b"x = 2\n" if item.filename == "evil/__init__.py" else data)
    tampered.write_bytes(buffer.getvalue())
    with pytest.raises(InstallError, match="RECORD hash"):
        unpack_wheel_to_archive(str(tampered), str(tmp_path / "a"))
    assert [p.name for p in (tmp_path / "a").iterdir()] == [".locks"]


# --- install ---------------------------------------------------------------------------


def test_install_imports_runs_scripts_and_records(
    venv: Interpreter, archives: dict[str, Path]
) -> None:
    direct_url = {"url": "file:///wheels/demo-1.0-py3-none-any.whl", "archive_info": {}}
    result = install_from_archive(archives["1.0"], venv, direct_url=direct_url)
    site = venv.paths["purelib"]
    assert result.dist_info == site / "demo-1.0.dist-info"

    assert run(venv, "-c", "import demo.sub.mod as m; print(m.VALUE)") == "1.0\n"
    cli = venv.paths["scripts"] / "demo-cli"
    assert subprocess.run([cli], capture_output=True, text=True, check=True).stdout == "demo 1.0\n"
    assert cli.read_text().startswith(f"#!{venv.executable}\n")
    tool = venv.paths["scripts"] / "demo-tool"
    out = subprocess.run([tool], capture_output=True, text=True, check=True).stdout
    assert out == f"tool says {venv.executable}\n"
    assert (archives["1.0"] / "demo-1.0.data/scripts/demo-tool").read_text() == TOOL
    assert (venv.prefix / "share/demo/readme.txt").read_bytes() == b"read me\n"

    # Module files are hardlinks to the archive; scripts are new files.
    init = site / "demo" / "__init__.py"
    assert init.stat().st_ino == (archives["1.0"] / "demo" / "__init__.py").stat().st_ino

    dist_info = result.dist_info
    assert (dist_info / "INSTALLER").read_text() == "xv\n"
    assert (dist_info / "direct_url.json").read_text() == (
        '{"archive_info":{},"url":"file:///wheels/demo-1.0-py3-none-any.whl"}'
    )
    check_record(venv, dist_info)

    found = installed_distributions(venv)["demo"]
    assert (found.version, found.installer, found.dist_info_path) == ("1.0", "xv", dist_info)
    assert found.direct_url == direct_url and not found.editable


def check_record(interp: Interpreter, dist_info: Path) -> None:
    """RECORD lists every file the install wrote, and each hash and size is right."""
    entries = parse_record((dist_info / "RECORD").read_text())
    listed = {Path(os.path.normpath(dist_info.parent / e.path)) for e in entries}
    written = {p for p in site_files(interp) if p.is_file() and "__pycache__" not in p.parts}
    assert written == listed
    for entry in entries:
        path = dist_info.parent / entry.path
        if entry.path.endswith("/RECORD"):
            assert entry.hash is None
            continue
        data = path.read_bytes()
        assert entry.hash == record_hash(hashlib.sha256(data).digest()), entry.path
        assert entry.size == len(data)
    assert "../../../bin/demo-cli" in {e.path for e in entries}


def test_copy_mode_does_not_link(venv: Interpreter, archives: dict[str, Path]) -> None:
    install_from_archive(archives["1.0"], venv, link_mode="copy")
    init = venv.paths["purelib"] / "demo" / "__init__.py"
    assert init.stat().st_ino != (archives["1.0"] / "demo" / "__init__.py").stat().st_ino
    assert init.read_bytes() == (archives["1.0"] / "demo" / "__init__.py").read_bytes()


def test_uninstall_removes_everything(venv: Interpreter, archives: dict[str, Path]) -> None:
    before = site_files(venv)
    install_from_archive(archives["1.0"], venv)
    failed = compile_bytecode(owned_files(installed_distributions(venv)["demo"]), venv)
    assert failed == []
    pycache = venv.paths["purelib"] / "demo" / "sub" / "__pycache__"
    assert {p.name.split(".")[0] for p in pycache.iterdir()} == {"__init__", "mod"}
    removed = uninstall(installed_distributions(venv)["demo"], venv)
    assert venv.paths["scripts"] / "demo-cli" in removed
    assert site_files(venv) == before
    assert not (venv.prefix / "share").exists()
    assert venv.paths["purelib"].is_dir() and venv.paths["scripts"].is_dir()
    assert installed_distributions(venv) == {}


def test_upgrade_replaces_then_removes_leftovers(
    venv: Interpreter, archives: dict[str, Path]
) -> None:
    install_from_archive(archives["1.0"], venv)
    archive_init = (archives["1.0"] / "demo" / "sub" / "mod.py").read_bytes()
    new, removed = upgrade(installed_distributions(venv)["demo"], archives["2.0"], venv)
    site = venv.paths["purelib"]
    assert site / "demo" / "old_only.py" in removed
    assert not (site / "demo" / "old_only.py").exists()
    assert not (site / "demo-1.0.dist-info").exists()
    assert run(venv, "-c", "import demo.new_only, demo.sub.mod as m; print(m.VALUE)") == "2.0\n"
    assert (archives["1.0"] / "demo" / "sub" / "mod.py").read_bytes() == archive_init
    assert list(installed_distributions(venv)) == ["demo"]
    check_record(venv, new.dist_info)


def test_interrupted_upgrade_still_imports_and_heals(
    venv: Interpreter, archives: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    install_from_archive(archives["1.0"], venv)

    def interrupted(*args: object, **kwargs: object) -> list[Path]:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(remove_module, "remove_files", interrupted)
        with pytest.raises(KeyboardInterrupt):
            upgrade(installed_distributions(venv)["demo"], archives["2.0"], venv)
    # The new version is complete and importable; the old metadata lingers as a duplicate.
    assert run(venv, "-c", "import demo, demo.old_only; print(demo.__version__)") == "2.0\n"
    dist = installed_distributions(venv)["demo"]
    assert dist.version == "2.0"
    assert [d.version for d in dist.duplicates] == ["1.0"]
    # The next sync reinstalls over both and removes what only 1.0 had.
    new, _ = upgrade(dist, archives["2.0"], venv)
    assert not (venv.paths["purelib"] / "demo" / "old_only.py").exists()
    assert not (venv.paths["purelib"] / "demo-1.0.dist-info").exists()
    assert installed_distributions(venv)["demo"].duplicates == ()
    check_record(venv, new.dist_info)


def test_uninstall_leaves_paths_outside_the_environment_and_warns_once(
    venv: Interpreter, archives: dict[str, Path], tmp_path: Path
) -> None:
    install_from_archive(archives["1.0"], venv)
    dist = installed_distributions(venv)["demo"]
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    record = dist.dist_info_path / "RECORD"
    rel = os.path.relpath(victim, dist.dist_info_path.parent)
    record.write_text(record.read_text() + f"{rel},,\n")
    warnings: list[str] = []
    uninstall(dist, venv, warn=warnings.append)
    assert victim.read_text() == "keep me"
    assert len(warnings) == 1 and "outside the environment" in warnings[0]
    assert not (venv.paths["purelib"] / "demo").exists()  # the rest went
    assert "demo" not in installed_distributions(venv)


def test_uninstall_legacy_egg_info(venv: Interpreter) -> None:
    site = venv.paths["purelib"]
    (site / "old").mkdir()
    (site / "old" / "__init__.py").write_text("")
    egg = site / "old-0.1-py3.11.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: old\nVersion: 0.1\n")
    (egg / "installed-files.txt").write_text("../old/__init__.py\nPKG-INFO\ninstalled-files.txt\n")
    dist = installed_distributions(venv)["old"]
    assert dist.is_egg_info and dist.version == "0.1"
    uninstall(dist, venv)
    assert not (site / "old").exists() and not egg.exists()


def test_platlib_wheel_and_headers(venv: Interpreter, tmp_path: Path) -> None:
    pkg = Pkg("native", "1.0", files={"native-1.0.data/headers/native.h": "int x;\n"})
    wheel = build_wheel(pkg, "cp311-cp311-linux_x86_64", tmp_path)
    archive = unpack_wheel_to_archive(str(wheel), str(tmp_path / "archives"))
    result = install_from_archive(archive, venv)
    assert result.dist_info.parent == venv.paths["platlib"]
    assert (venv.paths["headers"] / "native" / "native.h").read_text() == "int x;\n"
    uninstall(installed_distributions(venv)["native"], venv)
    assert not (venv.paths["headers"] / "native").exists()


# --- scripts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"#!python\nprint(1)\n", b"#!/env/bin/python\nprint(1)\n"),
        (b"#!pythonw\r\nx\n", b"#!/env/bin/python\nx\n"),
        (b"#!python -u\nx\n", b"#!/env/bin/python -u\nx\n"),
        (b"#!/usr/bin/env python\nx\n", None),
        (b"#!python3\nx\n", None),
        (b"echo hi\n", None),
    ],
)
def test_rewrite_python_shebang(content: bytes, expected: bytes | None) -> None:
    assert rewrite_python_shebang(content, "/env/bin/python") == expected


def test_launcher_for_long_or_spaced_paths_uses_sh(tmp_path: Path) -> None:
    entry = EntryPoint("hello", "os.path", "join", gui=False)
    script = launcher(entry, "/with space/bin/python")
    assert script.startswith(b'#!/bin/sh\n\'\'\'exec\' "/with space/bin/python" "$0" "$@"\n')
    path = tmp_path / "s"
    path.write_bytes(launcher(EntryPoint("s", "sys", "exit"), sys.executable))
    path.chmod(0o755)
    assert subprocess.run([path]).returncode == 0


def test_parse_entry_points() -> None:
    text = "[console_scripts]\nCli = pkg.mod:main.run [extra]\n[gui_scripts]\ng=pkg:gui\n[other]\nx=y:z\n"
    assert parse_entry_points(text) == [
        EntryPoint("Cli", "pkg.mod", "main.run"),
        EntryPoint("g", "pkg", "gui", gui=True),
    ]
    with pytest.raises(InstallError):
        parse_entry_points("[console_scripts]\nbad = pkg.mod\n")
    with pytest.raises(InstallError):
        parse_entry_points("[console_scripts]\n../x = pkg:main\n")


def test_installed_dist_from_other_installer_is_read(venv: Interpreter) -> None:
    meta = venv.paths["purelib"] / "other-2.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: Other_Pkg\nVersion: 2.0\n\nName: body\n"
    )
    (meta / "INSTALLER").write_text("pip\n")
    (meta / "direct_url.json").write_text('{"url": "file:///src", "dir_info": {"editable": true}}')
    dist = installed_distributions(venv)["other-pkg"]
    # No RECORD: an interrupted install, which a sync reinstalls.
    assert dist == InstalledDist(
        "Other_Pkg", "2.0", meta, "pip", None, editable=True, complete=False
    )
    assert dist.url == "file:///src"


def test_record_hash_format() -> None:
    digest = hashlib.sha256(b"abc").digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert record_hash(digest) == f"sha256={expected}"


def test_unpack_runs_on_the_worker_pool(wheels: dict[str, Path], tmp_path: Path) -> None:
    from xv.pool import WorkerPool

    bad = tmp_path / "bad-1.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    jobs = [(str(wheels["1.0"]), str(tmp_path)), (str(bad), str(tmp_path))]
    with WorkerPool(2, kind="process") as pool:
        good, broken = pool.map(unpack_wheel_to_archive, jobs)
    assert good.ok and Path(good.value).is_dir()
    assert not broken.ok and isinstance(broken.exception, InstallError)
    assert "cannot unpack" in (broken.error or "")


def test_hardlink_failure_falls_back_to_copy(
    venv: Interpreter, archives: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    install_from_archive(archives["1.0"], venv)
    init = venv.paths["purelib"] / "demo" / "__init__.py"
    assert init.stat().st_ino != (archives["1.0"] / "demo" / "__init__.py").stat().st_ino
    assert run(venv, "-c", "import demo; print(demo.__version__)") == "1.0\n"


def test_install_into_python38(archives: dict[str, Path], workdir: Path) -> None:
    candidates = sorted(Path(os.path.expanduser("~/.pyenv")).glob("versions/3.8.*/bin/python3.8"))
    if not candidates:
        pytest.skip("Python 3.8 is not installed through pyenv")
    path = workdir / "venv38"
    subprocess.run([candidates[0], "-m", "venv", "--without-pip", str(path)], check=True)
    interp = query_interpreter(path / "bin" / "python")
    assert interp.paths["purelib"] == path / "lib" / "python3.8" / "site-packages"
    install_from_archive(archives["2.0"], interp)
    out = subprocess.run([interp.paths["scripts"] / "demo-cli"], capture_output=True, text=True)
    assert out.stdout == "demo 2.0\n"
    assert compile_bytecode(owned_files(installed_distributions(interp)["demo"]), interp) == []
    assert list((interp.paths["purelib"] / "demo" / "__pycache__").glob("*.cpython-38.pyc"))


def test_filesystem_conflicts_become_install_errors(
    venv: Interpreter, archives: dict[str, Path]
) -> None:
    (venv.paths["purelib"] / "demo" / "__init__.py").mkdir(parents=True)  # a dir where a file goes
    with pytest.raises(InstallError, match="Failed to install demo"):
        install_from_archive(archives["1.0"], venv)
    assert "demo" not in installed_distributions(venv)  # no metadata for a partial install


def test_unpack_refuses_metadata_of_another_project(tmp_path: Path) -> None:
    wheel = zip_wheel(tmp_path / "other-1.0-py3-none-any.whl", {"evil/__init__.py": b""})
    with pytest.raises(InstallError, match="not other's metadata"):
        unpack_wheel_to_archive(str(wheel), str(tmp_path / "archives"))
    renamed = wheel.rename(tmp_path / "download.tmp")  # no wheel name: nothing to compare
    assert Path(unpack_wheel_to_archive(str(renamed), str(tmp_path / "archives"))).is_dir()


def test_package_init_files_are_placed_after_the_modules(archives: dict[str, Path]) -> None:
    from xv.install.place import ArchiveWheel

    files = list(ArchiveWheel(archives["2.0"]).files())
    inits = [i for i, f in enumerate(files) if f.endswith("/__init__.py")]
    modules = [i for i, f in enumerate(files) if f.endswith(".py") and i not in inits]
    assert modules and inits and max(modules) < min(inits)
    assert files[-1].startswith("demo-2.0.dist-info/")


def test_a_new_name_is_linked_directly_an_existing_one_replaced(
    venv: Interpreter, archives: dict[str, Path]
) -> None:
    install_from_archive(archives["1.0"], venv)
    mod = venv.paths["purelib"] / "demo" / "sub" / "mod.py"
    old_source = archives["1.0"] / "demo" / "sub" / "mod.py"
    assert mod.stat().st_ino == old_source.stat().st_ino
    install_from_archive(archives["2.0"], venv)  # the same names, new contents
    assert mod.stat().st_ino == (archives["2.0"] / "demo" / "sub" / "mod.py").stat().st_ino
    assert old_source.read_text() == "VALUE = '1.0'\n"  # the cache was not written through
    assert not list(mod.parent.glob("*.xv-tmp"))


def test_destination_writes_into_a_plain_scheme_mapping(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    """The destination knows only scheme directories and the interpreter's name, as pypa's
    ``SchemeDictionaryDestination``: no interpreter is asked."""
    from xv.install.place import ArchiveWheel, Destination, _place

    scheme = {name: tmp_path / name for name in ("purelib", "platlib", "headers", "scripts")}
    scheme["data"] = tmp_path
    dest = Destination(scheme, "/opt/py/bin/python3", "copy", "purelib")
    wheel = ArchiveWheel(archives["1.0"])
    entries = {entry.path: entry for entry in (_place(wheel, dest, rel) for rel in wheel.files())}
    assert (tmp_path / "purelib" / "demo" / "sub" / "mod.py").read_text() == "VALUE = '1.0'\n"
    assert "demo/sub/mod.py" in entries  # RECORD paths are relative to the root scheme
    tool = tmp_path / "scripts" / "demo-tool"
    assert tool.read_text().startswith("#!/opt/py/bin/python3\n")
    assert (tmp_path / "share" / "demo" / "readme.txt").read_bytes() == b"read me\n"
    with pytest.raises(ValueError):
        Destination(scheme, "python", "copy", "headers")


@pytest.mark.parametrize("mode", ["write", "copy", "symlink"])
def test_a_failed_replace_leaves_no_temporary(tmp_path: Path, mode: str) -> None:
    # The temporary beside the target is removed when the write fails (a directory stands
    # where the file goes); after a successful replace there is none left to remove.
    from xv.install.place import Destination

    scheme = {name: tmp_path / name for name in ("purelib", "platlib", "headers", "scripts")}
    scheme["data"] = tmp_path
    link_mode = "symlink" if mode == "symlink" else "copy"
    dest = Destination(scheme, "/opt/py/bin/python3", link_mode, "purelib")
    source = tmp_path / "source.py"
    source.write_text("x = 1\n")
    (tmp_path / "purelib" / "pkg" / "mod.py").mkdir(parents=True)
    with pytest.raises(OSError):
        if mode == "write":
            dest.write(tmp_path / "purelib" / "pkg" / "mod.py", b"x = 1\n")
        else:
            dest.link(source, tmp_path / "purelib" / "pkg" / "mod.py", None)
    assert sorted(p.name for p in (tmp_path / "purelib" / "pkg").iterdir()) == ["mod.py"]
    dest.write(tmp_path / "purelib" / "pkg" / "other.py", b"y = 2\n")
    assert sorted(p.name for p in (tmp_path / "purelib" / "pkg").iterdir()) == [
        "mod.py",
        "other.py",
    ]


def test_a_manifest_replaced_or_garbled_is_read_again(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    # Manifests are decoded once per process while their file stays the same one: one
    # replaced (as Bucket.put does) is read anew, one garbled (new bytes, new mtime) too.
    from xv.cache import Bucket
    from xv.install.archive import (
        archive_layout,
        archive_wheel_name,
        manifest_key,
        verify_archive,
    )

    tree = Path(unpack_wheel_to_archive(str(wheels["1.0"]), str(tmp_path / "archives-v1")))
    assert archive_wheel_name(tree) == ("demo-1.0-py3-none-any.whl", None)
    assert verify_archive(tree) and archive_layout(tree) is not None
    bucket, key = Bucket(tree.parent), manifest_key(tree.name)
    manifest = bucket.get(key)
    assert isinstance(manifest, dict)
    bucket.put(key, {**manifest, "filename": "demo-1.0-py2-none-any.whl"})
    assert archive_wheel_name(tree) == ("demo-1.0-py2-none-any.whl", None)
    bucket.put(key, {**manifest, "wheel_sha256": "0" * 64})  # another wheel's manifest
    assert archive_wheel_name(tree) is None and not verify_archive(tree)
    bucket.put(key, manifest)
    assert verify_archive(tree)
    path = bucket.path(key)
    path.write_bytes(path.read_bytes()[:-1] + b"\0")  # in place: garbled
    assert archive_wheel_name(tree) is None and not verify_archive(tree)
    assert archive_layout(tree) is None


@pytest.mark.parametrize("still", [False, True])
def test_the_guard_finds_a_symlink_below_a_directory_it_resolved(
    tmp_path: Path, still: bool
) -> None:
    # The guard resolves a directory from its parent's real path with one lstat; a
    # symlink there must still be followed, at any depth, and its own target judged.
    from xv.install.validate import InsideGuard

    site, outside = tmp_path / "site", tmp_path / "outside"
    (site / "pkg" / "deep").mkdir(parents=True)
    (outside / "x").mkdir(parents=True)
    (site / "pkg" / "deep" / "link").symlink_to(outside)
    (site / "pkg" / "inside").symlink_to(site / "pkg" / "deep")  # stays inside: allowed
    guard = InsideGuard(still=still)
    guard.check(site, site / "pkg" / "deep" / "ok.py", "pkg")  # resolves site, pkg, deep
    guard.check(site, site / "pkg" / "inside" / "new" / "ok.py", "pkg")
    for target in ("link/a.py", "link/x/a.py", "link/new/dir/a.py"):
        with pytest.raises(InstallError, match="through a symlink"):
            guard.check(site, site / "pkg" / "deep" / target, "pkg")
