"""Build a :class:`Pkg` into deterministic wheels and an sdist, without network."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import backend
from .pkg import Pkg, escape

TAR_MTIME = 1580601600  # 2020-02-02, as backend.ZIP_DATE_TIME
BACKEND_MODULE = "xv_test_backend"


def build_wheel(pkg: Pkg, tag: str, out_dir: Path) -> Path:
    """Write the wheel of ``pkg`` for one ``tag`` into ``out_dir``."""
    path = out_dir / pkg.wheel_filename(tag)
    members = list(pkg.module_files().items())
    data_dir = pkg.dist_info.removesuffix(".dist-info") + ".data"
    members += [(f"{data_dir}/data/{rel}", data) for rel, data in sorted(pkg.data_files.items())]
    backend.write_wheel(
        path,
        dist_info=pkg.dist_info,
        tag=tag,
        members=members,
        metadata=pkg.metadata_text(),
        entry_points=pkg.entry_points_text(),
        stored=[pkg.padding_path] if pkg.pad_bytes else [],
    )
    if pkg.zip64:
        backend.make_zip64(path)
    return path


def build_config(pkg: Pkg) -> dict[str, object]:
    """What the in-tree backend needs to rebuild the wheel (``xv_build.json``)."""
    tag = pkg.tags[0] if pkg.tags else "py3-none-any"
    return {
        "dist_info": pkg.dist_info,
        "wheel_filename": pkg.wheel_filename(tag),
        "tag": tag,
        "metadata": pkg.metadata_text(),
        "entry_points": pkg.entry_points_text(),
        "modules": list(pkg.module_files()),
        "data_files": sorted(pkg.data_files),
        "stored": [pkg.padding_path] if pkg.pad_bytes else [],
    }


def sdist_members(pkg: Pkg) -> dict[str, bytes]:
    """The files of the sdist, relative to its top directory."""
    members: dict[str, bytes] = {
        "PKG-INFO": pkg.metadata_text().encode("utf-8"),
        "pyproject.toml": pyproject_toml(pkg).encode("utf-8"),
        backend.BUILD_CONFIG: json.dumps(build_config(pkg), indent=2).encode("utf-8"),
        f"_backend/{BACKEND_MODULE}.py": Path(backend.__file__).read_bytes(),
    }
    members.update(pkg.module_files())
    for rel, data in pkg.data_files.items():
        members[f"{backend.DATA_DIR}/{rel}"] = data
    return dict(sorted(members.items()))


def build_sdist(pkg: Pkg, out_dir: Path) -> Path:
    """Write ``name-version.tar.gz`` (PEP 625 name) into ``out_dir``."""
    assert pkg.sdist_filename is not None
    top = f"{escape(pkg.name)}-{pkg.norm_version}"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel, data in sdist_members(pkg).items():
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size, info.mtime, info.mode = len(data), TAR_MTIME, 0o644
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    compressed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0) as gz:
        gz.write(raw.getvalue())
    path = out_dir / pkg.sdist_filename
    path.write_bytes(compressed.getvalue())
    return path


def pyproject_toml(pkg: Pkg) -> str:
    q = json.dumps  # a JSON string is a valid TOML basic string
    lines = [
        "[build-system]",
        "requires = []",
        f"build-backend = {q(BACKEND_MODULE)}",
        'backend-path = ["_backend"]',
    ]
    if not pkg.sdist_project_table:
        return "\n".join(lines) + "\n"
    lines += ["", "[project]", f"name = {q(pkg.name)}", f"version = {q(pkg.norm_version)}"]
    if pkg.requires_python:
        lines.append(f"requires-python = {q(pkg.requires_python)}")
    lines.append(f"dependencies = {_toml_list(pkg.deps)}")
    lines += _toml_table("project.optional-dependencies", pkg.extras, _toml_list)
    lines += _toml_table("project.scripts", pkg.console_scripts, q)
    lines += _toml_table("project.gui-scripts", pkg.gui_scripts, q)
    return "\n".join(lines) + "\n"


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def _toml_table(name: str, table: Mapping[str, object], render: object) -> list[str]:
    if not table:
        return []
    assert callable(render)
    return ["", f"[{name}]"] + [f"{json.dumps(k)} = {render(v)}" for k, v in table.items()]


def build_artifacts(pkg: Pkg, out_dir: Path, cache_dir: Path | None = None) -> list[Path]:
    """Build every artifact of ``pkg`` into ``out_dir``, reusing ``cache_dir`` if given."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if cache_dir is None:
        return _build_into(pkg, out_dir)
    cached = cache_dir / pkg.artifact_key()
    if not cached.is_dir():
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".build-", dir=cache_dir))
        _build_into(pkg, staging)
        try:
            os.replace(staging, cached)
        except OSError:  # another builder won the race; its result is identical
            shutil.rmtree(staging, ignore_errors=True)
    paths = []
    for filename in pkg.filenames:
        # Copies, not links: a test may corrupt its served file on purpose.
        paths.append(Path(shutil.copyfile(cached / filename, out_dir / filename)))
    return paths


def _build_into(pkg: Pkg, out_dir: Path) -> list[Path]:
    paths = [build_wheel(pkg, tag, out_dir) for tag in pkg.tags] if pkg.wheel else []
    if pkg.sdist:
        paths.append(build_sdist(pkg, out_dir))
    return paths
