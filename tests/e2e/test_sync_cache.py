"""The cache is verified before use and heals: damaged archives are rebuilt from their
wheel, damaged wheels downloaded again, whatever the damage."""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_sync_local import clean_env, lock, make_venv, run_py, sync
from tests.support.imports import run_importing
from tests.support.localindex import LocalIndex, Pkg
from xv.cache import Bucket
from xv.install.archive import manifest_key
from xv.install.record import record_hash

__all__ = ["clean_env"]
PKG = Pkg("tool", "1.0", console_scripts={"tool-cli": "tool:main"},
          files={"tool/__init__.py": "VALUE = 'original'\ndef main():\n    print(VALUE)\n"})  # fmt: skip


@pytest.fixture(scope="module")
def index(localindex_build_cache: Path) -> Iterator[LocalIndex]:
    with LocalIndex([PKG], build_cache=localindex_build_cache) as idx:
        yield idx


def archive(tmp_path: Path) -> Path:
    return next(
        p
        for p in (tmp_path / "cache" / "archives-v1").iterdir()
        if p.is_dir() and not p.name.startswith(".")
    )


def tamper(path: Path, data: bytes, keep_stat: bool) -> None:
    """Overwrite a (read-only) cached file; with ``keep_stat`` its size and mtime stay."""
    info = path.stat()
    if keep_stat:
        data = data[: info.st_size].ljust(info.st_size, b" ")
    path.chmod(0o644)
    path.write_bytes(data)
    path.chmod(info.st_mode)
    if keep_stat:
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def installed_value(venv: Path) -> str:
    return run_py(venv, "import tool; print(tool.VALUE)")


def fresh_sync(index: LocalIndex, tmp_path: Path, name: str, *args: str) -> Path:
    venv = make_venv(tmp_path / name)
    result = sync(index, venv, lock(tmp_path, "tool==1.0\n"), *args)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return venv


def test_cached_files_are_read_only(index: LocalIndex, tmp_path: Path) -> None:
    fresh_sync(index, tmp_path, "v1")
    files = [p for p in archive(tmp_path).rglob("*") if p.is_file()]
    assert files and all(p.stat().st_mode & 0o222 == 0 for p in files)


def test_an_edited_archive_file_is_rebuilt(index: LocalIndex, tmp_path: Path) -> None:
    fresh_sync(index, tmp_path, "v1")
    tamper(archive(tmp_path) / "tool" / "__init__.py", b"VALUE = 'evil'\n", keep_stat=False)
    assert installed_value(fresh_sync(index, tmp_path, "v2")) == "original"  # size or mtime


@pytest.mark.parametrize("flag", ["--reinstall", "--refresh"])
def test_a_stealthy_edit_is_caught_by_a_full_check(
    index: LocalIndex, tmp_path: Path, flag: str
) -> None:
    fresh_sync(index, tmp_path, "v1")
    original = (archive(tmp_path) / "tool" / "__init__.py").read_bytes()
    evil = original.replace(b"original", b"evil!!!!")
    tamper(archive(tmp_path) / "tool" / "__init__.py", evil, keep_stat=True)
    venv = fresh_sync(index, tmp_path, "v2", flag)
    assert installed_value(venv) == "original"


@pytest.mark.parametrize("hashed", [False, True])
def test_an_edit_through_an_environments_hardlink_is_not_installed_again(
    index: LocalIndex, tmp_path: Path, hashed: bool
) -> None:
    # Installed files are hardlinks into the cache (uv's default): a write into one, in
    # place, writes the cached file too. The next environment must not get it: the
    # archive's size/mtime check before each use refuses the tree, which is rebuilt.
    make = hashed_sync if hashed else (lambda i, t, n: fresh_sync(i, t, n))
    first = make(index, tmp_path, "v1")
    (module,) = first.glob("lib/python*/site-packages/tool/__init__.py")
    cached = archive(tmp_path) / "tool" / "__init__.py"
    assert module.stat().st_ino == cached.stat().st_ino  # linked, not copied
    tamper(module, b"VALUE = 'evil'\n", keep_stat=False)
    assert cached.read_bytes() == b"VALUE = 'evil'\n"  # written through
    assert installed_value(make(index, tmp_path, "v2")) == "original"


