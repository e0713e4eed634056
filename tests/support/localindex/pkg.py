"""Declarative test packages: what a project release contains, and its core metadata."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from packaging.version import InvalidVersion, Version


def normalize(name: str) -> str:
    """PEP 503 normalised project name: ``Foo.Bar_baz`` -> ``foo-bar-baz``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def escape(name: str) -> str:
    """The name as it appears in file names and imports: ``Foo.Bar`` -> ``foo_bar``."""
    return re.sub(r"[-_.]+", "_", name).lower()


@dataclass(frozen=True)
class Pkg:
    """One release of a project, built into real wheels and/or an sdist.

    ``yanked`` and ``upload_time`` describe the release on the index; every
    other field shapes the artifacts. ``tags`` gives one wheel per tag.
    ``pad_bytes`` adds an uncompressed padding file of that size to the wheel;
    ``zip64`` writes the wheel's end records in zip64 form. ``files`` adds (or
    replaces) files of the package, e.g. ``{"flask/extra.py": "X = 1"}``.
    ``sdist_project_table=False`` leaves ``[project]`` out of the sdist's
    pyproject.toml (metadata only obtainable by building).
    """

    name: str
    version: str
    deps: Sequence[str] = ()
    extras: Mapping[str, Sequence[str]] = field(default_factory=dict)
    requires_python: str | None = None
    tags: Sequence[str] = ("py3-none-any",)
    wheel: bool = True
    sdist: bool = True
    console_scripts: Mapping[str, str] = field(default_factory=dict)
    gui_scripts: Mapping[str, str] = field(default_factory=dict)
    data_files: Mapping[str, bytes] = field(default_factory=dict)
    yanked: str | bool | None = None
    upload_time: str | None = None
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    pad_bytes: int = 0
    zip64: bool = False
    summary: str | None = None
    sdist_project_table: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.tags, str):
            object.__setattr__(self, "tags", (self.tags,))
        if isinstance(self.deps, str):
            object.__setattr__(self, "deps", (self.deps,))

    # --- names ---------------------------------------------------------------

    @property
    def project(self) -> str:
        return normalize(self.name)

    @property
    def norm_version(self) -> str:
        try:
            return str(Version(self.version))
        except InvalidVersion:
            return self.version

    @property
    def dist_info(self) -> str:
        return f"{escape(self.name)}-{self.norm_version}.dist-info"

    @property
    def import_name(self) -> str:
        return escape(self.name)

    def wheel_filename(self, tag: str) -> str:
        return f"{escape(self.name)}-{self.norm_version}-{tag}.whl"

    @property
    def wheel_filenames(self) -> list[str]:
        return [self.wheel_filename(tag) for tag in self.tags] if self.wheel else []

    @property
    def sdist_filename(self) -> str | None:
        return f"{escape(self.name)}-{self.norm_version}.tar.gz" if self.sdist else None

    @property
    def filenames(self) -> list[str]:
        sdist = [self.sdist_filename] if self.sdist_filename else []
        return self.wheel_filenames + sdist

    # --- content -------------------------------------------------------------

    def artifact_key(self) -> str:
        """A digest of every field that shapes the artifacts (cache key)."""
        fields = asdict(self)
        del fields["yanked"], fields["upload_time"]
        text = json.dumps(fields, sort_keys=True, default=_jsonable)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    def metadata_text(self) -> str:
        """The core metadata (``METADATA`` / ``PKG-INFO``), Metadata-Version 2.1."""
        lines = [
            "Metadata-Version: 2.1",
            f"Name: {self.name}",
            f"Version: {self.norm_version}",
            f"Summary: {self.summary or f'Test package {self.name}'}",
        ]
        if self.requires_python:
            lines.append(f"Requires-Python: {self.requires_python}")
        lines += [f"Requires-Dist: {dep}" for dep in self.deps]
        for extra, deps in self.extras.items():
            lines.append(f"Provides-Extra: {extra}")
            lines += [f"Requires-Dist: {_with_extra(dep, extra)}" for dep in deps]
        return "\n".join(lines) + "\n"

    def entry_points_text(self) -> str | None:
        sections = []
        for group, scripts in (
            ("console_scripts", self.console_scripts),
            ("gui_scripts", self.gui_scripts),
        ):
            if scripts:
                body = "".join(f"{k} = {v}\n" for k, v in scripts.items())
                sections.append(f"[{group}]\n{body}")
        return "\n".join(sections) or None

    def module_files(self) -> dict[str, bytes]:
        """The package's importable files, keyed by path inside the wheel."""
        init = (
            f'__version__ = "{self.norm_version}"\n\n\n'
            "def main() -> int:\n"
            f'    print("{self.name} {self.norm_version}")\n'
            "    return 0\n"
        )
        out = {f"{self.import_name}/__init__.py": init.encode("utf-8")}
        for path, content in self.files.items():
            out[path] = content.encode("utf-8") if isinstance(content, str) else content
        if self.pad_bytes:
            out[self.padding_path] = _padding(self.pad_bytes)
        return dict(sorted(out.items()))

    @property
    def padding_path(self) -> str:
        return f"{self.import_name}/_padding.bin"


def _with_extra(dep: str, extra: str) -> str:
    requirement, _, marker = dep.partition(";")
    if marker.strip():
        return f'{requirement.strip()}; ({marker.strip()}) and extra == "{extra}"'
    return f'{requirement.strip()}; extra == "{extra}"'


def _padding(size: int) -> bytes:
    """Deterministic filler bytes (stored uncompressed, so the wheel grows by ``size``)."""
    chunks = []
    counter = 0
    total = 0
    while total < size:
        chunk = hashlib.sha256(counter.to_bytes(8, "big")).digest() * 64
        chunks.append(chunk)
        total += len(chunk)
        counter += 1
    return b"".join(chunks)[:size]


def _jsonable(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (tuple, list)):
        return list(value)
    raise TypeError(f"cannot serialise {value!r}")
