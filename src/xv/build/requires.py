"""Build requirements resolved by xv's resolver and installed by xv's installer.

:class:`ResolverProvisioner` is the frontend's :class:`~xv.build.frontend.Provisioner`:
it resolves ``build-system.requires`` (and what ``get_requires_for_build_*`` adds)
for the build interpreter, under the ``--build-constraint`` requirements,
downloads each wheel into the cache once, unpacks it once into the archive bucket
and hardlinks it into the build environment. A build requirement that has only an
sdist is built as uv builds it (its own build environment provisioned the same
way; a cycle is an error) once the owner hands in the builder.

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

from xv.build.builder import Builder
from xv.build.source import BuildingSource, fetch_sdist
from xv.cache import CacheBucket
from xv.env.interpreter import Interpreter
from xv.env.target import Target, target_for
from xv.errors import BuildError, InstallError, ResolutionError
from xv.index.client import IndexClient
from xv.index.simple import DistFile
from xv.install.archive import unpack_wheel_to_archive
from xv.install.place import install_from_archive
from xv.pool import WorkerPool
from xv.resolver.candidates import BinaryPolicy
from xv.resolver.index_source import IndexSource
from xv.resolver.provider import InputRequirement, PythonProvider, ResolverInputs, ResolverSettings
from xv.resolver.resolve import run
from xv.resolver.result import Parent, ResolvedDist

WHEELS_BUCKET = CacheBucket.WHEELS
ARCHIVES_BUCKET = CacheBucket.ARCHIVES
# Without a builder (a provisioner used alone) build requirements come from wheels only: say
# so, since the inner resolution's own hints ("building is disabled") would blame an option.
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
        # Re-entrant: a build requirement built from its sdist provisions its own build.
        self._lock = threading.RLock()
        self._resolved: dict[tuple[object, ...], list[str]] = {}
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        # Set by the owner once the builder exists: build requirements that have only an
        # sdist are then built (as uv does); without it they must come as wheels.
        self.builder: Builder | None = None
        # The requirement sets being provisioned, outermost first, and for what: nested
        # builds run on the thread holding the lock (see _resolve), so this sees a cycle.
        self._building: list[tuple[tuple[object, ...], str]] = []

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
                outer = [who for k, who in self._building if k == key]
                if outer:  # building a build requirement needs the same requirements again
                    raise BuildError(
                        f"Failed to build {label}: cyclic build dependency: it needs "
                        f"{', '.join(requirements)} to build, which {outer[0]} needs too",
                        package=label,
                        hook="build requirements",
                    )
                self._building.append((key, label))
                try:
                    target = target_for(env.markers, env.tags)
                    dists = self._resolve(requirements, target, label)
                    self._resolved[key] = [self._archive(d, target, label, env) for d in dists]
                finally:
                    self._building.pop()
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
        builder = self.builder
        only_wheels = BinaryPolicy(only_binary=frozenset({":all:"}))
        settings = ResolverSettings(binary=BinaryPolicy() if builder else only_wheels)
        with WorkerPool(kind="thread") as pool:
            source = (  # one sdist at a time, on this thread (it holds the lock)
                BuildingSource(self.client, pool, lambda: builder, threads=1)
                if builder is not None
                else IndexSource(self.client, pool)
            )
            provider = PythonProvider(inputs, settings, target, source)
            try:
                return list(run(provider).dists)
            except ResolutionError as exc:
                if builder is not None:
                    raise
                raise ResolutionError(f"{exc}\n{_WHEELS_ONLY}") from None

    def _archive(self, dist: ResolvedDist, target: Target, label: str, env: Interpreter) -> str:
        wheels = [
            (prio, f) for f in dist.files if (prio := target.wheel_priority(f.filename)) is not None
        ]
        sdists = [f for f in dist.files if not f.is_wheel]
        if not wheels and sdists and self.builder is not None:
            return self._built_archive(dist, sdists[0], label, env)
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

    def _built_archive(
        self, dist: ResolvedDist, sdist: DistFile, label: str, env: Interpreter
    ) -> str:
        """A build requirement that has only an sdist, built into a wheel (cached by the
        sdist's sha256 as any build) and unpacked."""
        assert self.builder is not None
        path = fetch_sdist(self.client, sdist)
        name = f"{dist.name}=={dist.version}"
        wheel = self.builder.sdist_wheel(path, name, env.tags, sdist.hashes.get("sha256"))
        return unpack_wheel_to_archive(str(wheel), str(self._root() / ARCHIVES_BUCKET))

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