def hashed_sync(index: LocalIndex, tmp_path: Path, name: str) -> Path:
    """A sync of ``tool`` from a lock that pins its wheel's sha256."""
    sha = index.sha256("tool-1.0-py3-none-any.whl")
    venv = make_venv(tmp_path / name)
    result = sync(index, venv, lock(tmp_path, f"tool==1.0 --hash=sha256:{sha}\n"))
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return venv


def test_a_hashed_lock_installs_no_edited_archive_file(index: LocalIndex, tmp_path: Path) -> None:
    hashed_sync(index, tmp_path, "v1")
    tamper(archive(tmp_path) / "tool" / "__init__.py", b"VALUE = 'evil'\n", keep_stat=False)
    assert installed_value(hashed_sync(index, tmp_path, "v2")) == "original"


def test_a_hashed_lock_installs_no_file_planted_in_the_archive(
    index: LocalIndex, tmp_path: Path
) -> None:
    hashed_sync(index, tmp_path, "v1")
    tree = archive(tmp_path)
    tree.chmod(0o755)
    (tree / "evil.pth").write_text("import os; os.environ['EVIL'] = '1'\n")
    venv = hashed_sync(index, tmp_path, "v2")
    assert not list(venv.glob("lib/python*/site-packages/evil.pth"))
    assert installed_value(venv) == "original"


@pytest.mark.parametrize("damage", ["no manifest", "another wheel's manifest"])
def test_a_hashed_lock_installs_no_tree_without_its_own_manifest(
    index: LocalIndex, tmp_path: Path, damage: str
) -> None:
    """The manifest is written only after the tree was unpacked and checked against RECORD
    (an unpack cut short leaves none), and names the sha256 of the wheel the tree came from:
    a manifest that describes the tree exactly but was made for another wheel is refused."""
    hashed_sync(index, tmp_path, "v1")
    tree = archive(tmp_path)
    target = tree / "tool" / "__init__.py"
    tamper(target, b"VALUE = 'evil'\n", keep_stat=False)
    manifests = Bucket(tree.parent)
    key = manifest_key(tree.name)
    if damage == "no manifest":
        manifests.delete(key)
    else:
        doc = manifests.get(key)
        assert doc is not None
        info = target.stat()
        rows = [
            (rel, info.st_size, info.st_mtime_ns, record_hash(hashlib.sha256(target.read_bytes()).digest()))
            if rel == "tool/__init__.py" else (rel, size, mtime, digest)
            for rel, size, mtime, digest in doc["files"]
        ]  # fmt: skip
        manifests.put(key, {"wheel_sha256": "f" * 64, "files": rows})
    assert installed_value(hashed_sync(index, tmp_path, "v2")) == "original"


