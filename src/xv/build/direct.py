"""Direct references: wheel and sdist URLs, local files and directories, git, editables.

:meth:`DirectSources.resolve` turns a reference into a :class:`DirectDist`: its
name and metadata (from the wheel, or the build path of :class:`Builder` for
sdists and trees), the URL a lock writes for it (a git URL pinned to the commit),
where its bits are on disk, and its archive hash. :meth:`DirectSources.wheel`
then gives the wheel to install: the file itself, a wheel built from the sdist
(cached by the sdist's sha256), or a (PEP 660 editable) wheel of the tree.

Remote archives are downloaded once into ``direct-v1/<digest of the URL>/``; a
``#sha256=`` fragment is checked while streaming and names the cached file,
so a changed file behind the same URL is never taken for the old one. A remote
wheel's metadata is read by range requests (:mod:`xv.index.zipread`, as for index
wheels); the wheel is only downloaded when it is installed or hashed.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urlsplit

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from xv.build.builder import Builder, file_sha256
from xv.build.static import is_sdist_name
from xv.build.vcs import GitSource, is_git_url, parse_git_url
from xv.cache import CacheBucket
from xv.errors import BuildError, HashMismatchError, InputError
from xv.index.client import IndexClient
from xv.index.metadata import CoreMetadata, get_metadata
from xv.index.simple import DistFile
from xv.pool import cpu_count, thread_map
from xv.records import record
from xv.urls import redact, url2pathname, without_password

DIRECT_BUCKET = CacheBucket.DIRECT
_HASHES = ("sha256", "sha384", "sha512")


@record
class DirectRef:
    """A requirement that names a location instead of a version range."""

    url: str  # https://, file:// (paths are made absolute file URLs by the parser), git+...
    editable: bool = False
    name: str | None = None  # the name the requirement gives, checked against the metadata
    label: str | None = None  # how messages name it (the requirement as written)


@record
class DirectDist:
    """A direct reference made concrete."""

    name: str  # normalised
    version: Version
    metadata: CoreMetadata
    url: str  # what a lock writes: as given, or git pinned to the commit
    kind: str  # "wheel", "sdist" or "tree"
    location: Path  # the wheel or sdist file, or the source tree
    editable: bool = False
    sha256: str | None = None  # of the archive (wheels and sdists)
    commit: str | None = None  # git only
    requested_revision: str | None = None  # git only

    def direct_url(self) -> dict[str, Any]:
        """PEP 610 ``direct_url.json`` for an install of this distribution."""
        base = without_password(urldefrag(self.url).url)
        if self.commit is not None:
            git = parse_git_url(self.url)
            info: dict[str, Any] = {"vcs": "git", "commit_id": self.commit}
            if self.requested_revision:
                info["requested_revision"] = self.requested_revision
            out: dict[str, Any] = {"url": without_password(git.repo), "vcs_info": info}
            if git.subdirectory:
                out["subdirectory"] = git.subdirectory
            return out
        if self.kind == "tree":
            return {"url": base, "dir_info": {"editable": True} if self.editable else {}}
        archive: dict[str, Any] = {}
        if self.sha256:
            archive = {"hash": f"sha256={self.sha256}", "hashes": {"sha256": self.sha256}}
        return {"url": base, "archive_info": archive}


class DirectSources:
    """Resolves direct references, building where the standards require it."""

    def __init__(self, client: IndexClient, builder: Builder, git: GitSource) -> None:
        self.client = client
        self.builder = builder
        self.git = git

    def resolve(self, ref: DirectRef) -> DirectDist:
        label = ref.name or ref.label or redact(ref.url)
        if is_git_url(ref.url):
            dist = self._git(ref, label)
        else:
            location = self._local(ref)
            if location is None and _remote_wheel(ref.url):
                dist = self._remote_wheel(ref, label)
            else:
                dist = self._at(ref, location or self._download(ref), ref.url, label)
        if ref.name is not None and canonicalize_name(ref.name) != dist.name:
            raise InputError(
                f"{redact(ref.url)} holds {dist.metadata.name}, not {ref.name} as the "
                "requirement says"
            )
        return dist

    def resolve_all(self, refs: Sequence[DirectRef]) -> list[DirectDist]:
        """:meth:`resolve` of each, several at once (builds, clones and downloads wait on
        other processes; the frontend runs at most one hook per CPU). The first failure
        in input order is the one raised, so the outcome does not depend on timing."""
        if len(refs) <= 1:
            return [self.resolve(ref) for ref in refs]
        return thread_map(self.resolve, refs, cpu_count())

    def _git(self, ref: DirectRef, label: str) -> DirectDist:
        git = parse_git_url(ref.url)
        commit, tree = self.git.checkout(git)
        meta = self.builder.tree_metadata(tree, label, editable=ref.editable)
        return DirectDist(
            name=canonicalize_name(meta.name),
            version=_version(meta, label),
            metadata=meta,
            url=git.pinned(commit),
            kind="tree",
            location=tree,
            editable=ref.editable,
            commit=commit,
            requested_revision=git.ref,
        )

    def _at(self, ref: DirectRef, location: Path, url: str, label: str) -> DirectDist:
        if location.is_dir():
            meta = self.builder.tree_metadata(location, label, editable=ref.editable)
            kind, sha = "tree", None
        elif ref.editable:
            raise InputError(f"-e {redact(ref.url)}: an editable must be a directory or VCS URL")
        elif location.name.endswith(".whl"):
            sha = file_sha256(location)
            file = DistFile(location.name, location.as_uri(), {"sha256": sha})
            found = get_metadata(self.client, file)
            assert isinstance(found, CoreMetadata)  # a wheel always has metadata
            meta, kind = found, "wheel"
        elif is_sdist_name(location.name):
            sha = file_sha256(location)
            meta, kind = self.builder.sdist_metadata(location, label, sha), "sdist"
        else:
            raise InputError(f"{redact(ref.url)} is not a wheel, an sdist or a directory")
        name = canonicalize_name(meta.name)
        return DirectDist(name, _version(meta, label), meta, url, kind, location, ref.editable, sha)

    def _local(self, ref: DirectRef) -> Path | None:
        parts = urlsplit(ref.url)
        if parts.scheme != "file":
            return None
        path = Path(url2pathname(unquote(parts.path)))
        if not path.exists():
            raise InputError(f"{path} does not exist")
        _check_fragment_hash(ref.url, path)
        return path

    def _remote_wheel(self, ref: DirectRef, label: str) -> DirectDist:
        """A wheel URL: its METADATA read by range requests, as for index wheels (the
        whole file when the server ignores ranges); the wheel itself is downloaded only
        when it is installed or hashed (:meth:`archive`)."""
        file = self._remote_file(ref.url)
        path = self._download_path(file)
        if path.is_file():  # downloaded before
            return self._at(ref, path, ref.url, label)
        found = get_metadata(self.client, file)
        assert isinstance(found, CoreMetadata)  # a wheel always has metadata
        name = canonicalize_name(found.name)
        sha = file.hashes.get("sha256")
        return DirectDist(name, _version(found, label), found, ref.url, "wheel", path, False, sha)

    def _download(self, ref: DirectRef) -> Path:
        file = self._remote_file(ref.url)
        path = self._download_path(file)
        if not path.is_file():
            self.client.download(file, path.parent)
        return path

    def _remote_file(self, ref_url: str) -> DistFile:
        url, fragment = urldefrag(ref_url)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise InputError(f"unsupported URL scheme in {redact(ref_url)}")
        filename = unquote(parts.path.rsplit("/", 1)[-1])
        if not (filename.endswith(".whl") or is_sdist_name(filename)):
            raise InputError(f"{redact(ref_url)} is not a wheel or an sdist")
        return DistFile(filename, url, _fragment_hashes(fragment))

    def _download_path(self, file: DistFile) -> Path:
        """Where a remote archive is (or will be) kept: by URL, and by its hash if given."""
        key = hashlib.sha256(file.url.encode()).hexdigest()[:32]
        if file.hashes:
            key += "-" + next(iter(sorted(file.hashes.values())))[:16]
        root = self.client.cache.root
        folder = Path(root) / DIRECT_BUCKET / key if root is not None else None
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="xv-direct-"))
        return folder / file.filename

    def archive(self, dist: DirectDist) -> Path:
        """The archive file of a wheel or sdist, downloaded now if it was not yet (a remote
        wheel whose metadata came by range requests); ``#sha256=`` checked while streaming."""
        if not dist.location.is_file():
            self.client.download(self._remote_file(dist.url), dist.location.parent)
        return dist.location

    def archive_sha256(self, dist: DirectDist) -> str | None:
        """The sha256 of a wheel's or sdist's archive (downloading a remote wheel for it)."""
        if dist.kind == "tree":
            return None
        return dist.sha256 or file_sha256(self.archive(dist))

    # -- wheels to install -----------------------------------------------------

    def wheel(self, dist: DirectDist, tags: tuple[str, ...], scratch: Path) -> Path:
        """The wheel to install for ``dist`` (built into ``scratch`` for trees)."""
        label = dist.name
        if dist.kind == "wheel":
            return self.archive(dist)
        if dist.kind == "sdist":
            return self.builder.sdist_wheel(dist.location, label, tags, dist.sha256)
        out = Path(tempfile.mkdtemp(prefix="tree-", dir=scratch))
        wheel = self.builder.tree_wheel(dist.location, out, label, editable=dist.editable)
        try:
            built = parse_wheel_filename(wheel.name)[0]
        except (InvalidWheelFilename, InvalidVersion):
            built = None
        if built != dist.name:
            raise BuildError(f"building {label} produced {wheel.name}", package=label)
        return wheel


def _remote_wheel(url: str) -> bool:
    path = urlsplit(urldefrag(url).url)
    return path.scheme in ("http", "https") and path.path.endswith(".whl")


def _version(meta: CoreMetadata, label: str) -> Version:
    try:
        return Version(meta.version)
    except InvalidVersion:
        raise BuildError(f"{label}: invalid version {meta.version!r} in its metadata") from None


def _fragment_hashes(fragment: str) -> dict[str, str]:
    algorithm, _, digest = fragment.partition("=")
    return {algorithm: digest.lower()} if algorithm in _HASHES and digest else {}


def _check_fragment_hash(url: str, path: Path) -> None:
    hashes = _fragment_hashes(urldefrag(url).fragment)
    if not hashes or not path.is_file():
        return
    algorithm, expected = next(iter(hashes.items()))
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise HashMismatchError(
            f"Hash mismatch for {path.name}: it has {algorithm}:{digest.hexdigest()}, "
            f"the URL says {expected}",
            path.name,
        )
