"""Build requirements resolved by xv's resolver and installed by xv's installer.

:class:`ResolverProvisioner` is the frontend's :class:`~xv.build.frontend.Provisioner`:
it resolves ``build-system.requires`` (and what ``get_requires_for_build_*`` adds)
for the build interpreter, under the ``--build-constraint`` requirements, from
wheels only (a build requirement that needs building itself is refused, as with
``--only-binary :all:``), downloads each wheel into the cache once, unpacks it
once into the archive bucket and hardlinks it into the build environment.

Resolutions are remembered per requirement set and interpreter for the life of
the provisioner, so ten sdists with the same ``setuptools`` requirement resolve
it once.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from xv.cache import CacheBucket
from xv.compile.sources import IndexSource
from xv.env.interpreter import Interpreter
from xv.env.target import Target, target_for
from xv.errors import BuildError, InstallError, ResolutionError
from xv.index.client import IndexClient
from xv.index.simple import DistFile
from xv.install.archive import unpack_wheel_to_archive
from xv.install.place import install_from_archive
from xv.pool import WorkerPool
from xv.resolver.candidates import BinaryPolicy
from xv.resolver.provider import InputRequirement, PythonProvider, ResolverInputs, ResolverSettings
from xv.resolver.resolve import run
from xv.resolver.result import Parent, ResolvedDist

WHEELS_BUCKET = CacheBucket.WHEELS
ARCHIVES_BUCKET = CacheBucket.ARCHIVES
# uv builds a build requirement that has only an sdist; xv does not (yet): say so, since the
# inner resolution's own hints ("building is disabled") would blame an option never given.
_WHEELS_ONLY = (
    "hint: build requirements are installed from wheels only; a build requirement that has "
    "only a source distribution cannot be used (install it into the environment and use "
    "--no-build-isolation)"
)


class ResolverProvisioner:
    """Resolve and install build requirements (see the module docstring)."""

    def __init__(self, client: IndexClient, constraints: Sequence[str] = ()) -> None:
        self.client = client
        self.constraints = tuple(constraints)
        self._lock = threading.Lock()
        self._resolved: dict[tuple[object, ...], list[str]] = {}
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    def install(self, requirements: Sequence[str], env: Interpreter, label: str) -> None:
        archives = self.archives(requirements, env, label)
        for archive in archives:
            try:
                install_from_archive(archive, env, installer="xv", link_mode="hardlink")
            except InstallError as exc:
                raise BuildError(
                    f"Failed to build {label}: cannot set up its build environment: {exc}",
                    package=label,
                    hook="build requirements",
                ) from None

    def archives(self, requirements: Sequence[str], env: Interpreter, label: str) -> list[str]:
        """The unpacked wheels that satisfy ``requirements`` on ``env``'s interpreter."""
        key = (tuple(sorted(requirements)), self.constraints, tuple(env.tags[:3]), env.version)
        with self._lock:
            if key not in self._resolved:
                target = target_for(env.markers, env.tags)
                dists = self._resolve(requirements, target, label)
                self._resolved[key] = [self._archive(d, target, label) for d in dists]
            return self._resolved[key]

    def _resolve(
        self, requirements: Sequence[str], target: Target, label: str
    ) -> list[ResolvedDist]:
        parent = Parent("package", f"{label} (build)")
        inputs = ResolverInputs(
            requirements=[InputRequirement(_parse(r, label), parent) for r in requirements],
            constraints=[
                InputRequirement(_parse(c, label), Parent("constraint", "build constraints"))
                for c in self.constraints
            ],
        )
        settings = ResolverSettings(binary=BinaryPolicy(only_binary=frozenset({":all:"})))
        with WorkerPool(kind="thread") as pool:
            provider = PythonProvider(inputs, settings, target, IndexSource(self.client, pool))
            try:
                return list(run(provider).dists)
            except ResolutionError as exc:
                raise ResolutionError(f"{exc}\n{_WHEELS_ONLY}") from None

    def _archive(self, dist: ResolvedDist, target: Target, label: str) -> str:
        wheels = [
            (prio, f) for f in dist.files if (prio := target.wheel_priority(f.filename)) is not None
        ]
        if not wheels:
            raise BuildError(
                f"Failed to build {label}: no wheel of its build requirement "
                f"{dist.name}=={dist.version} fits the build interpreter",
                package=label,
                hook="build requirements",
            )
        file = min(wheels, key=lambda pf: pf[0])[1]
        root = self._root()
        sha = file.hashes.get("sha256")
        key = sha.lower() if sha else "url-" + hashlib.sha256(file.url.encode()).hexdigest()[:32]
        path = root / WHEELS_BUCKET / key / file.filename
        if sha is None or not (root / ARCHIVES_BUCKET / sha.lower()).is_dir():
            if not path.is_file():
                self.client.download(DistFile(file.filename, file.url, file.hashes), path.parent)
            return unpack_wheel_to_archive(str(path), str(root / ARCHIVES_BUCKET))
        return str(root / ARCHIVES_BUCKET / sha.lower())

    def _root(self) -> Path:
        if self.client.cache.root is not None:
            return Path(self.client.cache.root)
        if self._scratch is None:  # --no-cache: a scratch cache for this run
            self._scratch = tempfile.TemporaryDirectory(prefix="xv-build-cache-")
        return Path(self._scratch.name)

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


def _parse(text: str, label: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise BuildError(
            f"Failed to build {label}: invalid build requirement {text!r}: {exc}",
            package=label,
            hook="build requirements",
        ) from None