def test_a_hashed_lock_does_not_rehash_a_verified_archive(
    index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The archive's name is the wheel's sha256, verified (with RECORD) before its manifest
    was written: a later sync of a lock pinning that sha256 checks sizes and mtimes only,
    but for the few small files the manifest's layout was read from (METADATA, WHEEL,
    RECORD, entry_points.txt), which it hashes instead of parsing them again."""
    hashed_sync(index, tmp_path, "v1")
    from xv.install import archive as archive_module
    from xv.install.record import hash_file as real_hash_file

    hashed: list[str] = []

    def layout_sources_only(path: str) -> tuple[str, int]:
        rel = Path(path).relative_to(archive(tmp_path)).as_posix()
        if not re.fullmatch(r"[^/]+\.dist-info/(METADATA|WHEEL|RECORD|entry_points\.txt)", rel):
            raise AssertionError(f"a verified archive was hashed again: {rel}")
        hashed.append(rel.split("/")[1])
        return real_hash_file(path)

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("a verified archive was hashed again")

    monkeypatch.setattr(archive_module, "hash_file", layout_sources_only)
    monkeypatch.setattr(archive_module, "file_sha256", refuse)
    assert installed_value(hashed_sync(index, tmp_path, "v2")) == "original"
    assert sorted(hashed) == ["METADATA", "RECORD", "WHEEL", "entry_points.txt"]


@pytest.mark.parametrize("member", ["RECORD", "WHEEL", "entry_points.txt", "METADATA"])
def test_garbled_metadata_in_the_cache_heals(
    index: LocalIndex, tmp_path: Path, member: str
) -> None:
    fresh_sync(index, tmp_path, "v1")
    target = next(archive(tmp_path).glob(f"*.dist-info/{member}"))
    tamper(target, b"\xff\xfe\x00garbage\xff" * 40, keep_stat=True)
    venv = fresh_sync(index, tmp_path, "v2")
    assert installed_value(venv) == "original"
    assert "\ufffd" not in target.read_text(errors="replace")  # rebuilt


@pytest.mark.parametrize("refresh", [False, True])
def test_a_corrupt_cached_wheel_without_its_archive_heals(
    index: LocalIndex, tmp_path: Path, refresh: bool
) -> None:
    fresh_sync(index, tmp_path, "v1")
    wheel = next((tmp_path / "cache" / "wheels-v1").rglob("*.whl"))
    wheel.write_bytes(b"PK\x03\x04 truncated")
    tree = archive(tmp_path)
    for path in sorted(tree.rglob("*"), reverse=True):
        path.chmod(0o755) if path.is_dir() else path.unlink()
    for path in sorted(tree.rglob("*"), reverse=True):
        path.rmdir()
    tree.rmdir()
    venv = fresh_sync(index, tmp_path, "v2", *(["--refresh"] if refresh else []))
    assert installed_value(venv) == "original"
    assert zipfile.is_zipfile(wheel)


FORGED_LAYOUTS: dict[str, dict[str, object]] = {
    "dist-info outside": {"dist_info": "../../../../evil-1.0.dist-info"},
    "dist-info of another tree": {"dist_info": "other-1.0.dist-info"},
    "script escaping": {"entry_points": [("../../evil", "tool", "main", False)]},
    "another project": {"name": "other"},
    "another version": {"version": "9.9"},
    "garbage record": {"record": "garbage"},
    "escaping record path": {"record": [("../../evil.py", None, None)]},
}


@pytest.mark.parametrize("forged", sorted(FORGED_LAYOUTS))
def test_a_forged_cached_layout_is_refused_or_harmless(
    index: LocalIndex, tmp_path: Path, forged: str
) -> None:
    """A manifest keeps the layout checked when its tree was unpacked (names, RECORD,
    scripts), so a sync need not parse METADATA, WHEEL and RECORD again. One rewritten
    with a valid checksum (by whoever can write the cache) places nothing outside the
    target and installs nothing but the pinned wheel: the pin, the names and every
    destination are checked again; a refused tree is rebuilt from its wheel."""
    hashed_sync(index, tmp_path, "v1")
    tree = archive(tmp_path)
    manifests = Bucket(tree.parent)
    doc = manifests.get(manifest_key(tree.name))
    assert doc is not None and doc["layout"] is not None  # the layout is kept
    manifests.put(
        manifest_key(tree.name), {**doc, "layout": {**doc["layout"], **FORGED_LAYOUTS[forged]}}
    )
    venv = hashed_sync(index, tmp_path, "v2")
    assert installed_value(venv) == "original"
    assert run_py(venv, "import importlib.metadata as m; print(m.version('tool'))") == "1.0"
    assert sorted(p.name for p in tmp_path.rglob("evil*")) == []
    assert sorted(p.name for p in venv.glob("lib/python*/site-packages/*.dist-info")) == [
        "tool-1.0.dist-info"
    ]


def test_a_verified_archive_is_not_parsed_again(
    index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second sync takes the layout from the manifest: METADATA, WHEEL, RECORD and
    entry_points.txt are hashed (above), not parsed."""
    fresh_sync(index, tmp_path, "v1")
    from xv.install import validate

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("a verified archive's layout was read again")

    monkeypatch.setattr(validate, "read_layout", refuse)
    assert installed_value(fresh_sync(index, tmp_path, "v2")) == "original"


