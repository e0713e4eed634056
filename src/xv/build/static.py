"""Metadata without a build, where the standards make it trustworthy.

Two fast paths, tried before any backend runs (uv does the same):

* an sdist's ``PKG-INFO`` with ``Metadata-Version`` 2.2 or later whose
  ``Requires-Dist``, ``Requires-Python`` and ``Provides-Extra`` are not listed
  as ``Dynamic`` (PEP 643: such fields are what a built wheel will say);
* a source tree's ``[project]`` table (PEP 621) whose name and version are
  given and whose dependencies, optional dependencies and requires-python are
  not ``dynamic``.

:func:`source_digest` names the state of a source tree by the files that
define its metadata, so metadata built once is reused until one changes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from xv.build.buildsystem import load_pyproject
from xv.errors import MetadataError, PyprojectError
from xv.index.metadata import CoreMetadata, parse_metadata

_RESOLUTION_FIELDS = frozenset({"requires-dist", "requires-python", "provides-extra"})
_PROJECT_FIELDS = frozenset({"dependencies", "optional-dependencies", "requires-python"})
SDIST_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")


def is_sdist_name(filename: str) -> bool:
    return filename.lower().endswith(SDIST_SUFFIXES)


def read_pkg_info(sdist: Path) -> bytes | None:
    """The top-level ``PKG-INFO`` of an sdist archive (None when it has none)."""
    import tarfile  # only an sdist needs these (a tree's [project] table does not)
    import zipfile

    name = sdist.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                member = _top_pkg_info(archive.namelist())
                return archive.read(member) if member else None
        with tarfile.open(sdist) as archive:
            member = _top_pkg_info(archive.getnames())
            handle = archive.extractfile(member) if member else None
            return handle.read() if handle is not None else None
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise MetadataError(f"{sdist.name}: not a readable sdist: {exc}", sdist.name) from None


def _top_pkg_info(names: list[str]) -> str | None:
    found = [n for n in names if PurePosixPath(n).parts[1:] == ("PKG-INFO",)]
    return found[0] if len(found) == 1 else None


def static_sdist_metadata(sdist: Path) -> CoreMetadata | None:
    """The sdist's PKG-INFO when PEP 643 makes it binding for resolution, else None."""
    from packaging.metadata import parse_email  # the email package: only for an sdist

    data = read_pkg_info(sdist)
    if data is None:
        return None
    raw, _ = parse_email(data)
    try:
        if Version(raw.get("metadata_version") or "1.0") < Version("2.2"):
            return None
    except InvalidVersion:
        return None
    dynamic = {field.lower() for field in raw.get("dynamic") or ()}
    if dynamic & _RESOLUTION_FIELDS:
        return None
    return parse_metadata(data, sdist.name)


def static_project_metadata(source_dir: Path) -> CoreMetadata | None:
    """The tree's metadata from a static ``[project]`` table, else None."""
    path = source_dir / "pyproject.toml"
    if not path.is_file():
        return None
    project = load_pyproject(path).get("project")
    if not isinstance(project, dict):
        return None
    dynamic = project.get("dynamic") or []
    if not isinstance(dynamic, list):
        raise PyprojectError("[project] dynamic must be a list", str(path))
    if "version" in dynamic or _PROJECT_FIELDS & set(dynamic):
        return None
    name, version = project.get("name"), project.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        return None
    requires = _strings(project.get("dependencies", []), "dependencies", path)
    extras = project.get("optional-dependencies", {})
    if not isinstance(extras, dict):
        raise PyprojectError("[project] optional-dependencies must be a table", str(path))
    for extra, deps in extras.items():
        requires += [_with_extra(d, extra) for d in _strings(deps, f"extra {extra}", path)]
    for text in requires:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise PyprojectError(f"invalid dependency {text!r}: {exc}", str(path)) from None
    requires_python = project.get("requires-python")
    return CoreMetadata(
        name=name,
        version=version,
        requires_dist=tuple(requires),
        requires_python=requires_python if isinstance(requires_python, str) else None,
        provides_extra=tuple(extras),
    )


def _strings(value: object, what: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PyprojectError(f"[project] {what} must be a list of strings", str(path))
    return list(value)


def _with_extra(dep: str, extra: str) -> str:
    requirement, _, marker = dep.partition(";")
    if marker.strip():
        return f'{requirement.strip()}; ({marker.strip()}) and extra == "{extra}"'
    return f'{requirement.strip()}; extra == "{extra}"'


# -- the state of a source tree ------------------------------------------------


DEFINING_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "PKG-INFO")


def source_digest(source_dir: Path) -> str:
    """A sha256 over the files that define the tree's metadata.

    The fixed files above, the version and dependency files the backend's
    configuration names (hatch's version path, setuptools' ``dynamic`` files),
    a flit-style ``__init__.py`` and, for VCS-versioned projects, the git HEAD.
    """
    digest = hashlib.sha256()
    for rel in sorted({*DEFINING_FILES, *version_sources(source_dir)}):
        path = source_dir / rel
        try:
            data = path.read_bytes()
        except OSError:
            continue
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def version_sources(source_dir: Path) -> list[str]:
    """Files beyond the fixed ones whose content may change the metadata."""
    path = source_dir / "pyproject.toml"
    try:
        data = load_pyproject(path) if path.is_file() else {}
    except PyprojectError:
        return []
    tool = data.get("tool") if isinstance(data.get("tool"), dict) else {}
    assert isinstance(tool, dict)
    found: list[str] = []
    hatch_path = _get(tool, "hatch", "version", "path")
    if isinstance(hatch_path, str):
        found.append(hatch_path)
    dynamic = _get(tool, "setuptools", "dynamic")
    for spec in dynamic.values() if isinstance(dynamic, dict) else ():
        files = spec.get("file") if isinstance(spec, dict) else None
        found += (
            [files] if isinstance(files, str) else [f for f in files or [] if isinstance(f, str)]
        )
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    if isinstance(name, str):
        module = name.replace("-", "_").replace(".", "_")
        found += [f"{module}/__init__.py", f"src/{module}/__init__.py", f"{module}.py"]
    git = source_dir / ".git" / "HEAD"
    if git.is_file():
        found.append(".git/HEAD")
        head = git.read_text("utf-8", "replace").strip()
        if head.startswith("ref: "):
            found.append(".git/" + head[5:])
    return found


def _get(table: dict[str, object], *keys: str) -> object:
    value: object = table
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
