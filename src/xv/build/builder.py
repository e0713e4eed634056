"""Metadata and wheels of sdists and source trees, cheapest way first, cached.

Metadata, fastest first: the cache; an sdist's PEP 643 ``PKG-INFO``; a static
``[project]`` table; the ``prepare_metadata_for_build_*`` hook (which falls back
to a full build when the backend lacks it). An sdist's result is cached under its
sha256 in the same ``metadata-v1`` bucket as index wheels (files are immutable);
a source tree's under the digest of the files that define its metadata
(:func:`xv.build.static.source_digest`), so an unchanged ``-e .`` costs no build.

Wheels built from an sdist are kept in ``built-wheels-v1/<sdist sha256>/``; one
whose tags fit the interpreter is reused, so a second environment installs
without building.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from xv.build.static import source_digest, static_project_metadata, static_sdist_metadata
from xv.build.wheels import fitting_wheel
from xv.cache import Cache, CacheBucket
from xv.errors import BuildError
from xv.index.metadata import METADATA_BUCKET, CoreMetadata

if TYPE_CHECKING:  # pyproject_hooks and the hook machinery load with the first build
    from xv.build.frontend import Frontend

log = logging.getLogger(__name__)

TREE_METADATA_BUCKET = CacheBucket.TREE_METADATA
BUILT_WHEELS_BUCKET = CacheBucket.BUILT_WHEELS


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Builder:
    """Fast paths and caches in front of a :class:`Frontend`.

    The frontend may be given as a function that makes it: it is made on the first
    build, so a run whose metadata is static or cached never loads the hook machinery
    (pyproject_hooks, the build requirements' resolver and installer)."""

    def __init__(
        self,
        frontend: Frontend | Callable[[], Frontend],
        cache: Cache,
        refuse: Callable[[str], str | None] | None = None,
    ) -> None:
        self._frontend = frontend
        self._making = threading.Lock()  # builds may start on several threads at once
        self.cache = cache
        self.refuse = refuse  # why a package may not be built (--no-build), else None

    @property
    def frontend(self) -> Frontend:
        with self._making:
            if callable(self._frontend):
                self._frontend = self._frontend()
            return self._frontend

    def _may_build(self, label: str) -> None:
        name = label.split("==")[0]
        reason = self.refuse(name) if self.refuse is not None else None
        if reason is not None:
            raise BuildError(f"{label} needs a build, but {reason}", package=name)

    # -- metadata --------------------------------------------------------------

    def sdist_metadata(self, sdist: Path, label: str, sha256: str | None = None) -> CoreMetadata:
        sha = (sha256 or file_sha256(sdist)).lower()
        bucket = self.cache.bucket(METADATA_BUCKET)
        key = f"sha256:{sha}"
        hit = _cached(bucket, key)
        if hit is not None:
            return hit
        meta = static_sdist_metadata(sdist)
        if meta is not None:
            log.debug("metadata of %s: from its PKG-INFO (static, PEP 643)", sdist.name)
        else:
            with tempfile.TemporaryDirectory(prefix="xv-sdist-") as tmp:
                tree = unpack_sdist(sdist, Path(tmp))
                meta = static_project_metadata(tree)
                if meta is None:
                    self._may_build(label)
                    log.debug("metadata of %s: needs the backend", sdist.name)
                    meta = self.frontend.metadata(tree, label)
        bucket.put(key, meta.to_plain())
        return meta

    def tree_metadata(self, source_dir: Path, label: str, editable: bool = False) -> CoreMetadata:
        meta = static_project_metadata(source_dir)
        if meta is not None:
            return meta
        bucket = self.cache.bucket(TREE_METADATA_BUCKET)
        key = f"{source_digest(source_dir)}-{'editable' if editable else 'wheel'}"
        hit = _cached(bucket, key)
        if hit is not None:
            return hit
        if not editable:  # editables may be built even under --only-binary/--no-build
            self._may_build(label)
        meta = self.frontend.metadata(source_dir, label, editable=editable)
        bucket.put(key, meta.to_plain())
        return meta

    # -- wheels ----------------------------------------------------------------

    def sdist_wheel(
        self, sdist: Path, label: str, tags: tuple[str, ...], sha256: str | None = None
    ) -> Path:
        """A wheel built from ``sdist`` that fits ``tags`` (reused from the cache if built)."""
        sha = (sha256 or file_sha256(sdist)).lower()
        bucket = self.cache.bucket(BUILT_WHEELS_BUCKET)
        if not bucket.enabled:
            out = Path(tempfile.mkdtemp(prefix="xv-built-"))
            return self._build_sdist(sdist, out, label)
        folder = bucket.path(sha)
        with bucket.lock(sha):
            found = fitting_wheel(folder, tags)
            if found is not None:
                return found
            staging = Path(tempfile.mkdtemp(prefix=".build-", dir=_mkdir(folder.parent)))
            try:
                built = self._build_sdist(sdist, staging, label)
                folder.mkdir(exist_ok=True)
                final = folder / built.name
                os.replace(built, final)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        if fitting_wheel(folder, tags) is None:
            raise BuildError(
                f"Failed to build {label}: the wheel it built ({final.name}) does not fit "
                "the target interpreter",
                package=label,
                hook="build_wheel",
            )
        return final

    def _build_sdist(self, sdist: Path, out: Path, label: str) -> Path:
        self._may_build(label)
        with tempfile.TemporaryDirectory(prefix="xv-sdist-") as tmp:
            tree = unpack_sdist(sdist, Path(tmp))
            return self.frontend.build(tree, out, label)

    def tree_wheel(
        self, source_dir: Path, out_dir: Path, label: str, editable: bool = False
    ) -> Path:
        """A wheel (or PEP 660 editable wheel) of a source tree; never cached: any file counts."""
        if not editable:  # editables may be built even under --only-binary/--no-build
            self._may_build(label)
        return self.frontend.build(source_dir, out_dir, label, editable=editable)


def _cached(bucket: object, key: str) -> CoreMetadata | None:
    value = bucket.get(key)  # type: ignore[attr-defined]
    if value is None:
        return None
    try:
        return CoreMetadata.from_plain(value)
    except ValueError:
        bucket.delete(key)  # type: ignore[attr-defined]
        return None


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- unpacking -----------------------------------------------------------------


def unpack_sdist(sdist: Path, dest: Path) -> Path:
    """Extract ``sdist`` into ``dest`` safely; return its source tree (the top directory).

    Members that would land outside ``dest``, links and devices are refused
    (tarfile's ``data`` filter; the same rules by hand for zip files).
    """
    import tarfile  # only an sdist to unpack needs these
    import zipfile

    try:
        if sdist.name.lower().endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                for name in archive.namelist():
                    _check_name(name, sdist.name)
                archive.extractall(dest)
        else:
            with tarfile.open(sdist) as archive:
                if hasattr(tarfile, "data_filter"):
                    archive.extractall(dest, filter="data")
                else:  # Python 3.11.0-3.11.3: the same rules by hand
                    for member in archive.getmembers():
                        _check_name(member.name, sdist.name)
                        if not (member.isfile() or member.isdir()):
                            raise BuildError(
                                f"Failed to unpack {sdist.name}: {member.name!r} is a link "
                                "or device",
                                package=sdist.name,
                            )
                    archive.extractall(dest)
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BuildError(f"Failed to unpack {sdist.name}: {exc}", package=sdist.name) from None
    entries = [p for p in dest.iterdir()]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return dest


def _check_name(name: str, label: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
        raise BuildError(f"Failed to unpack {label}: {name!r} escapes the archive", package=label)