def test_a_hashed_lock_with_its_wheel_cached_reads_no_page(
    index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock's hash names the cached tree: no project page is read (as uv installs a
    cached wheel), nor, without a hash, is the page skipped."""
    hashed_sync(index, tmp_path, "v1")
    from xv.index.client import IndexClient

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("a project page was read")

    monkeypatch.setattr(IndexClient, "project_page", refuse)
    assert installed_value(hashed_sync(index, tmp_path, "v2")) == "original"
    venv = make_venv(tmp_path / "v3")
    result = sync(index, venv, lock(tmp_path, "tool==1.0\n"))
    assert result.exit_code != 0 and "a project page was read" in result.output


def test_a_hashed_lock_with_its_wheel_cached_loads_no_page_reader(
    index: LocalIndex, tmp_path: Path
) -> None:
    """No page is read (above), so neither the index client nor the page readers
    (html.parser, the resolver's candidates) are imported: start-up is most of such a sync."""
    hashed_sync(index, tmp_path, "v1")
    sha = index.sha256("tool-1.0-py3-none-any.whl")
    path = lock(tmp_path, f"tool==1.0 --hash=sha256:{sha}\n")
    venv = make_venv(tmp_path / "v2")
    output, modules = run_importing(
        "xv.cli.sync", "xv-sync", [path, "-p", str(venv), "-i", index.url]
    )
    assert "+ tool==1.0" in output and installed_value(venv) == "original"
    page_readers = ("xv.index.client", "xv.index.simple", "html.parser", "xv.resolver.candidates")
    assert [m for m in page_readers if m in modules] == []
    # Nor what only other syncs need: the sdist builder, the index settings (the option
    # help names the default index from xv.settings), random temporary names, packaging's
    # requirement and marker parsers (a plain pin is parsed when read: PlainPin) and xv's
    # own runtime tree (read when the plan removes something).
    others = ("xv.sync.direct", "xv.index.settings", "secrets", "tempfile", "concurrent.futures",
              "packaging.markers", "packaging.requirements", "xv.env.own")  # fmt: skip
    assert [m for m in others if m in modules] == []


def test_a_plain_lock_with_its_page_cached_loads_no_page_parser(
    index: LocalIndex, tmp_path: Path
) -> None:
    """A plain pin reads its page from the cache: neither the HTML page parser nor the
    email package's policies (core metadata is read with compat32, its parser's default)."""
    path = lock(tmp_path, "tool==1.0\n")
    first = sync(index, make_venv(tmp_path / "v1"), path)
    assert first.exit_code == 0, first.output
    venv = make_venv(tmp_path / "v2")
    output, modules = run_importing(
        "xv.cli.sync", "xv-sync", [path, "-p", str(venv), "-i", index.url]
    )
    assert "+ tool==1.0" in output and installed_value(venv) == "original"
    assert [m for m in ("html.parser", "email.policy", "xv.index.anchors") if m in modules] == []


@pytest.mark.parametrize("hashed", [False, True])
def test_a_second_environment_loads_no_tag_generator(
    index: LocalIndex, tmp_path: Path, hashed: bool
) -> None:
    """The target's tags come cached with its interpreter's facts and are compared as text
    (xv.env.tagtext); names are normalised by xv.names: a sync into a second environment of
    a known interpreter, through the console script, loads neither packaging.tags nor, with
    it, platform (~15 ms of start-up)."""
    sha = index.sha256("tool-1.0-py3-none-any.whl")
    path = lock(tmp_path, f"tool==1.0 --hash=sha256:{sha}\n" if hashed else "tool==1.0\n")
    first = sync(index, make_venv(tmp_path / "v1"), path)
    assert first.exit_code == 0, first.output
    venv = make_venv(tmp_path / "v2")
    output, modules = run_importing(
        "xv.cli.entry", "xv-sync", [path, "-p", str(venv), "-i", index.url], "sync_main"
    )
    assert "+ tool==1.0" in output and installed_value(venv) == "original"
    tag_generator = ("packaging.tags", "packaging.utils", "platform", "xv.env.tags")
    assert [m for m in tag_generator if m in modules] == []
    # Nor subprocess: only --compile-bytecode starts a process (xv.install.bytecode); nor
    # OpenSSL's digests: the small files it hashes take the built-in sha256 (xv.digests).
    assert [m for m in ("subprocess", "_hashlib") if m in modules] == []
    # Nor shutil (with bz2, lzma): nothing is copied, removed or searched on PATH.
    assert [m for m in ("shutil", "bz2", "lzma") if m in modules] == []
